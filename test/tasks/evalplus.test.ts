// HumanEval+ in EvalPlus's format (test/fixtures/evalplus/mini-plus.jsonl: four small problems
// with base and plus inputs, a float answer, an atol and find_zero's special oracle): every
// canonical solution passes, broken ones fail, a solution wrong only on the plus inputs passes
// the base tests and fails HumanEval+, and float answers are compared with atol as EvalPlus does.
import test from 'ava';

import { CODE_REWARD, runTests, type CodeExample } from '../../lib/rewards/code.js';
import { Sandbox } from '../../lib/rewards/sandbox.js';
import { codeTask, loadHumanEval } from '../../lib/tasks/humaneval-task.js';
import { leftovers } from '../rewards/procs.js';

const FIXTURE = 'test/fixtures/evalplus/mini-plus.jsonl';
const sandbox = new Sandbox({ workers: 2, timeoutMs: 10000 });
const plus = await loadHumanEval(FIXTURE);
const base = await loadHumanEval(FIXTURE, { plus: false });
const byId = (list: CodeExample[], id: string) => list.find((p) => p.id === id)!;

test.after.always('no process is left behind', (t) => {
  t.deepEqual(leftovers(sandbox), []);
});

test('every canonical solution passes its base and plus inputs', async (t) => {
  t.is(plus.length, 4);
  for (const p of plus) {
    const r = await runTests(sandbox, p.prompt + p.canonical_solution!, p);
    t.true(r.passed, `${p.id}: ${r.failure}`);
  }
  for (const p of base) t.true((await runTests(sandbox, p.prompt + p.canonical_solution!, p)).passed, p.id);
});

test('broken solutions fail; one wrong only on the plus inputs passes the base tests alone', async (t) => {
  // add: right on the base inputs (non-negative), wrong on the plus input -7 + 4
  const absAdd = 'def add(a, b):\n    return abs(a) + abs(b)\n';
  t.true((await runTests(sandbox, absAdd, byId(base, 'Mini/0'))).passed);
  const r = await runTests(sandbox, absAdd, byId(plus, 'Mini/0'));
  t.false(r.passed);
  t.regex(r.failure, /input 2: expected -3, got 11/);
  // a mean off by 1e-3: beyond the enforced float atol of 1e-6
  t.false(
    (await runTests(sandbox, 'def mean(xs):\n    return sum(xs) / len(xs) + 1e-3\n', byId(plus, 'Mini/1'))).passed,
  );
  // a list answer with the wrong order, and a tuple where a list is expected
  t.false(
    (await runTests(sandbox, 'def unique_sorted(l):\n    return list(set(l))[::-1]\n', byId(plus, 'Mini/2'))).passed,
  );
  t.false(
    (await runTests(sandbox, 'def unique_sorted(l):\n    return tuple(sorted(set(l)))\n', byId(plus, 'Mini/2'))).passed,
  );
  // find_zero: a point that is not a zero fails the |poly(xs, x)| <= atol oracle
  t.false((await runTests(sandbox, 'def find_zero(xs):\n    return 0.5\n', byId(plus, 'Mini/3'))).passed);
});

test('floats within atol pass: a mean summed in another order, a different root of find_zero', async (t) => {
  t.true(
    (await runTests(sandbox, 'def mean(xs):\n    return sum(reversed(xs)) / len(xs)\n', byId(plus, 'Mini/1'))).passed,
  );
  t.true(
    (await runTests(sandbox, 'def mean(xs):\n    return sum(xs) / len(xs) + 1e-9\n', byId(plus, 'Mini/1'))).passed,
  );
  // x^3 - 6x^2 + 11x - 6 has roots 1, 2 and 3: Newton from 3.5 finds 3, not the canonical 1
  const newton =
    'def find_zero(xs):\n    x = 3.5\n    for _ in range(100):\n        f = sum(c * x ** i for i, c in enumerate(xs))\n' +
    '        d = sum(i * c * x ** (i - 1) for i, c in enumerate(xs) if i)\n        x -= f / d\n    return x\n';
  t.true((await runTests(sandbox, newton, byId(plus, 'Mini/3'))).passed);
});

test('as a reward task: the paper reward +2 for a canonical answer, -1 for a broken one', async (t) => {
  const task = codeTask(sandbox);
  const p = byId(plus, 'Mini/0');
  const answer = (code: string) => `<think>sum</think> <answer>\n\`\`\`python\n${code}\`\`\`\n</answer>`;
  t.is(await task.reward(answer(p.prompt + p.canonical_solution!), p), CODE_REWARD.correct);
  t.is(await task.reward(answer('def add(a, b):\n    return abs(a) + abs(b)\n'), p), CODE_REWARD.wrong);
});
