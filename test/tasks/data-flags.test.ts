// No library default resolves the development tree's ../shared: every data file is a flag
// (--data, --decontaminate), and a missing one is an error naming the flag and the published
// file to point it at, even when run from a folder where ../shared/data exists (as here).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { run } from '../../lib/cli/main.js';
import { loadMath } from '../../lib/tasks/math-task.js';
import { loadRlTask } from '../../lib/tasks/load.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MATH500 = join(ROOT, '../shared/data/math500/math500.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'ws-data-flags-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// A training pool: 150 of MATH-500's problems and 150 of its own.
const pool = join(dir, 'pool.jsonl');
test.before(async () => {
  const m500 = await loadMath(MATH500);
  const rows = [
    ...m500.slice(0, 150).map((p) => ({ problem: p.problem, answer: p.answer })),
    ...Array.from({ length: 150 }, (_, i) => ({ problem: `What is ${i} + ${i}?`, answer: String(2 * i) })),
  ];
  writeFileSync(pool, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
});

function tsFiles(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no file of lib/ names ../shared', (t) => {
  const hits = tsFiles(join(ROOT, 'lib')).filter((f) => readFileSync(f, 'utf8').includes('../shared'));
  t.deepEqual(hits, []);
});

test('math training: MATH-500 comes from --decontaminate, or --no-decontaminate draws from the whole pool', async (t) => {
  const base = { data: pool, split: 'train' as const, seed: 0, limit: 100 };
  await t.throwsAsync(loadRlTask('math', base), {
    message:
      /^math: the training draw keeps MATH-500's problems out: pass --decontaminate FILE \(.*HuggingFaceH4\/MATH-500.*\), or --no-decontaminate/,
  });
  const m500 = new Set((await loadMath(MATH500)).map((p) => p.problem));
  const clean = await loadRlTask('math', { ...base, decontaminate: MATH500 });
  t.is(clean.examples.length, 100);
  t.true(clean.examples.every((e) => !m500.has((e.example as { problem: string }).problem)));
  const whole = await loadRlTask('math', { ...base, decontaminate: false });
  t.is(whole.examples.length, 100);
  t.true(whole.examples.some((e) => m500.has((e.example as { problem: string }).problem)));
});

test('without --data every task says which flag and which published file', async (t) => {
  for (const [name, split, file] of [
    ['kk', 'train', /train\.parquet of github\.com\/Unakar\/Logic-RL/],
    ['kk', 'eval', /test\.parquet/],
    ['math500', 'eval', /HuggingFaceH4\/MATH-500/],
    ['humaneval', 'train', /openai\/human-eval/],
    ['mmlu-pro', 'eval', /TIGER-Lab\/MMLU-Pro/],
  ] as const) {
    const err = await t.throwsAsync(loadRlTask(name, { split, seed: 0 }));
    t.regex(err?.message ?? '', /pass --data FILE/, name);
    t.regex(err?.message ?? '', file, name);
  }
});

test.serial(
  'the CLI: grpo --task math without --decontaminate, score without --data: one line naming the flag',
  async (t) => {
    const errs: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((c: string | Uint8Array) => {
      errs.push(String(c));
      return true;
    }) as typeof process.stderr.write;
    try {
      // the model folder is never read: the data are checked first
      await run([
        'node',
        'warmstart',
        'grpo',
        '--model',
        dir,
        '--task',
        'math',
        '--data',
        pool,
        '--out',
        join(dir, 'o'),
      ]);
      t.is(process.exitCode as number | undefined, 1);
      process.exitCode = undefined;
      await run(['node', 'warmstart', 'score', '--task', 'humaneval', '--completions', pool]);
      t.is(process.exitCode as number | undefined, 1);
    } finally {
      process.stderr.write = write;
      process.exitCode = undefined;
    }
    t.regex(errs.join(''), /pass --decontaminate FILE/);
    t.regex(errs.join(''), /humaneval: no data file: pass --data FILE/);
  },
);

test.serial("grpo's held-out sets and eval --suite: a missing file names its name=FILE flag", async (t) => {
  const KK = join(ROOT, '../shared/data/knights-and-knaves-logic-rl/3ppl');
  const errs: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    errs.push(String(c));
    return true;
  }) as typeof process.stderr.write;
  try {
    // the model folder is never read: the data are checked first
    await run([
      'node',
      'warmstart',
      'grpo',
      '--model',
      dir,
      '--task',
      'kk',
      '--data',
      join(KK, 'train.parquet'),
      '--out',
      join(dir, 'o2'),
      '--eval-every',
      '1',
      '--eval-benchmarks',
      'kk,math500',
      '--eval-data',
      `kk=${join(KK, 'test.parquet')}`,
    ]);
    t.is(process.exitCode as number | undefined, 1);
    process.exitCode = undefined;
    await run(['node', 'warmstart', 'eval', '--suite', 'paper', '--model', dir, '--out', join(dir, 's')]);
    t.is(process.exitCode as number | undefined, 1);
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
  }
  t.regex(errs.join(''), /math500: no data file: pass --eval-data math500=FILE \(.*MATH-500/);
  t.regex(errs.join(''), /math500: no data file: pass --data math500=FILE/);
});
