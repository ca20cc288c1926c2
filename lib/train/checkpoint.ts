// Atomic run checkpoints. A checkpoint is a folder RUN_DIR/checkpoint-<step>/ holding
//   model/        the model in Hugging Face form (model.save)
//   optimizer/    the optimizer's state (AdamW moments and step count)
//   state.json    the run's step, data order, RNG state and configuration
// It is written under a temporary name and renamed into place, then RUN_DIR/latest.json (also
// written to a temporary file and renamed) points at it; every file is flushed (fsync) before
// its rename. A crash at any moment leaves either the previous checkpoint or the new one, never
// half of one; should a copy or a disk still damage the newest, resume falls back to the one
// before it (two are kept).
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
  const steps = checkpointFolders(runDir);
  for (const c of steps.filter((c) => c.name !== current).slice(Math.max(0, keep - 1))) {
    rmSync(join(runDir, c.name), { recursive: true, force: true });
  }
  for (const e of entries)
    if (/^\.(tmp|old)-checkpoint-/.test(e)) rmSync(join(runDir, e), { recursive: true, force: true });
}

/** A checkpoint, or why it cannot be resumed from (its file named). */
function readCheckpoint<S>(dir: string): RunCheckpoint<S> | string {
  const stateFile = join(dir, 'state.json');
  if (!existsSync(stateFile)) return `${stateFile}: missing (the checkpoint is incomplete)`;
  const text = readFileSync(stateFile, 'utf8');
  if (text.trim() === '') return `${stateFile}: empty`;
  let parsed: { step?: unknown; state?: unknown };
  try {
    parsed = JSON.parse(text) as { step?: unknown; state?: unknown };
  } catch (err) {
    return `${stateFile}: not valid JSON (${(err as Error).message})`;
  }
  if (!parsed || typeof parsed !== 'object' || !Number.isInteger(parsed.step))
    return `${stateFile}: field "step" must be an integer`;
  return {
    dir,
    step: parsed.step as number,
    state: parsed.state as S,
    modelDir: join(dir, 'model'),
    optimizerDir: join(dir, 'optimizer'),
  };
}

/** The checkpoint folders of a run, newest first. */
function checkpointFolders(runDir: string): { name: string; step: number }[] {
  return readdirSync(runDir)
    .map((e) => /^checkpoint-(\d+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], step: Number(m[1]) }))
    .sort((a, b) => b.step - a.step);
}

/**
 * The checkpoint latest.json points at, or null when the run has none. When that checkpoint (or
 * latest.json itself) is damaged, as an interrupted copy or a full disk can leave it, the newest
 * earlier complete checkpoint is used instead and `onWarning` says which file was damaged; with
 * none left, the error names the damaged file.
 */
export function latestCheckpoint<S>(
  runDir: string,
  opts: { onWarning?: (message: string) => void } = {},
): RunCheckpoint<S> | null {
  const pointer = join(runDir, 'latest.json');
  if (!existsSync(pointer)) return null;
  const problems: string[] = [];
  let candidates = checkpointFolders(runDir);
  let latest: { checkpoint?: unknown; step?: unknown } | null = null;
  try {
    latest = JSON.parse(readFileSync(pointer, 'utf8')) as { checkpoint?: unknown; step?: unknown };
  } catch (err) {
    problems.push(`${pointer}: not valid JSON (${(err as Error).message})`);
  }
  if (latest !== null) {
    if (!latest || typeof latest.checkpoint !== 'string' || !/^checkpoint-\d+$/.test(latest.checkpoint))
      throw new Error(`${pointer}: field "checkpoint" must name a checkpoint-<step> folder`);
    const named = latest.checkpoint;
    const step = Number(named.slice('checkpoint-'.length));
    candidates = [{ name: named, step }, ...candidates.filter((c) => c.step < step)];
  }
  for (const c of candidates) {
    const ck = readCheckpoint<S>(join(runDir, c.name));
    if (typeof ck === 'string') {
      problems.push(ck);
      continue;
    }
    if (problems.length > 0)
      opts.onWarning?.(`${problems.join('; ')}: resuming from the previous complete checkpoint, ${ck.dir}`);
    return ck;
  }
  throw new Error(`${problems.join('; ')}${candidates.length > 1 ? '; no earlier checkpoint is complete' : ''}`);
}
