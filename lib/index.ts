// The warmstart library API. Every CLI command has a function here.
export { engineInfo } from './engine/addon.js';
export * from './kk/index.js';
export * from './rewards/index.js';
export * from './eval/index.js';
export { loadModel, Model, Trainer, TOKENIZER_FILES, DEFAULT_MAX_SHARD_BYTES } from './engine/model.js';
export type {
  Device, SaveDtype, LoadOptions, LogprobOptions, GenerateOptions, Generation, FinishReason, SaveOptions,
  TrainerOptions, StepOptions, StepResult,
} from './engine/model.js';
export { initModel, presetConfig, PRESETS } from './engine/init.js';
export type { InitOptions, Preset } from './engine/init.js';
export { readConfig, parseConfig } from './engine/config.js';
export type { Qwen2Config } from './engine/config.js';
