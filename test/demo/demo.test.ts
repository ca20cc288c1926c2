// The demo's figures do not depend on the thread count: a reduced demo (the same stages, few
// puzzles and steps) run with 1 and with 2 engine threads writes the same bytes.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import test from 'ava';

import { DEMO_SETTINGS, demo, type DemoSettings } from '../../lib/demo.js';
import { cpu } from '../../lib/engine/addon.js';

const REDUCED: DemoSettings = {
  ...DEMO_SETTINGS,
  warmupPuzzles: 48,
  rlExamples: 8,
  evalPuzzles: 8,
  sft: { ...DEMO_SETTINGS.sft, epochs: 2, valExamples: 4 },
  grpo: { ...DEMO_SETTINGS.grpo, steps: 2, promptsPerStep: 4, generations: 4, maxCompletionLength: 48 },
  eval: { ...DEMO_SETTINGS.eval, samples: 2, maxNewTokens: 48 },
};

// Every model, checkpoint and completion file the demo wrote, by path (timings left out).
function digests(dir: string): Record<string, string> {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const out: Record<string, string> = {};
  for (const f of walk(dir).sort())
    if (f.endsWith('.safetensors') || /eval-.*\.jsonl$/.test(f))
      out[relative(dir, f)] = createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 16);
  return out;
}

test('a reduced demo writes the same models and completions with 1 and 2 threads', async (t) => {
  const threads = cpu().numThreads();
  const runs = [];
  try {
    for (const n of [1, 2]) {
      cpu().setNumThreads(n);
      const out = mkdtempSync(join(tmpdir(), `ws-demo-${n}-`));
      const r = await demo({ out, settings: REDUCED });
      runs.push({ rows: r.rows, files: digests(out) });
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    cpu().setNumThreads(threads);
  }
  // base, warmup, 2 RLVR checkpoints; 4 evaluations
  t.true(
    Object.keys(runs[0].files).filter((f) => f.endsWith('.safetensors')).length >= 4,
    JSON.stringify(runs[0].files),
  );
  t.is(Object.keys(runs[0].files).filter((f) => f.endsWith('.jsonl')).length, 4);
  t.deepEqual(runs[1].files, runs[0].files);
  t.deepEqual(runs[1].rows, runs[0].rows);
});
