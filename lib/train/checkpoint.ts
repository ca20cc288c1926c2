// Atomic run checkpoints. A checkpoint is a folder RUN_DIR/checkpoint-<step>/ holding
//   model/        the model in Hugging Face form (model.save)
//   optimizer/    the optimizer's state (AdamW moments and step count)
//   state.json    the run's step, data order, RNG state and configuration
// It is written under a temporary name and renamed into place, then RUN_DIR/latest.json (also
// written to a temporary file and renamed) points at it. A crash at any moment leaves either
// the previous checkpoint or the new one, never half of one.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { swapDirectory, writeJsonAtomic } from '../util/atomic.js';

export interface CheckpointWriters {
  model: (dir: string) => Promise<void>;
  optimizer: (dir: string) => Promise<void>;
}

export interface RunCheckpoint<S> {
  dir: string; // the checkpoint folder
  step: number;
  state: S;
  modelDir: string;
  optimizerDir: string;
}

export async function saveCheckpoint<S>(
  runDir: string,
  step: number,
  state: S,
  writers: CheckpointWriters,
  keep = 2,
): Promise<string> {
  const name = `checkpoint-${step}`;
  const final = join(runDir, name);
  const tmp = join(runDir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await writers.model(join(tmp, 'model'));
  await writers.optimizer(join(tmp, 'optimizer'));
  writeJsonAtomic(join(tmp, 'state.json'), { step, state });
  // The same step written again (a resumed run re-saving) swaps the complete old one out first.
  swapDirectory(tmp, final, join(runDir, `.old-${name}-${process.pid}`));
  writeJsonAtomic(join(runDir, 'latest.json'), { checkpoint: name, step });
  pruneCheckpoints(runDir, keep, name);
  return final;
}

// Keeps the newest `keep` checkpoints (always the one just written) and removes stale temporaries.
function pruneCheckpoints(runDir: string, keep: number, current: string): void {
  const entries = readdirSync(runDir);
  const steps = entries
    .map((e) => /^checkpoint-(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], step: Number(m[1]) }))
    .sort((a, b) => b.step - a.step);
  for (const c of steps.filter((c) => c.name !== current).slice(Math.max(0, keep - 1))) {
    rmSync(join(runDir, c.name), { recursive: true, force: true });
  }
  for (const e of entries)
    if (/^\.(tmp|old)-checkpoint-/.test(e)) rmSync(join(runDir, e), { recursive: true, force: true });
}

// The checkpoint latest.json points at, or null when the run has none.
export function latestCheckpoint<S>(runDir: string): RunCheckpoint<S> | null {
  const pointer = join(runDir, 'latest.json');
  if (!existsSync(pointer)) return null;
  let latest: { checkpoint?: unknown; step?: unknown };
  try {
    latest = JSON.parse(readFileSync(pointer, 'utf8'));
  } catch (err) {
    throw new Error(`${pointer}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof latest.checkpoint !== 'string' || !/^checkpoint-\d+$/.test(latest.checkpoint)) {
    throw new Error(`${pointer}: field "checkpoint" must name a checkpoint-<step> folder`);
  }
  const dir = join(runDir, latest.checkpoint);
  const stateFile = join(dir, 'state.json');
  if (!existsSync(stateFile))
    throw new Error(`${stateFile}: missing (the checkpoint named by ${pointer} is incomplete)`);
  const { step, state } = JSON.parse(readFileSync(stateFile, 'utf8')) as { step: number; state: S };
  if (!Number.isInteger(step)) throw new Error(`${stateFile}: field "step" must be an integer`);
  return { dir, step, state, modelDir: join(dir, 'model'), optimizerDir: join(dir, 'optimizer') };
}
