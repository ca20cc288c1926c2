import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import test from 'ava';

import { loadHumanEval } from '../../lib/tasks/humaneval-task.js';
import { loadMath } from '../../lib/tasks/math-task.js';
import { loadMmluPro } from '../../lib/tasks/mmlu-pro-task.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'warmstart-eval-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('MATH-500 loads: 500 problems with answers and levels 1-5', async (t) => {
  const rows = await loadMath(join(DATA, 'math500/math500.jsonl'));
  t.is(rows.length, 500);
  t.is(rows[0].answer, '\\left( 3, \\frac{\\pi}{2} \\right)');
  t.deepEqual([...new Set(rows.map((r) => r.level))].sort(), [1, 2, 3, 4, 5]);
  t.is(new Set(rows.map((r) => r.id)).size, 500);
});

test('MATH-style rows: answer from the solution\'s last \\boxed, "Level 3" levels, unique_id', async (t) => {
  const p = file(
    'math.jsonl',
    [
      JSON.stringify({
        problem: 'p1',
        solution: 'so \\boxed{1} no \\boxed{\\frac{1}{2}}.',
        level: 'Level 3',
        type: 'Algebra',
        unique_id: 'a/1.json',
      }),
      JSON.stringify({ problem: 'p2', answer: '7' }),
    ].join('\n'),
  );
  t.deepEqual(await loadMath(p), [
    { id: 'a/1.json', problem: 'p1', answer: '\\frac{1}{2}', level: 3, subject: 'Algebra' },
    { id: '1', problem: 'p2', answer: '7' },
  ]);
});

test('bad MATH rows name the file, the line and the field', async (t) => {
  await t.throwsAsync(loadMath(file('m1.jsonl', '{"problem": "p"}\n')), {
    message: /m1\.jsonl:line 1: needs a string "answer" or "solution"/,
  });
  await t.throwsAsync(loadMath(file('m2.jsonl', '{"problem": "p", "answer": "1"}\n{"problem": 3, "answer": "1"}\n')), {
    message: /m2\.jsonl:line 2: field "problem" must be a string/,
  });
  await t.throwsAsync(loadMath(file('m3.jsonl', '{"problem": "p", "solution": "no box"}')), {
    message: /line 1: "solution" has no \\boxed/,
  });
  await t.throwsAsync(loadMath(file('m4.jsonl', '{"problem": "p", "answer": "1"}\n{oops\n')), {
    message: /m4\.jsonl:line 2: invalid JSON/,
  });
  await t.throwsAsync(loadMath(join(dir, 'missing.jsonl')), { message: /cannot read .*missing\.jsonl/ });
});

test('HumanEval loads from .jsonl.gz and plain .jsonl alike', async (t) => {
  const rows = await loadHumanEval(join(DATA, 'humaneval/HumanEval.jsonl.gz'));
  t.is(rows.length, 164);
  t.is(rows[0].id, 'HumanEval/0');
  t.is(rows[0].entry_point, 'has_close_elements');
  t.true(rows.every((r) => typeof r.canonical_solution === 'string'));
  // HumanEval+ has the same fields: one row without canonical_solution, plain and gzipped.
  const plus = JSON.stringify({
    task_id: 'HumanEval/0',
    prompt: rows[0].prompt,
    test: rows[0].test,
    entry_point: rows[0].entry_point,
    base_input: [],
  });
  const a = await loadHumanEval(file('plus.jsonl', plus + '\n'));
  const b = await loadHumanEval(file('plus.jsonl.gz', gzipSync(plus + '\n')));
  t.deepEqual(a, b);
  t.is(a[0].canonical_solution, undefined);
});

test('bad HumanEval rows are refused with where and why', async (t) => {
  const ok = { task_id: 'X/1', prompt: 'def f():\n', test: 'def check(c):\n    pass\n', entry_point: 'f' };
  await t.throwsAsync(loadHumanEval(file('h1.jsonl', JSON.stringify({ ...ok, entry_point: 'f; import os' }))), {
    message: /h1\.jsonl:line 1: "entry_point" is not a Python name/,
  });
  await t.throwsAsync(loadHumanEval(file('h2.jsonl', JSON.stringify({ ...ok, test: 'assert True' }))), {
    message: /does not define check/,
  });
  await t.throwsAsync(loadHumanEval(file('h3.jsonl', `${JSON.stringify(ok)}\n${JSON.stringify(ok)}`)), {
    message: /h3\.jsonl:line 2: duplicate task_id X\/1/,
  });
});

test('MMLU-Pro physics loads: 1299 questions, letters match answer_index, no N/A options', async (t) => {
  const rows = await loadMmluPro(join(DATA, 'mmlu-pro/mmlu_pro_test_physics.jsonl'));
  t.is(rows.length, 1299);
  t.true(rows.every((r) => r.category === 'physics' && !r.options.includes('N/A')));
  t.is(rows[0].id, '9044');
  t.is(rows[0].answer, 'I');
  const padded = {
    question_id: 1,
    question: 'q',
    options: ['a', 'b', 'N/A', 'N/A'],
    answer: 'B',
    answer_index: 1,
    category: 'x',
  };
  t.deepEqual((await loadMmluPro(file('pad.jsonl', JSON.stringify(padded))))[0].options, ['a', 'b']);
  await t.throwsAsync(loadMmluPro(file('bad1.jsonl', JSON.stringify({ ...padded, answer: 'C', answer_index: 2 }))), {
    message: /bad1\.jsonl:line 1: "answer" must be one of A\.\.B, got C/,
  });
  await t.throwsAsync(loadMmluPro(file('bad2.jsonl', JSON.stringify({ ...padded, answer: 'A' }))), {
    message: /disagrees with "answer_index" 1/,
  });
});
