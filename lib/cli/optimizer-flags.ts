// The flags of the optimizer settings sft and grpo share (OptimizerConfig in lib/train/run.ts),
// and of activation recomputation, which both stages' trainers take: declared once, and written
// into a config by `overrides` with OPTIMIZER_OVERRIDES.
import type { Command } from 'commander';

import { parseInteger, parseNumber, parsePair } from './flags.js';

export function addOptimizerOptions(cmd: Command): Command {
  return cmd
    .option('--lr <x>', 'peak learning rate', parseNumber('--lr'))
    .option('--betas <b1,b2>', 'AdamW betas', parsePair('--betas'))
    .option('--weight-decay <x>', 'AdamW weight decay', parseNumber('--weight-decay'))
    .option('--warmup-steps <n>', 'linear warmup steps, then constant', parseInteger('--warmup-steps'))
    .option('--max-grad-norm <x>', 'gradient clipping', parseNumber('--max-grad-norm'))
    .option(
      '--gradient-checkpointing',
      "recompute each layer's activations in the backward: the same gradients, a fraction of the activation memory (on in the paper preset)",
    )
    .option('--no-gradient-checkpointing', "keep every layer's activations for the backward (faster, more memory)");
}

/** commander's option name -> OptimizerConfig field, for `overrides`. */
export const OPTIMIZER_OVERRIDES = {
  lr: 'lr',
  betas: 'betas',
  weightDecay: 'weightDecay',
  warmupSteps: 'warmupSteps',
  maxGradNorm: 'maxGradNorm',
  gradientCheckpointing: 'gradientCheckpointing',
} as const;
