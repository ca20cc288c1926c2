// What the long commands (sft, grpo, eval, demo) show while they run: one progress display per
// phase, log lines that do not break it, and the stop message of the first Ctrl-C.
import type { Model } from '../engine/model.js';
import { Progress } from '../train/progress.js';
import { stopOnSignal } from './flags.js';

// One progress display per label (a new label finishes the previous one).
export function progressReporter(unit = 'step') {
  let current: { label: string; bar: Progress } | null = null;
  return {
    update(label: string, done: number, total: number, fields: Record<string, number> = {}) {
      if (!current || current.label !== label) {
        current?.bar.finish();
        // the rate counts from this first update (the step that produced it started earlier)
        current = { label, bar: new Progress({ total, label, unit, minIntervalMs: 2000 }) };
        current.bar.resumeFrom(done);
      }
      current.bar.update(done, fields);
    },
    log(message: string) {
      if (current) current.bar.log(message);
      else process.stderr.write(message + '\n');
    },
    finish() {
      current?.bar.finish();
      current = null;
    },
  };
}

export type Reporter = ReturnType<typeof progressReporter>;

// SIGINT/SIGTERM -> abort after the current step (a checkpoint is written); twice -> exit now.
export function stopAfterStep(rep: Reporter): { signal: AbortSignal; dispose: () => void } {
  return stopOnSignal((sig) =>
    rep.log(`${sig}: stopping after this step and writing a checkpoint (again to quit at once)`),
  );
}

// The end of a training run: a stopped one names its checkpoint and returns false; a finished one
// saves its model to `out` (tokenizer files from `modelDir`) and returns true.
export async function saveTrainedModel(
  rep: Reporter,
  r: { aborted: boolean; steps: number; checkpoint: string | null; model: Model },
  totalSteps: number,
  out: string,
  modelDir: string,
): Promise<boolean> {
  rep.finish();
  if (r.aborted) {
    console.log(`stopped at step ${r.steps}/${totalSteps}; checkpoint ${r.checkpoint}; continue with --resume`);
    return false;
  }
  await r.model.save(out, { tokenizerFrom: modelDir });
  return true;
}
