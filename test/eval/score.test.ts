import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { readCompletions, scoreTask } from '../../lib/eval/score.js';
import type { MathExample } from '../../lib/rewards/math.js';
import { Sandbox } from '../../lib/rewards/sandbox.js';
import { BENCHMARKS } from '../../lib/tasks/benchmarks.js';
import { mathTask } from '../../lib/tasks/math-task.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'warmstart-score-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const jsonl = (name: string, rows: object[]) => {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
};
const boxed = (a: string) => `reasoning</think><answer>\\boxed{${a}}</answer>`;

test('pass@1 is the accuracy of each sample index, then mean and std over indices', async (t) => {
  const ex: MathExample[] = ['1', '2', '3', '4'].map((a) => ({ id: `p${a}`, problem: '', answer: a }));
  // sample 0: 4/4 right, sample 1: 2/4, sample 2: 0/4
  const rows = ex.flatMap((e, i) => [
    { id: e.id, sample: 0, completion: boxed(e.answer), tokens: 10 },
    { id: e.id, sample: 1, completion: boxed(i < 2 ? e.answer : '0'), tokens: 20 },
    { id: e.id, sample: 2, completion: 'no answer', tokens: 30 },
  ]);
  const r = await scoreTask(mathTask, ex, await readCompletions(jsonl('c.jsonl', rows)));
  t.is(r.problems, 4);
  t.is(r.samples, 3);
  t.deepEqual(r.perSample, [1, 0.5, 0]);
  t.is(r.passAt1, 0.5);
  t.true(Math.abs(r.passAt1Std - Math.sqrt((0.5 ** 2 * 2) / 2)) < 1e-12);
  t.is(r.meanTokens, 20);
  t.is(r.meanReward, (4 * 2 + 2 * 2 + 2 * -0.5 + 4 * -2) / 12);
  t.is(r.meanChars, rows.reduce((a, x) => a + x.completion.length, 0) / 12);
});

test('samples default to order of appearance; tokens are optional', async (t) => {
  const ex: MathExample[] = [{ id: 'a', problem: '', answer: '5' }];
  const r = await scoreTask(
    mathTask,
    ex,
    await readCompletions(
      jsonl('d.jsonl', [
        { id: 'a', completion: boxed('5') },
        { id: 'a', completion: boxed('6') },
      ]),
    ),
  );
  t.deepEqual(r.perSample, [1, 0]);
  t.is(r.meanTokens, null);
});

test('bad completion files are refused naming the line', async (t) => {
  const ex: MathExample[] = [
    { id: 'a', problem: '', answer: '5' },
    { id: 'b', problem: '', answer: '5' },
  ];
  await t.throwsAsync(
    async () => scoreTask(mathTask, ex, await readCompletions(jsonl('e1.jsonl', [{ id: 'zz', completion: 'x' }]))),
    { message: /e1\.jsonl:line 1: unknown problem id "zz"/ },
  );
  await t.throwsAsync(
    async () =>
      scoreTask(
        mathTask,
        ex,
        await readCompletions(
          jsonl('e2.jsonl', [
            { id: 'a', sample: 0, completion: 'x' },
            { id: 'a', sample: 0, completion: 'y' },
          ]),
        ),
      ),
    { message: /e2\.jsonl:line 2: duplicate sample 0 for problem "a"/ },
  );
  await t.throwsAsync(
    async () =>
      scoreTask(
        mathTask,
        ex,
        await readCompletions(
          jsonl('e3.jsonl', [
            { id: 'a', sample: 1, completion: 'x' },
            { id: 'b', sample: 0, completion: 'x' },
            { id: 'b', sample: 1, completion: 'x' },
          ]),
        ),
      ),
    { message: /problem "a" has no sample 0/ },
  );
  await t.throwsAsync(readCompletions(jsonl('e4.jsonl', [{ id: 'a' }])), {
    message: /e4\.jsonl:line 1: field "completion" must be a string/,
  });
  await t.throwsAsync(readCompletions(jsonl('e5.jsonl', [{ id: 'a', completion: '', sample: -1 }])), {
    message: /"sample" must be a non-negative integer/,
  });
});

test("MMLU-Pro physics: GPT-4o's responses score at least the accuracy of MMLU-Pro's own extraction", async (t) => {
  const b = BENCHMARKS['mmlu-pro'];
  const ex = await b.load(`${DATA}mmlu-pro/mmlu_pro_test_physics.jsonl`);
  const gpt: { question_id: number; answer: string; pred: string | null; response: string }[] = JSON.parse(
    readFileSync(`${DATA}mmlu-pro/gpt4o_physics_result.json`, 'utf8'),
  );
  const lines = await readCompletions(
    jsonl(
      'gpt4o.jsonl',
      gpt.map((g) => ({ id: String(g.question_id), completion: g.response })),
    ),
  );
  const r = await scoreTask(b.task({}), ex, lines);
  const theirs = gpt.filter((g) => g.pred === g.answer).length / gpt.length;
  t.log(
    `GPT-4o physics pass@1: ours ${(100 * r.passAt1).toFixed(2)}%, with MMLU-Pro's pred ${(100 * theirs).toFixed(2)}%`,
  );
  t.is(r.problems, 1299);
  t.true(r.passAt1 >= theirs && r.passAt1 - theirs < 0.02);
});

test('HumanEval and K&K score through the same path', async (t) => {
  const he = BENCHMARKS.humaneval;
  const problems = (await he.load(`${DATA}humaneval/HumanEval.jsonl.gz`)).slice(0, 3) as {
    id: string;
    prompt: string;
    canonical_solution: string;
  }[];
  const code = (p: (typeof problems)[number]) => `\`\`\`python\n${p.prompt}${p.canonical_solution}\`\`\``;
  const rows = problems.flatMap((p) => [
    { id: p.id, completion: code(p) },
    { id: p.id, completion: 'def nothing(): pass' },
  ]);
  const r = await scoreTask(
    he.task({ sandbox: new Sandbox({ workers: 2 }) }),
    problems,
    await readCompletions(jsonl('he.jsonl', rows)),
  );
  t.deepEqual(r.perSample, [1, 0]);

  const kk = BENCHMARKS.kk;
  const puzzles = (await kk.load(`${DATA}knights-and-knaves-logic-rl/3ppl/test.parquet`)) as {
    id: string;
    solution_text_format: string;
  }[];
  const kkRows = puzzles.map((p) => ({
    id: p.id,
    completion: `thinking</think>\n<answer>\n${p.solution_text_format}\n</answer>`,
  }));
  const k = await scoreTask(kk.task({}), puzzles, await readCompletions(jsonl('kk.jsonl', kkRows)));
  t.is(k.problems, 100);
  t.is(k.passAt1, 1);
  t.is(k.meanReward, 2);
});
