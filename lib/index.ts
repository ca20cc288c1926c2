// The warmstart library API. Every CLI command has a function here.
export { engineInfo } from './engine/addon.js';
export { kernels } from './engine/kernels.js';
export type { Kernels, HeadObjective, HeadResult, SampleResult } from './engine/kernels.js';
export * from './kk/index.js';
export * from './rewards/index.js';
export * from './eval/index.js';
export * from './tasks/index.js';
export { loadModel, Model, Trainer, TOKENIZER_FILES, DEFAULT_MAX_SHARD_BYTES } from './engine/model.js';
export type {
  Device,
  SaveDtype,
  LoadOptions,
  LoadProgress,
  LogprobOptions,
  GenerateOptions,
  Generation,
  FinishReason,
  SaveOptions,
  TrainerOptions,
  StepOptions,
  StepResult,
} from './engine/model.js';
export { initModel, presetConfig, PRESETS } from './engine/init.js';
export type { InitOptions, Preset } from './engine/init.js';
export { readConfig, parseConfig } from './engine/config.js';
export type { Qwen2Config } from './engine/config.js';
// The recipe: warmup SFT, Dr. GRPO, model-based evaluation, curves and the embedded demo.
export { sft, SFT_PAPER, validationLoss } from './train/sft.js';
export type { SftConfig, SftOptions, SftProgress, SftResult } from './train/sft.js';
export { grpo, GRPO_PAPER, checkGrpoConfig, grpoSteps, completionLimit, plateauConfig } from './train/grpo.js';
export type { GrpoConfig, GrpoOptions, GrpoProgress, GrpoResult, HeldOutSet } from './train/grpo.js';
export { plateau, describePlateau } from './train/plateau.js';
export type { PlateauConfig, PlateauPoint, PlateauVerdict } from './train/plateau.js';
export { expandGrid, sweepRows, sweepMarkdown, SWEEPABLE } from './train/sweep.js';
export type { SweepAxis, SweepPoint, SweepRow } from './train/sweep.js';
export {
  activationBytesPerToken,
  memoryBudget,
  resolveMicroBatchTokens,
  AUTO_MAX_TOKENS,
} from './train/micro-batch.js';
export type { MicroBatchTokens, ResolvedMicroBatch } from './train/micro-batch.js';
export { groupAdvantages, drGrpoNormaliser, clippedTokenLoss, clippedObjective } from './train/advantages.js';
export type { RewardScaling, GroupAdvantages, ClipRange } from './train/advantages.js';
export { warmupConstant } from './train/schedules.js';
export { saveCheckpoint, latestCheckpoint } from './train/checkpoint.js';
export type { RunCheckpoint, CheckpointWriters } from './train/checkpoint.js';
export { readMetrics, appendMetrics } from './train/metrics.js';
export type { MetricsRecord } from './train/metrics.js';
export { plotRuns, curvesSpec, renderPng } from './train/plot.js';
export { Progress } from './train/progress.js';
export { evaluate, passAt1, EVAL_PAPER } from './eval/evaluate.js';
export type { EvalConfig, EvalOptions, EvalProgress, EvalResult, CompletionRecord } from './eval/evaluate.js';
export {
  runSuite,
  suiteFromCompletions,
  suiteMarkdown,
  writeSuite,
  completionsFile,
  PAPER_SUITE,
} from './eval/suite.js';
export type { SuiteBenchmark, SuiteCell, SuiteResult, SuiteRunOptions } from './eval/suite.js';
export { demo, demoTable, DEMO_SETTINGS } from './demo.js';
export type { DemoOptions, DemoResult, DemoRow, DemoSettings } from './demo.js';
// Data: tokenizers, prompt formats, SFT examples with completion-only masks, packing, readers.
export { Tokenizer } from './data/tokenizer.js';
export type { TokenizerFiles, EncodeOptions, EncodedPrefix, DecodeOptions } from './data/tokenizer.js';
export { trainBpe, saveTokenizer, DEMO_SPECIAL_TOKENS, QWEN_PRE_TOKENIZER, CHATML_TEMPLATE } from './data/bpe.js';
export type { BpeTrainOptions, BpeTrainResult, SpecialToken } from './data/bpe.js';
export { PAPER_PREAMBLE, RAW_ASSISTANT_PREFIX, rawPrompt, renderChat, chatPrompt } from './data/prompts.js';
export type { ChatOptions } from './data/prompts.js';
export { fieldCharBound, sftExample, tokenizeSft } from './data/sft-examples.js';
export type { SftPair, SftExample, SftCounts, SftOptions as SftExampleOptions } from './data/sft-examples.js';
export { packSequences, checkBatch } from './data/batch.js';
export type { Batch, Sequence } from './data/batch.js';
export { packBatches, packStats, firstFitDecreasing } from './data/pack.js';
export type { PackOptions, BatchWithMembers, PackStats } from './data/pack.js';
export { permutation, splitValidation } from './data/shuffle.js';
export { readJsonl, readParquet, readRecords, readPairs, getField, newReadStats, DataError } from './data/readers.js';
export type { SourceRecord, ReadStats, ReadOptions, FieldMap } from './data/readers.js';
export { loadSftPairs } from './data/dataset.js';
export type { DatasetOptions, PromptTemplate, RecordToPair, SourcedPair } from './data/dataset.js';
export { kkTracePair } from './kk/traces-published.js';
// JSONL: the one reader every loader uses (errors name FILE:line N).
export { readJsonlFile, readJsonlFileSync, parseJsonl, stringField } from './util/jsonl.js';
export type { JsonlRecord, ParseJsonlOptions } from './util/jsonl.js';
/** @deprecated The record type of readJsonlFile is JsonlRecord. */
export type { JsonlRecord as JsonlRow } from './util/jsonl.js';
// Serving: `warmstart serve` (an OpenAI-compatible server over a model) and the `openai` teacher
// (K&K traces from any OpenAI-compatible server, resumable).
export * from './serve/index.js';
export * from './teachers/index.js';
