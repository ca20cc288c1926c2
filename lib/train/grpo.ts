// RLVR with Dr. GRPO (the paper's second stage). Each optimizer step:
//   1. takes P prompts (seeded order over the training examples, epoch after epoch),
//   2. samples G completions per prompt with the engine (temperature, top-p; logprobs returned),
//   3. scores each completion with the task's verifiable reward,
//   4. A_i = r_i - mean(group)  (--scale-rewards group: divided by std + 1e-4, plain GRPO),
//   5. takes mu policy updates on the P*G sequences with the clipped objective
//      (docs/ARCHITECTURE.md "The objective"),
//      normaliser P*G*maxCompletionLength (Dr. GRPO); with mu = 1 the old logprobs are the
//      current ones detached, so the ratio is exactly 1 (as TRL does); with mu > 1 they are the
//      policy's logprobs before the first update; --beta adds the k3 KL against a frozen reference.
// Held-out evaluation (evalEvery > 0): pass@1, mean reward and completion length on each held-out
// set (other domains too: "does RLVR on maths keep the general reasoning"), at step 0, every
// evalEvery steps and at the end, as metrics lines eval_<set>_pass1 ... . stopWhen 'plateau' stops
// when the first held-out set's mean reward stops improving (lib/train/plateau.ts).
// Safe to stop: checkpoints every N steps and when the AbortSignal fires; resume continues with
// the same data order and sampling seeds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { packBatches } from '../data/pack.js';
import { evaluate, EVAL_PAPER } from '../eval/evaluate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Generation, Model, Trainer } from '../engine/model.js';
import { groupAdvantages, drGrpoNormaliser, type RewardScaling } from './advantages.js';
import { saveCheckpoint } from './checkpoint.js';
import { appendMetrics, readMetrics, type MetricsRecord } from './metrics.js';
import {
  resolveGenerationBatch,
  runMicroBatchTokens,
  type GenerationBatch,
  type MicroBatchTokens,
} from './micro-batch.js';
import { mixSeed, stepIndices } from './order.js';
import { checkPlateauConfig, describePlateau, plateau, type PlateauConfig, type PlateauPoint } from './plateau.js';
import { startRun, trainerOptions, type OptimizerConfig } from './run.js';
import { warmupConstant } from './schedules.js';
import type { PromptedExample, RewardTask } from '../tasks/task.js';

export interface GrpoConfig extends OptimizerConfig {
  steps: number; // optimizer steps; 0: ceil(epochs × examples / promptsPerStep)
  epochs?: number; // passes over the examples when steps is 0
  maxPromptLength?: number; // examples whose prompt has more tokens are left out (logged); 0 or absent: no limit
  maxModelLength?: number; // prompt + completion at most this many tokens (vLLM's max_model_len); 0 or absent: no limit
  promptsPerStep: number; // P
  generations: number; // G
  maxCompletionLength: number;
  temperature: number;
  topP: number;
  topK: number;
  clipLow: number;
  clipHigh: number;
  beta: number; // KL coefficient (0: no reference model)
  mu: number; // policy updates per batch
  scaleRewards: RewardScaling;
  microBatchTokens: MicroBatchTokens; // token budget of one forward/backward (gradients accumulate); 'auto': what fits in memory
  generationBatch: GenerationBatch; // sequences per generate() call ('auto': what the KV cache budget holds); the completions do not depend on it
  saveEvery: number; // checkpoint every N steps (0: only at the end and on abort)
  seed: number;
  gradientCheckpointing?: boolean; // recompute each layer's activations in the backward (same gradients, less memory); default false
  evalEvery?: number; // held-out evaluation every N steps, at step 0 and at the end (0 or absent: none)
  evalSamples?: number; // samples per held-out problem (pass@1 mean ± std over them); default 1
  stopWhen?: 'never' | 'plateau'; // plateau: stop when the first held-out set's mean reward stops improving
  plateauWindow?: number; // evaluations averaged by the plateau criterion; default 3
  plateauPatience?: number; // evaluations without improvement before it fires; default 3
  plateauMinDelta?: number; // the smallest rise that counts as an improvement; default 0
}

/** A held-out set evaluated during RLVR: `name` keys its metrics (eval_<name>_pass1, ...). */
export interface HeldOutSet {
  name: string;
  task: RewardTask<unknown>;
  examples: PromptedExample<unknown>[];
}

// The paper's RLVR settings from its released configs (issues 8 and 17; README, "The paper
// preset"): 60 completions per optimizer step (per device 4 × accumulation 5 × 3 processes), G 10,
// so 6 prompts; prompts of at most 256 tokens; completions of at most 8192 tokens nominally (the
// Dr. GRPO normaliser), bounded by the 4096-token model length of their vLLM; 25 epochs over the
// examples; T 0.7, top-p 0.95; lr 1e-6, AdamW (0.9, 0.99), wd 0.1, 25 warmup steps then constant,
// clip-norm 0.1, eps-clip 0.2, no KL, one update per batch; activation recomputation on.
export const GRPO_PAPER: GrpoConfig = {
  steps: 0,
  epochs: 25,
  maxPromptLength: 256,
  maxModelLength: 4096,
  promptsPerStep: 6,
  generations: 10,
  maxCompletionLength: 8192,
  temperature: 0.7,
  topP: 0.95,
  topK: 0,
  lr: 1e-6,
  betas: [0.9, 0.99],
  eps: 1e-8,
  weightDecay: 0.1,
  warmupSteps: 25,
  maxGradNorm: 0.1,
  clipLow: 0.2,
  clipHigh: 0.2,
  beta: 0,
  mu: 1,
  scaleRewards: 'none',
  microBatchTokens: 'auto',
  generationBatch: 'auto',
  saveEvery: 25,
  seed: 0,
  gradientCheckpointing: true,
};

export interface GrpoProgress {
  step: number; // optimizer steps done
  totalSteps: number;
  metrics: MetricsRecord;
}

export interface GrpoOptions<E> {
  model: Model; // trained in place (on resume: the checkpoint's weights are read into it first)
  tokenizer: Tokenizer;
  task: RewardTask<E>;
  examples: PromptedExample<E>[]; // the (at most a few hundred) training examples
  runDir: string;
  config: GrpoConfig;
  resume?: boolean;
  reference?: Model; // frozen reference for the KL term (needed when beta > 0)
  heldOut?: HeldOutSet[]; // evaluated every config.evalEvery steps; the first one drives stopWhen 'plateau'
  signal?: AbortSignal;
  onProgress?: (p: GrpoProgress) => void;
  onLog?: (message: string) => void;
}

export interface GrpoResult {
  model: Model; // the trained policy
  steps: number; // optimizer steps done (the run's total when it finished)
  totalSteps: number; // the run's steps (config.steps, or from config.epochs)
  aborted: boolean;
  /** 'plateau' when the plateau criterion ended the run before config.steps. */
  stoppedBy: 'plateau' | null;
  checkpoint: string | null;
  metrics: MetricsRecord[];
}

interface GrpoState {
  seed: number;
  totalSteps: number;
  examples: number;
  promptsPerStep: number;
  nextPrompts: number[];
}

export function checkGrpoConfig(c: GrpoConfig): void {
  const posInt = (k: keyof GrpoConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`grpo: ${k} must be a positive integer, got ${v}`);
  };
  (['promptsPerStep', 'generations', 'maxCompletionLength', 'mu'] as const).forEach(posInt);
  if (!Number.isInteger(c.steps) || c.steps < 0)
    throw new RangeError(`grpo: steps must be an integer >= 0 (0: from epochs), got ${c.steps}`);
  if (c.steps === 0 && (!Number.isInteger(c.epochs) || (c.epochs as number) < 1))
    throw new RangeError(`grpo: steps 0 needs epochs, a positive integer; got ${c.epochs}`);
  for (const k of ['maxPromptLength', 'maxModelLength'] as const) {
    const v = c[k] ?? 0;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`grpo: ${k} must be an integer >= 0, got ${c[k]}`);
  }
  if (c.microBatchTokens !== 'auto') posInt('microBatchTokens');
  if (c.generationBatch !== 'auto') posInt('generationBatch');
  if (c.generations < 2)
    throw new RangeError(
      `grpo: generations must be at least 2 (advantages are relative to the group), got ${c.generations}`,
    );
  if (!(c.temperature > 0)) throw new RangeError(`grpo: temperature must be > 0, got ${c.temperature}`);
  if (!(c.topP > 0 && c.topP <= 1)) throw new RangeError(`grpo: topP must be in (0, 1], got ${c.topP}`);
  if (!(c.clipLow >= 0 && c.clipLow < 1) || !(c.clipHigh >= 0))
    throw new RangeError(`grpo: clip range must have 0 <= low < 1 and high >= 0, got ${c.clipLow}, ${c.clipHigh}`);
  if (!(c.beta >= 0)) throw new RangeError(`grpo: beta must be >= 0, got ${c.beta}`);
  if (!Number.isInteger(c.saveEvery) || c.saveEvery < 0)
    throw new RangeError(`grpo: saveEvery must be an integer >= 0, got ${c.saveEvery}`);
  const evalEvery = c.evalEvery ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0)
    throw new RangeError(`grpo: evalEvery must be an integer >= 0, got ${c.evalEvery}`);
  const samples = c.evalSamples ?? 1;
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError(`grpo: evalSamples must be a positive integer, got ${c.evalSamples}`);
  if (c.stopWhen !== undefined && c.stopWhen !== 'never' && c.stopWhen !== 'plateau')
    throw new RangeError(`grpo: stopWhen must be 'never' or 'plateau', got ${String(c.stopWhen)}`);
  if (c.stopWhen === 'plateau') {
    if (evalEvery === 0)
      throw new RangeError('grpo: stopWhen plateau needs held-out evaluations: set evalEvery (--eval-every) > 0');
    checkPlateauConfig(plateauConfig(c), 'grpo: plateau');
  }
}

/** The run's optimizer steps: `steps`, or with steps 0, ceil(epochs × examples / promptsPerStep). */
export function grpoSteps(c: GrpoConfig, examples: number): number {
  return c.steps > 0 ? c.steps : Math.ceil(((c.epochs ?? 1) * examples) / c.promptsPerStep);
}

/** New tokens allowed after a prompt of `promptTokens`: maxCompletionLength, within maxModelLength. */
export function completionLimit(c: GrpoConfig, promptTokens: number): number {
  const room = c.maxModelLength ? c.maxModelLength - promptTokens : Infinity;
  return Math.max(1, Math.min(c.maxCompletionLength, room));
}

/** The plateau criterion's settings of a config (its defaults filled in). */
export function plateauConfig(c: GrpoConfig): PlateauConfig {
  return { window: c.plateauWindow ?? 3, patience: c.plateauPatience ?? 3, minDelta: c.plateauMinDelta ?? 0 };
}

/** The metrics key the plateau criterion watches: the first held-out set's mean reward. */
export const plateauMetric = (set: string) => `eval_${set}_reward`;

// One round of held-out evaluation: pass@1 (mean ± std over the samples), mean reward and mean
// completion length of every set, at the paper's evaluation temperature and top-p, with the same
// seed at every round so that rounds differ only by the model.
async function heldOutRound(
  model: Model,
  tokenizer: Tokenizer,
  sets: HeldOutSet[],
  c: GrpoConfig & { generationBatch: number },
  step: number,
): Promise<MetricsRecord> {
  const record: MetricsRecord = { step };
  for (const s of sets) {
    const r = await evaluate({
      model,
      tokenizer,
      task: s.task,
      examples: s.examples,
      config: {
        ...EVAL_PAPER,
        samples: c.evalSamples ?? 1,
        maxNewTokens: Math.min(c.maxCompletionLength, c.maxModelLength || Infinity),
        batchSize: c.generationBatch,
        seed: c.seed,
      },
    });
    record[`eval_${s.name}_pass1`] = r.passAt1;
    record[`eval_${s.name}_pass1_std`] = r.passAt1Std;
    record[`eval_${s.name}_reward`] = r.meanReward;
    record[`eval_${s.name}_len`] = r.meanLength;
  }
  return record;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const std = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

export async function grpo<E>(opts: GrpoOptions<E>): Promise<GrpoResult> {
  const { tokenizer, task, runDir } = opts;
  checkGrpoConfig(opts.config);
  if (opts.examples.length === 0) throw new RangeError('grpo: no training examples');
  if (opts.tokenizer.vocabSize > opts.model.config.vocabSize)
    throw new RangeError(
      `grpo: the tokenizer has ${opts.tokenizer.vocabSize} tokens, the model's vocabulary only ${opts.model.config.vocabSize}`,
    );
  // prompts longer than maxPromptLength are left out (TRL would cut their start: the instructions)
  const allIds = opts.examples.map((e) => Array.from(tokenizer.encode(e.prompt)));
  const maxPrompt = opts.config.maxPromptLength || Infinity;
  const keep = allIds.map((ids) => ids.length <= maxPrompt);
  const examples = opts.examples.filter((_, i) => keep[i]);
  const promptIds = allIds.filter((_, i) => keep[i]);
  if (examples.length === 0)
    throw new RangeError(`grpo: every prompt is longer than maxPromptLength ${opts.config.maxPromptLength} tokens`);
  if (opts.config.maxModelLength && Math.max(...promptIds.map((p) => p.length)) >= opts.config.maxModelLength)
    throw new RangeError(
      `grpo: a prompt has ${Math.max(...promptIds.map((p) => p.length))} tokens, no room below maxModelLength ${opts.config.maxModelLength}`,
    );
  if (opts.config.beta > 0 && !opts.reference) throw new RangeError('grpo: beta > 0 needs a reference model');
  const sets = opts.heldOut ?? [];
  if ((opts.config.evalEvery ?? 0) > 0 && sets.length === 0)
    throw new RangeError('grpo: evalEvery > 0 needs at least one held-out set (heldOut)');
  for (const s of sets)
    if (s.examples.length === 0) throw new RangeError(`grpo: held-out set "${s.name}" has no examples`);
  if (opts.reference && opts.reference.device !== opts.model.device) {
    throw new RangeError(
      `grpo: the reference model is on '${opts.reference.device}' and the policy on '${opts.model.device}'; load both on the same device`,
    );
  }
  const longest = Math.max(...promptIds.map((p) => p.length + completionLimit(opts.config, p.length)));
  const micro = runMicroBatchTokens(opts.config.microBatchTokens, {
    runDir,
    resume: !!opts.resume,
    config: opts.model.config,
    device: opts.model.device,
    longest,
    recompute: opts.config.gradientCheckpointing ?? false,
  });
  const gen = resolveGenerationBatch(opts.config.generationBatch, {
    config: opts.model.config,
    device: opts.model.device,
    maxLen: longest,
    total: opts.config.promptsPerStep * opts.config.generations,
  });
  const c = {
    ...opts.config,
    steps: grpoSteps(opts.config, examples.length),
    microBatchTokens: micro.tokens,
    generationBatch: gen.sequences,
  };
  mkdirSync(runDir, { recursive: true });
  const log = opts.onLog ?? (() => {});
  if (examples.length < opts.examples.length)
    log(
      `grpo: ${opts.examples.length - examples.length} of ${opts.examples.length} examples left out: prompts longer than ${c.maxPromptLength} tokens`,
    );
  if (opts.config.steps === 0)
    log(`grpo: ${c.steps} steps (${c.epochs} epochs of ${examples.length} examples, ${c.promptsPerStep} per step)`);
  log(`grpo: ${micro.note}`);
  log(`grpo: ${gen.note}`);
  const tokenizerFrom = opts.model.dir; // tokenizer files travel with every saved checkpoint
  const lrAt = warmupConstant(c.lr, c.warmupSteps);

  const { model, trainer, start } = await startRun<GrpoState>({
    runDir,
    resume: !!opts.resume,
    model: opts.model,
    log,
    optimizer: trainerOptions(c),
    differs: (st) =>
      st.examples !== examples.length || st.seed !== c.seed || st.promptsPerStep !== c.promptsPerStep
        ? `${st.examples} examples, seed ${st.seed}, ${st.promptsPerStep} prompts per step`
        : null,
  });
  const evalEvery = c.evalEvery ?? 0;
  const watch = c.stopWhen === 'plateau' ? plateauMetric(sets[0].name) : null;
  const criterion = watch ? describePlateau(watch, plateauConfig(c)) : null;
  if (criterion) log(`grpo: ${criterion}`);
  writeFileSync(
    join(runDir, 'config.json'),
    JSON.stringify(
      {
        stage: 'grpo',
        task: task.name,
        examples: examples.length,
        ...c,
        heldOut: sets.map((s) => ({ name: s.name, task: s.task.name, problems: s.examples.length })),
        ...(criterion ? { stopCriterion: criterion } : {}),
      },
      null,
      2,
    ) + '\n',
  );

  const checkpoint = (step: number) =>
    saveCheckpoint(
      runDir,
      step,
      {
        seed: c.seed,
        totalSteps: c.steps,
        examples: examples.length,
        promptsPerStep: c.promptsPerStep,
        nextPrompts: step < c.steps ? stepIndices(examples.length, c.promptsPerStep, c.seed, step).indices : [],
      },
      {
        model: (d) => model.save(d, { dtype: 'f32', tokenizerFrom: tokenizerFrom ?? undefined }),
        optimizer: (d) => trainer.saveState(d),
      },
    );

  const all: MetricsRecord[] = [];
  // the watched series: a resumed run replays the evaluations it kept (metrics.jsonl up to its step)
  const series: PlateauPoint[] = [];
  if (watch && start > 0)
    for (const r of readMetrics(runDir))
      if (typeof r[watch] === 'number') series.push({ step: r.step, value: r[watch] });
  let lastEval = -1;
  const evalRound = async (at: number) => {
    const record = await heldOutRound(model, tokenizer, sets, c, at);
    appendMetrics(runDir, record);
    all.push(record);
    lastEval = at;
    if (watch) series.push({ step: at, value: record[watch] as number });
    log(
      `grpo: held-out at step ${at}: ${sets.map((s) => `${s.name} pass@1 ${(100 * (record[`eval_${s.name}_pass1`] as number)).toFixed(1)}%`).join(', ')}`,
    );
  };
  // stops the run when the criterion fires on the series so far, with the reason logged
  let stoppedBy: 'plateau' | null = null;
  const plateauFired = (at: number) => {
    if (!watch) return false;
    const v = plateau(series, plateauConfig(c));
    if (!v.fired) return false;
    const record: MetricsRecord = {
      step: at,
      stopped: 'plateau',
      criterion: criterion!,
      plateau_best: v.best,
      plateau_best_step: v.bestStep,
      plateau_last: v.smoothed,
    };
    // a resumed run that had already stopped has this line; it is written once
    if (at > start || start === 0) {
      appendMetrics(runDir, record);
      all.push(record);
    }
    log(
      `grpo: plateau at step ${at}: the mean of ${watch} over the last ${plateauConfig(c).window} evaluations is ${v.smoothed!.toFixed(4)}, its best ${v.best!.toFixed(4)} (step ${v.bestStep}), no rise above ${plateauConfig(c).minDelta} for ${v.since} evaluations; stopping`,
    );
    stoppedBy = 'plateau';
    return true;
  };
  if (evalEvery > 0 && start === 0) await evalRound(0);
  let lastCheckpoint: string | null = null;
  const stepOpts = { ...opts, examples, config: c };
  let step = start;
  if (!plateauFired(start))
    for (; step < c.steps; step++) {
      if (opts.signal?.aborted) break;
      const record = await grpoStep(model, trainer, stepOpts, promptIds, step, lrAt(step));
      appendMetrics(runDir, record);
      all.push(record);
      opts.onProgress?.({ step: step + 1, totalSteps: c.steps, metrics: record });
      if (evalEvery > 0 && (step + 1) % evalEvery === 0) {
        await evalRound(step + 1);
        if (plateauFired(step + 1)) {
          step++;
          break;
        }
      }
      if (c.saveEvery > 0 && (step + 1) % c.saveEvery === 0 && step + 1 < c.steps)
        lastCheckpoint = await checkpoint(step + 1);
    }
  const aborted = step < c.steps && stoppedBy === null;
  if (evalEvery > 0 && !aborted && lastEval !== step && step > start) await evalRound(step);
  if (step > start || aborted) lastCheckpoint = await checkpoint(step);
  return { model, steps: step, totalSteps: c.steps, aborted, stoppedBy, checkpoint: lastCheckpoint, metrics: all };
}

// One optimizer step: sample, score, advantages, mu policy updates. Returns its metrics record.
async function grpoStep<E>(
  model: Model,
  trainer: Trainer,
  opts: GrpoOptions<E> & { config: { microBatchTokens: number; generationBatch: number } },
  promptIds: number[][],
  step: number,
  lr: number,
): Promise<MetricsRecord> {
  const { tokenizer, task, examples, config: c } = opts;
  const stop = [...tokenizer.stopTokenIds];
  const { indices, epoch } = stepIndices(examples.length, c.promptsPerStep, c.seed, step);
  // 1-2. G completions per prompt
  const prompts: number[][] = [];
  for (const i of indices) for (let g = 0; g < c.generations; g++) prompts.push(promptIds[i]);
  const limits = prompts.map((p) => completionLimit(c, p.length));
  const t0 = performance.now();
  // in pieces of generationBatch sequences, each on its own streams of the step's seed
  const gen: Generation = { tokens: [], logprobs: [], finishReasons: [] };
  for (let a = 0; a < prompts.length; a += c.generationBatch) {
    const g = await model.generate(prompts.slice(a, a + c.generationBatch), {
      maxNewTokens: limits.slice(a, a + c.generationBatch),
      temperature: c.temperature,
      topP: c.topP,
      topK: c.topK,
      seed: mixSeed(c.seed, step, 1),
      firstStream: a,
      stopTokens: stop,
      vocabLimit: tokenizer.vocabSize, // ids past the tokenizer's (padding rows) are never sampled
    });
    gen.tokens.push(...g.tokens);
    gen.logprobs.push(...g.logprobs);
    gen.finishReasons.push(...g.finishReasons);
  }
  const genSeconds = (performance.now() - t0) / 1000;
  // 3. rewards
  const rewards: number[] = [];
  const correct: number[] = [];
  const lengths = gen.tokens.map((t) => t.length);
  for (let k = 0; k < prompts.length; k++) {
    const ex = examples[indices[Math.floor(k / c.generations)]].example;
    const text = tokenizer.decode(gen.tokens[k].filter((id) => !stop.includes(id)));
    rewards.push(await task.reward(text, ex));
    correct.push(Number(await task.correct(text, ex)));
  }
  // 4. advantages
  const adv = groupAdvantages(rewards, c.generations, c.scaleRewards);
  // 5. prompt + completion sequences, weight 1 on every completion token (a stop token included)
  const seqs = prompts.map((p, k) => {
    const ids = new Int32Array(p.length + gen.tokens[k].length);
    ids.set(p);
    ids.set(gen.tokens[k], p.length);
    const tokenWeights = new Float32Array(ids.length);
    tokenWeights.fill(1, p.length);
    return { ids, tokenWeights };
  });
  // Every group with equal rewards and no KL: the gradient is exactly zero, so one sequence stands
  // in for the batch (AdamW still steps, decaying weights and moments, as it would in TRL).
  const noSignal = adv.zeroAdvantageGroups === adv.groups && c.beta === 0;
  const trainSeqs = noSignal ? seqs.slice(0, 1) : seqs;
  const budget = Math.max(c.microBatchTokens, ...trainSeqs.map((s) => s.ids.length));
  const batches = packBatches(trainSeqs, { tokenBudget: budget }).map((b) => {
    const advantages = new Float32Array(b.tokens.length);
    b.members.forEach((m, j) => advantages.fill(adv.advantages[m], b.cuSeqlens[j], b.cuSeqlens[j + 1]));
    return { batch: b, advantages };
  });
  const normaliser = drGrpoNormaliser(prompts.length, c.maxCompletionLength);
  // mu = 1: no old logprobs, so the ratio is exactly 1 (TRL's detached current logprobs);
  // mu > 1: the policy's logprobs before the first update.
  const old =
    c.mu > 1
      ? await Promise.all(batches.map((b) => model.batchLogprobs(b.batch, { temperature: c.temperature })))
      : null;
  const ref =
    c.beta > 0
      ? await Promise.all(batches.map((b) => opts.reference!.batchLogprobs(b.batch, { temperature: c.temperature })))
      : null;
  const t1 = performance.now();
  let loss = 0,
    clipped = 0,
    trained = 0,
    gradNorm = 0,
    trainTokens = 0;
  for (let it = 0; it < c.mu; it++) {
    loss = 0;
    clipped = 0;
    trained = 0;
    for (let j = 0; j < batches.length; j++) {
      const r = await trainer.step(batches[j].batch, {
        advantages: batches[j].advantages,
        oldLogprobs: old?.[j],
        refLogprobs: ref?.[j],
        beta: c.beta,
        clip: [c.clipLow, c.clipHigh],
        normaliser,
        temperature: c.temperature,
        accumulate: true,
      });
      loss += r.loss;
      clipped += r.clipped;
      trained += r.tokens;
      trainTokens += batches[j].batch.tokens.length;
    }
    gradNorm = (await trainer.update({ lr })).gradNorm;
  }
  const trainSeconds = (performance.now() - t1) / 1000;
  return {
    step: step + 1,
    epoch,
    reward_mean: mean(rewards),
    reward_std: std(rewards),
    accuracy: mean(correct),
    zero_adv_frac: adv.zeroAdvantageGroups / adv.groups,
    completion_len: mean(lengths),
    truncated_frac: mean(gen.finishReasons.map((f) => Number(f === 'length'))),
    loss,
    grad_norm: gradNorm,
    lr,
    clip_frac: trained > 0 ? clipped / trained : 0,
    gen_tokens_per_s: lengths.reduce((a, b) => a + b, 0) / Math.max(genSeconds, 1e-9),
    train_tokens_per_s: trainTokens / Math.max(trainSeconds, 1e-9),
  };
}
