// `warmstart eval --suite paper` without a model: completion files written here (right and wrong
// answers in known places) give the paper's table, MATH-500 / HumanEval+ (EvalPlus fixture) /
// MMLU-Pro / K&K, pass@1 mean ± std over the samples and mean length, as Markdown and JSON; a
// model whose cells all exist is never loaded (resumable), and a missing cell is left blank.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { run } from '../../lib/cli/main.js';
import { completionsFile, suiteFromCompletions, suiteMarkdown, type SuiteBenchmark } from '../../lib/eval/suite.js';
import { symbolicTrace } from '../../lib/kk/trace.js';
import type { KKPuzzle } from '../../lib/kk/puzzle.js';
import type { ChoiceExample } from '../../lib/rewards/choice.js';
import type { CodeExample } from '../../lib/rewards/code.js';
import type { MathExample } from '../../lib/rewards/math.js';
import { loadRlTask } from '../../lib/tasks/load.js';
import { tinyKK } from '../train/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'warmstart-suite-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const SHARED = '../shared/data';
const DATA: Record<string, string> = {
  math500: `${SHARED}/math500/math500.jsonl`,
  humaneval: 'test/fixtures/evalplus/mini-plus.jsonl',
  'mmlu-pro': `${SHARED}/mmlu-pro/mmlu_pro_test_physics.jsonl`,
  kk: `${SHARED}/knights-and-knaves-logic-rl/3ppl/test.parquet`,
};
const LIMIT = 4;

const wrap = (think: string, answer: string) => `<think>${think}</think> <answer>${answer}</answer>`;
// the right answer of each benchmark's example, and a wrong one
const right: Record<string, (e: unknown) => string> = {
  math500: (e) => wrap('so', `\\boxed{${(e as MathExample).answer}}`),
  humaneval: (e) =>
    wrap('code', '\n```python\n' + (e as CodeExample).prompt + (e as CodeExample).canonical_solution + '```\n'),
  'mmlu-pro': (e) => wrap('so', `The answer is (${(e as ChoiceExample).answer})`),
  kk: (e) => symbolicTrace(e as KKPuzzle, { verbosity: 'terse' }),
};
const wrong = () => wrap('no idea', 'nothing');

async function benchmarks(): Promise<SuiteBenchmark[]> {
  const out: SuiteBenchmark[] = [];
  for (const name of ['math500', 'humaneval', 'mmlu-pro', 'kk']) {
    const { task, examples } = await loadRlTask(name, { data: DATA[name], limit: LIMIT, seed: 0, split: 'all' });
    out.push({ name, task, examples, ...(name === 'humaneval' ? { title: 'HumanEval+' } : {}) });
  }
  return out;
}

// k = 2 samples: sample 0 right on the first `r0` problems, sample 1 right on the first `r1`
function writeCells(root: string, model: string, bs: SuiteBenchmark[], r0: number, r1: number) {
  mkdirSync(join(root, model), { recursive: true });
  for (const b of bs) {
    const lines = b.examples.flatMap((e, i) =>
      [r0, r1].map((r, s) => {
        const completion = i < r ? right[b.name](e.example) : wrong();
        return JSON.stringify({ id: e.id, sample: s, completion, tokens: 10 * (s + 1) });
      }),
    );
    writeFileSync(completionsFile(root, model, b.name), lines.join('\n') + '\n');
  }
}

test.serial('the table from completion files alone: pass@1 mean ± std over samples and mean length', async (t) => {
  const bs = await benchmarks();
  const root = join(dir, 'lib');
  writeCells(root, 'warm', bs, 4, 2); // per sample 100% and 50%: 75 ± 35.4
  writeCells(root, 'base', bs.slice(0, 2), 1, 1); // 25 ± 0; MMLU-Pro and K&K not sampled
  const r = await suiteFromCompletions({ dir: root, models: ['base', 'warm'], benchmarks: bs });
  t.is(r.cells.length, 6);
  for (const c of r.cells.filter((x) => x.model === 'warm')) {
    t.is(c.problems, LIMIT, c.benchmark);
    t.is(c.samples, 2);
    t.is(c.passAt1, 0.75, c.benchmark);
    t.true(Math.abs(c.passAt1Std - Math.sqrt(0.125)) < 1e-12, c.benchmark);
    t.is(c.meanLength, 15);
  }
  for (const c of r.cells.filter((x) => x.model === 'base')) t.is(c.passAt1, 0.25, c.benchmark);
  const md = suiteMarkdown(r);
  t.true(
    md.startsWith(
      '| model | MATH-500 pass@1 % | MATH-500 length | HumanEval+ pass@1 % | HumanEval+ length | MMLU-Pro pass@1 % | MMLU-Pro length | K&K pass@1 % | K&K length |\n',
    ),
  );
  t.regex(md, /\n\| base \| 25\.0 ± 0\.0 \| 15 \| 25\.0 ± 0\.0 \| 15 \| - \| - \| - \| - \|\n/);
  t.regex(
    md,
    /\n\| warm \| 75\.0 ± 35\.4 \| 15 \| 75\.0 ± 35\.4 \| 15 \| 75\.0 ± 35\.4 \| 15 \| 75\.0 ± 35\.4 \| 15 \|\n/,
  );
});

test.serial('warmstart eval --suite paper: no model is loaded when every cell exists; Markdown and JSON', async (t) => {
  const bs = await benchmarks();
  const root = join(dir, 'cli');
  writeCells(root, 'm1', bs, 3, 1);
  writeCells(root, 'm2', bs, 0, 0);
  const logs: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logs.push(a.join(' '));
  try {
    process.exitCode = 0;
    // the model folders do not exist: loading either would fail
    await run([
      'node',
      'warmstart',
      'eval',
      '--suite',
      'paper',
      '--model',
      join(dir, 'missing', 'm1'),
      join(dir, 'missing', 'm2'),
      '--out',
      root,
      '--limit',
      String(LIMIT),
      '--split',
      'all',
      '--data',
      ...Object.entries(DATA).map(([k, v]) => `${k}=${v}`),
    ]);
  } finally {
    console.log = log;
  }
  t.is(Number(process.exitCode ?? 0), 0);
  process.exitCode = 0;
  const md = readFileSync(join(root, 'suite.md'), 'utf8');
  t.regex(md, /\| HumanEval\+ pass@1 % \|/);
  t.regex(md, /\n\| m1 \| 50\.0 ± 35\.4 \| 15 \|/);
  t.regex(md, /\n\| m2 \| 0\.0 ± 0\.0 \| 15 \|/);
  t.true(logs.join('\n').includes(md.trim()));
  const json = JSON.parse(readFileSync(join(root, 'suite.json'), 'utf8')) as {
    cells: { model: string; passAt1: number }[];
  };
  t.is(json.cells.length, 8);
  t.deepEqual(
    json.cells.filter((c) => c.model === 'm1').map((c) => c.passAt1),
    [0.5, 0.5, 0.5, 0.5],
  );
});

test.serial('a stopped suite resumes: only the missing cell is sampled, with the model', async (t) => {
  const bs = await benchmarks();
  const root = join(dir, 'resume');
  const kk = await tinyKK(join(dir, 'models', 'tiny'), 20);
  t.is(kk.dir, join(dir, 'models', 'tiny'));
  writeCells(root, 'tiny', bs, 2, 2);
  rmSync(completionsFile(root, 'tiny', 'kk'));
  const before = readFileSync(completionsFile(root, 'tiny', 'math500'), 'utf8');
  const log = console.log;
  console.log = () => {};
  try {
    await run([
      'node',
      'warmstart',
      'eval',
      '--suite',
      'paper',
      '--model',
      kk.dir,
      '--out',
      root,
      '--limit',
      String(LIMIT),
      '--split',
      'all',
      '--samples',
      '2',
      '--max-new-tokens',
      '6',
      '--data',
      ...Object.entries(DATA).map(([k, v]) => `${k}=${v}`),
    ]);
  } finally {
    console.log = log;
  }
  t.is(Number(process.exitCode ?? 0), 0);
  process.exitCode = 0;
  // the sampled cell: every problem twice, at most 6 tokens each; the others untouched
  const lines = readFileSync(completionsFile(root, 'tiny', 'kk'), 'utf8')
    .trim()
    .split('\n');
  t.is(lines.length, 2 * LIMIT);
  for (const l of lines) t.true((JSON.parse(l) as { tokens: number }).tokens <= 6);
  t.is(readFileSync(completionsFile(root, 'tiny', 'math500'), 'utf8'), before);
  const json = JSON.parse(readFileSync(join(root, 'suite.json'), 'utf8')) as {
    cells: { benchmark: string; passAt1: number }[];
  };
  t.deepEqual(
    json.cells.map((c) => [c.benchmark, c.passAt1]),
    [
      ['math500', 0.5],
      ['humaneval', 0.5],
      ['mmlu-pro', 0.5],
      ['kk', 0],
    ],
  );
});
