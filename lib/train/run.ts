// Starting or resuming a training run in RUN_DIR, the same way for every stage: with --resume
// and a checkpoint present, the model, the optimizer state and the step come from the newest
// checkpoint and metrics.jsonl is cut back to that step; otherwise the run starts afresh with an
// empty metrics.jsonl. On resume the checkpoint's weights are read into the given model, so the
// run stays on that model's device and holds one copy of the weights, not two.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Model, type Trainer, type TrainerOptions } from '../engine/model.js';
import { latestCheckpoint } from './checkpoint.js';
import { truncateMetrics } from './metrics.js';

export interface RunStart {
  model: Model;
  trainer: Trainer;
  start: number; // the first step still to run
}

/** The optimizer settings every stage's config has: AdamW, gradient clipping, linear warmup. */
export interface OptimizerConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number; // decoupled, on matrices only
  warmupSteps: number;
  maxGradNorm: number;
}

/** The trainer's options from a stage's config (and whether its steps recompute activations). */
export function trainerOptions(c: OptimizerConfig & { gradientCheckpointing?: boolean }): TrainerOptions {
  return {
    lr: c.lr,
    betas: c.betas,
    eps: c.eps,
    weightDecay: c.weightDecay,
    maxGradNorm: c.maxGradNorm,
    gradientCheckpointing: c.gradientCheckpointing ?? false,
  };
}

export async function startRun<S>(opts: {
  runDir: string;
  resume: boolean;
  model: Model;
  optimizer: TrainerOptions;
  // null when the checkpoint's state belongs to this run, else what it was started with
  differs: (state: S) => string | null;
  log: (line: string) => void;
}): Promise<RunStart> {
  const { runDir, log } = opts;
  const ck = opts.resume ? latestCheckpoint<S>(runDir, { onWarning: log }) : null;
  if (!ck) {
    writeFileSync(join(runDir, 'metrics.jsonl'), '');
    return { model: opts.model, trainer: opts.model.trainer(opts.optimizer), start: 0 };
  }
  const why = opts.differs(ck.state);
  if (why) throw new Error(`${ck.dir}/state.json: the run was started with ${why}; resume needs the same`);
  const model = opts.model;
  await model.loadWeights(ck.modelDir);
  const trainer = model.trainer(opts.optimizer);
  await trainer.loadState(ck.optimizerDir);
  truncateMetrics(runDir, ck.step);
  log(`resumed from ${ck.dir} at step ${ck.step}`);
  return { model, trainer, start: ck.step };
}
