// The warmup (the paper's first stage): supervised fine-tuning on (prompt, completion) traces
// with the loss on completion tokens only:
//   loss = -sum_t w_t log p(x_{t+1} | x_<=t) / sum_t w_t  over the micro-batches of one step,
// w_t = 1 on completion tokens (and the end token), 0 on the prompt. Sequences are packed into
// micro-batches under a token budget; `gradAccum` micro-batches make one AdamW step. A seeded
// set of examples is held out for the validation loss. Safe to stop, like grpo().
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Batch, Sequence } from '../data/batch.js';
import { packBatches } from '../data/pack.js';
import { splitValidation } from '../data/shuffle.js';
import type { Model } from '../engine/model.js';
import { saveCheckpoint } from './checkpoint.js';
import { appendMetrics, type MetricsRecord } from './metrics.js';
import { runMicroBatchTokens, type MicroBatchTokens } from './micro-batch.js';
import { startRun, trainerOptions, type OptimizerConfig } from './run.js';
import { warmupConstant } from './schedules.js';

export interface SftConfig extends OptimizerConfig {
  epochs: number;
  microBatchTokens: MicroBatchTokens; // token budget of one packed forward/backward; 'auto': what fits in memory (micro-batch.ts)
  gradAccum: number; // micro-batches per optimizer step
  valExamples: number; // held out for the validation loss
  evalEvery: number; // validation loss every N steps (0: only at the start and the end)
  saveEvery: number; // checkpoint every N steps (0: only at the end and on abort)
  seed: number;
  gradientCheckpointing?: boolean; // recompute each layer's activations in the backward (same gradients, less memory); default false
}

// The paper's warmup settings (issue 8): lr 1e-6, AdamW (0.9, 0.95), wd 1e-4, 25 warmup steps then
// constant, clip-norm 0.1, 3 epochs, completion-only loss, 100 examples held out.
export const SFT_PAPER: SftConfig = {
  epochs: 3,
  lr: 1e-6,
  betas: [0.9, 0.95],
  eps: 1e-8,
  weightDecay: 1e-4,
  warmupSteps: 25,
  maxGradNorm: 0.1,
  microBatchTokens: 'auto',
  gradAccum: 4,
  valExamples: 100,
  evalEvery: 50,
  saveEvery: 100,
  seed: 0,
  gradientCheckpointing: true,
};

export interface SftProgress {
  step: number;
  totalSteps: number;
  metrics: MetricsRecord;
}

export interface SftOptions {
  model: Model; // trained in place (on resume: the checkpoint's weights are read into it first)
  examples: Sequence[]; // tokenized (prompt + completion) with completion-only token weights
  runDir: string;
  config: SftConfig;
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: SftProgress) => void;
  onLog?: (message: string) => void;
}

export interface SftResult {
  model: Model;
  steps: number;
  totalSteps: number;
  aborted: boolean;
  checkpoint: string | null;
  metrics: MetricsRecord[];
  valLoss: number | null;
}

export function checkSftConfig(c: SftConfig): void {
  if (c.microBatchTokens !== 'auto' && (!Number.isInteger(c.microBatchTokens) || c.microBatchTokens < 1)) {
    throw new RangeError(`sft: microBatchTokens must be a positive integer or 'auto', got ${c.microBatchTokens}`);
  }
  for (const k of ['epochs', 'gradAccum'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`sft: ${k} must be a positive integer, got ${c[k]}`);
  }
  for (const k of ['valExamples', 'evalEvery', 'saveEvery', 'warmupSteps'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new RangeError(`sft: ${k} must be an integer >= 0, got ${c[k]}`);
  }
  if (!(c.lr > 0)) throw new RangeError(`sft: lr must be > 0, got ${c.lr}`);
}

// One epoch's plan: packed micro-batches (first-fit decreasing, seeded per epoch), grouped into
// optimizer steps of `gradAccum` micro-batches.
function epochPlan(train: Sequence[], c: SftConfig & { microBatchTokens: number }, epoch: number): Batch[][] {
  const micro = packBatches(train, { tokenBudget: c.microBatchTokens, seed: c.seed, epoch });
  const steps: Batch[][] = [];
  for (let i = 0; i < micro.length; i += c.gradAccum) steps.push(micro.slice(i, i + c.gradAccum));
  return steps;
}

const weightSum = (b: Batch) => b.weights.reduce((s, w) => s + w, 0);

export async function validationLoss(model: Model, val: Sequence[], budget: number): Promise<number> {
  let nll = 0;
  let count = 0;
  for (const b of packBatches(val, { tokenBudget: budget })) {
    const lp = await model.batchLogprobs(b, { temperature: 1 });
    for (let t = 0; t < lp.length; t++) {
      nll -= b.weights[t] * lp[t];
      count += b.weights[t];
    }
  }
  return count > 0 ? nll / count : NaN;
}

export async function sft(opts: SftOptions): Promise<SftResult> {
  const { runDir } = opts;
  checkSftConfig(opts.config);
  const longest = Math.max(...opts.examples.map((e) => e.ids.length));
  const micro = runMicroBatchTokens(opts.config.microBatchTokens, {
    runDir,
    resume: !!opts.resume,
    config: opts.model.config,
    device: opts.model.device,
    longest,
    recompute: opts.config.gradientCheckpointing ?? false,
  });
  const c = { ...opts.config, microBatchTokens: micro.tokens };
  if (longest > c.microBatchTokens)
    throw new RangeError(
      `sft: an example has ${longest} tokens, more than microBatchTokens ${c.microBatchTokens}; raise it or lower the max length`,
    );
  const { train, validation: val } = splitValidation(opts.examples, c.valExamples, c.seed);
  if (train.length === 0)
    throw new RangeError(
      `sft: holding out ${c.valExamples} examples leaves none of the ${opts.examples.length} for training`,
    );
  mkdirSync(runDir, { recursive: true });
  const log = opts.onLog ?? (() => {});
  log(`sft: ${micro.note}, ${c.gradAccum} micro-batch${c.gradAccum === 1 ? '' : 'es'} per optimizer step`);
  const plans = Array.from({ length: c.epochs }, (_, e) => epochPlan(train, c, e));
  const totalSteps = plans.reduce((s, p) => s + p.length, 0);
  const lrAt = warmupConstant(c.lr, c.warmupSteps);
  const tokenizerFrom = opts.model.dir;

  const { model, trainer, start } = await startRun<{ seed: number; examples: number; totalSteps: number }>({
    runDir,
    resume: !!opts.resume,
    model: opts.model,
    log,
    optimizer: trainerOptions(c),
    differs: (st) =>
      st.seed !== c.seed || st.examples !== opts.examples.length || st.totalSteps !== totalSteps
        ? `seed ${st.seed} on ${st.examples} examples (${st.totalSteps} steps)`
        : null,
  });
  writeFileSync(
    join(runDir, 'config.json'),
    JSON.stringify(
      { stage: 'sft', examples: opts.examples.length, train: train.length, val: val.length, totalSteps, ...c },
      null,
      2,
    ) + '\n',
  );

  const all: MetricsRecord[] = [];
  let valLoss: number | null = null;
  const evaluate = async (step: number) => {
    if (val.length === 0) return;
    valLoss = await validationLoss(model, val, c.microBatchTokens);
    const r: MetricsRecord = { step, val_loss: valLoss };
    appendMetrics(runDir, r);
    all.push(r);
  };
  const checkpoint = (step: number) =>
    saveCheckpoint(
      runDir,
      step,
      { seed: c.seed, examples: opts.examples.length, totalSteps },
      {
        model: (d) => model.save(d, { dtype: 'f32', tokenizerFrom: tokenizerFrom ?? undefined }),
        optimizer: (d) => trainer.saveState(d),
      },
    );
  if (start === 0) await evaluate(0);

  let step = 0;
  let lastCheckpoint: string | null = null;
  let aborted = false;
  outer: for (let epoch = 0; epoch < c.epochs; epoch++) {
    for (const batches of plans[epoch]) {
      if (step < start) {
        step++;
        continue;
      }
      if (opts.signal?.aborted) {
        aborted = true;
        break outer;
      }
      const normaliser = batches.reduce((s, b) => s + weightSum(b), 0);
      const t0 = performance.now();
      let loss = 0,
        tokens = 0,
        gradNorm = 0;
      const lr = lrAt(step);
      if (normaliser > 0) {
        for (const b of batches) {
          loss += (await trainer.step(b, { normaliser, accumulate: true })).loss;
          tokens += b.tokens.length;
        }
        gradNorm = (await trainer.update({ lr })).gradNorm;
      }
      const seconds = (performance.now() - t0) / 1000;
      step++;
      const record: MetricsRecord = {
        step,
        epoch: epoch + 1,
        loss,
        grad_norm: gradNorm,
        lr,
        tokens,
        completion_tokens: normaliser,
        train_tokens_per_s: tokens / Math.max(seconds, 1e-9),
      };
      appendMetrics(runDir, record);
      all.push(record);
      opts.onProgress?.({ step, totalSteps, metrics: record });
      if (c.evalEvery > 0 && step % c.evalEvery === 0 && step < totalSteps) await evaluate(step);
      if (c.saveEvery > 0 && step % c.saveEvery === 0 && step < totalSteps) lastCheckpoint = await checkpoint(step);
    }
  }
  if (!aborted) await evaluate(step);
  if (step > start || aborted) lastCheckpoint = await checkpoint(step);
  return { model, steps: step, totalSteps, aborted, checkpoint: lastCheckpoint, metrics: all, valLoss };
}
