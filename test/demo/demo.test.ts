// The demo's figures do not depend on the thread count: a reduced demo (the same stages, few
// puzzles and steps) run with 1 and with 2 engine threads writes the same bytes. Its puzzles name
// the people in one order and stay the same puzzles.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import test from 'ava';

import { DEMO_NAMES, DEMO_SETTINGS, demo, inNameOrder, type DemoSettings } from '../../lib/demo.js';
import { cpu } from '../../lib/engine/addon.js';
import { generatePuzzles } from '../../lib/kk/generate.js';
import { kkRewardDetails } from '../../lib/kk/reward.js';
import { solve } from '../../lib/kk/solver.js';
import { renderStatement } from '../../lib/kk/text.js';
import { symbolicTrace } from '../../lib/kk/trace.js';

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

test('inNameOrder names Aria first and keeps each puzzle, its statements and its solution', (t) => {
  const puzzles = generatePuzzles({ people: 2, count: 60, seed: 3, names: DEMO_NAMES });
  const swapped = puzzles.filter((p) => p.names[0] === 'Ben');
  t.true(swapped.length > 10);
  for (const p of puzzles) {
    const q = inNameOrder(p, DEMO_NAMES);
    t.deepEqual(q.names, ['Aria', 'Ben']);
    t.deepEqual(q.statements, p.statements);
    t.deepEqual(solve(q.statements), [q.solution]);
    t.regex(q.quiz, /You meet 2 inhabitants: Aria, and Ben\./);
    for (const st of q.statements) t.true(q.quiz.includes(renderStatement(st, q.names, q.knight_knave)), q.quiz);
    const roles = q.solution.map((k, i) => `${q.names[i]} is ${k ? 'a knight' : 'a knave'}`);
    t.is(q.solution_text_format, roles.map((r, i) => `(${i + 1}) ${r}`).join('\n'));
    t.true(kkRewardDetails(symbolicTrace(q, { verbosity: 'terse' }), q).correct);
  }
  const inOrder = puzzles.find((p) => p.names[0] === 'Aria')!;
  t.is(inNameOrder(inOrder, DEMO_NAMES), inOrder); // already in order: the same object
});
