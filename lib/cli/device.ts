// `--device cpu|cuda` of the commands that load a model, `--micro-batch-tokens N|auto` and
// `--generation-batch N|auto`.
// The device is checked before any data is read or any file written: asking for 'cuda' where
// the CUDA addon did not load fails at once, naming the flag and the reason.
import { Option } from 'commander';

import { cuda } from '../engine/addon.js';
import type { Device } from '../engine/model.js';
import type { GenerationBatch, MicroBatchTokens } from '../train/micro-batch.js';
import { parsePositiveIntOrAuto } from './flags.js';

export function deviceOption(): Option {
  return new Option(
    '--device <name>',
    'where the model runs: cpu, or cuda (bf16 on the GPU; needs the CUDA build, warmstart build-cuda)',
  )
    .choices(['cpu', 'cuda'])
    .default('cpu');
}

/** Throws, naming --device, when `device` cannot be used on this machine. */
export function checkDeviceFlag(device: Device): Device {
  if (device === 'cuda') {
    const c = cuda();
    if (!c.addon) throw new Error(`--device cuda: the CUDA engine is not available (${c.reason})`);
  }
  return device;
}

export function microBatchOption(): Option {
  return new Option(
    '--micro-batch-tokens <n>',
    'tokens per packed forward/backward; auto: as many as fit in an activation budget (min(8 GiB, 40% of RAM) on the CPU)',
  ).argParser(parseMicroBatchTokens);
}

export const parseMicroBatchTokens: (v: string) => MicroBatchTokens = parsePositiveIntOrAuto('--micro-batch-tokens');
export const parseGenerationBatch: (v: string) => GenerationBatch = parsePositiveIntOrAuto('--generation-batch');
