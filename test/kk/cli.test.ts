import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';
import { Command } from 'commander';

import { registerKk } from '../../lib/cli/kk.js';
import { loadSftPairs } from '../../lib/data/dataset.js';
import { buildPrompt, kkReward, loadPuzzles, readJsonlRows } from '../../lib/kk/index.js';
import { kkTracePair } from '../../lib/kk/traces-published.js';
import { loadRlTask } from '../../lib/tasks/load.js';
import { KK_DATA } from './published.js';

// Runs `warmstart kk ...` in-process; returns what it printed and the exit code it set.
async function kk(...args: string[]): Promise<{ out: string; code: number }> {
  const program = new Command().exitOverride();
  registerKk(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => {
    lines.push(a.join(' '));
  };
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'warmstart', 'kk', ...args]);
    return { out: lines.join('\n'), code: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    process.exitCode = before;
  }
}

test.serial('generate, check and traces work end to end', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kk-cli-'));
  const gen = path.join(dir, 'puzzles.jsonl');
  const { out } = await kk('generate', '--people', '3-7', '--count', '50', '--seed', '5', '--out', gen);
  t.is(out, `wrote 50 puzzles to ${gen} (3 people: 10, 4 people: 10, 5 people: 10, 6 people: 10, 7 people: 10)`);
  t.is((await loadPuzzles(gen)).length, 50);

  const check = await kk('check', gen);
  t.is(check.code, 0);
  t.regex(check.out, /50 puzzles, 50 with exactly one solution/);

  const traces = path.join(dir, 'traces.jsonl');
  const tr = await kk(
    'traces',
    '--teacher',
    'symbolic',
    '--in',
    gen,
    '--out',
    traces,
    '--verbosity',
    'long',
    '--limit',
    '20',
  );
  t.is(tr.out, `wrote 20 symbolic traces to ${traces}`);
  const rows = (await readJsonlRows(traces)).map(
    (r) => r.row as { prompt: string; completion: string; teacher: string },
  );
  const puzzles = await loadPuzzles(traces);
  t.is(rows.length, 20);
  rows.forEach((r, i) => {
    t.true(r.prompt.endsWith('Assistant: <think>'));
    t.is(kkReward(r.completion, puzzles[i]), 2);
  });
  t.regex((await kk('check', traces)).out, /completions: 20, paper reward \+2: 20/);
});

test.serial('check reports a bad file with a non-zero exit code', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kk-cli-'));
  const gen = path.join(dir, 'p.jsonl');
  await kk('generate', '--people', '3', '--count', '3', '--out', gen);
  const rows = (await fs.readFile(gen, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  rows[1].statements = "(('telling-truth', 0), ('telling-truth', 1), ('telling-truth', 2))";
  await fs.writeFile(gen, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = await kk('check', gen);
  t.is(r.code, 1);
  t.regex(r.out, /3 puzzles, 2 with exactly one solution/);
  t.regex(r.out, /not-unique: 1/);
  t.regex(r.out, /puzzle 1: not-unique/);
});

test.serial('the published Parquet checks clean; bad arguments are named', async (t) => {
  const r = await kk('check', path.join(KK_DATA, '3ppl', 'test.parquet'));
  t.is(r.code, 0);
  t.regex(r.out, /100 puzzles, 100 with exactly one solution equal to the stored one\nsizes: 3 people: 100$/);
  await t.throwsAsync(kk('generate', '--count', 'ten', '--out', '/tmp/x.jsonl'), {
    message: /--count: expected an integer >= 0, got "ten"/,
  });
  await t.throwsAsync(kk('generate', '--count', '3', '--roles', 'a knight', '--out', '/tmp/x.jsonl'), {
    message: /--roles/,
  });
  await t.throwsAsync(kk('generate', '--count', '3', '--out', '/tmp/x.txt'), { message: /written as JSONL/ });
  await t.throwsAsync(
    kk('traces', '--teacher', 'oracle', '--in', path.join(KK_DATA, '3ppl', 'test.parquet'), '--out', '/tmp/y.jsonl'),
    { message: /unknown teacher "oracle"/ },
  );
});

test.serial(
  'one K&K raw prompt: warmup pairs, `kk traces`, the RLVR kk task and kk evaluation render it alike',
  async (t) => {
    const file = path.join(KK_DATA, '3ppl', 'test.parquet');
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'kk-cli-')), 'traces.jsonl');
    await kk('traces', '--teacher', 'symbolic', '--in', file, '--out', out, '--limit', '5');
    const prompts = {
      'kk traces': (await readJsonlRows(out)).map((r) => (r.row as { prompt: string }).prompt),
      'warmup pairs (published columns)': (await loadSftPairs(file, { pairOf: kkTracePair })).pairs
        .slice(0, 5)
        .map((p) => p.prompt),
      'RLVR kk task': (await loadRlTask('kk', { data: file, split: 'train', seed: 0, limit: 5 })).examples.map(
        (e) => e.prompt,
      ),
      'kk evaluation': (await loadRlTask('kk', { data: file, split: 'eval', seed: 0, limit: 5 })).examples.map(
        (e) => e.prompt,
      ),
    };
    const puzzles = (await loadPuzzles(file)).slice(0, 5);
    for (const [where, got] of Object.entries(prompts))
      t.deepEqual(
        got,
        puzzles.map((p) => buildPrompt(p)),
        where,
      );
    // The paper's text (its K&K loader), spelled out.
    t.is(
      prompts['kk traces'][0],
      'A conversation between User and Assistant. The user asks a question, and the Assistant solves it.\n' +
        'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer.\n' +
        'The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively.\n' +
        'i.e., <think> reasoning process here </think> <answer> answer here </answer>.\n' +
        'User: Please solve this logical reasoning problem. After thinking, when you finally reach a conclusion, clearly state the identity ' +
        'of each character within <answer> </answer> tags i.e., <answer> (1) Zoey is a knight\n(2) ... </answer>. Here is my question,\n\n' +
        `${puzzles[0].quiz}\nAssistant: <think>`,
    );
  },
);
