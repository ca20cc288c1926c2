// grpo() with held-out evaluation: cross-domain pass@1 lines (K&K, MATH-500, MMLU-Pro, HumanEval
// on small held-out slices of ../shared/data) in metrics.jsonl at step 0, every evalEvery steps and
// at the end; --stop-when plateau stopping a run whose held-out reward stops improving, at the
// step the criterion fires, logged and recorded, and a resumed stopped run staying stopped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { loadModel } from '../../lib/engine/model.js';
import { loadRlTask } from '../../lib/tasks/load.js';
import type { RewardTask } from '../../lib/tasks/task.js';
import { GRPO_PAPER, grpo, type HeldOutSet } from '../../lib/train/grpo.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { curvesSpec } from '../../lib/train/plot.js';
import { tinyKK, type TinyKK } from './helpers.js';

const DATA = '../shared/data';
const HELD_OUT_DATA: Record<string, string> = {
  kk: `${DATA}/knights-and-knaves-logic-rl/3ppl/test.parquet`,
  math500: `${DATA}/math500/math500.jsonl`,
  'mmlu-pro': `${DATA}/mmlu-pro/mmlu_pro_test_physics.jsonl`,
  humaneval: `${DATA}/humaneval/HumanEval.jsonl.gz`,
};

const letterA: RewardTask<null> = {
  name: 'letter-a',
  reward: (c) => Math.min(5, (c.match(/a/g) ?? []).length),
  correct: (c) => (c.match(/a/g) ?? []).length >= 3,
};
const examples = ['a knight', 'a knave', 'say a', 'alas'].map((prompt, i) => ({ id: `p${i}`, prompt, example: null }));
const config = {
  ...GRPO_PAPER,
  steps: 3,
  promptsPerStep: 2,
  generations: 2,
  maxCompletionLength: 8,
  warmupSteps: 0,
  lr: 1e-3,
  saveEvery: 0,
};

let kk: TinyKK;
test.before(async () => {
  kk = await tinyKK(join(mkdtempSync(join(tmpdir(), 'ws-grpo-eval-')), 'model'), 20);
});

test('held-out pass@1 of every domain is logged at step 0, every evalEvery steps and at the end', async (t) => {
  const heldOut: HeldOutSet[] = [];
  for (const name of ['kk', 'math500', 'mmlu-pro', 'humaneval']) {
    const { task, examples: ex } = await loadRlTask(name, {
      data: HELD_OUT_DATA[name],
      limit: 2,
      seed: 0,
      split: 'eval',
    });
    heldOut.push({ name, task, examples: ex });
  }
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-eval-run-')), 'run');
  const logs: string[] = [];
  const r = await grpo({
    model: await loadModel(kk.dir),
    tokenizer: kk.tokenizer,
    task: letterA,
    examples,
    runDir,
    heldOut,
    config: { ...config, evalEvery: 2, evalSamples: 2 },
    onLog: (m) => logs.push(m),
  });
  t.is(r.steps, 3);
  t.is(r.stoppedBy, null);
  const evals = readMetrics(runDir).filter((m) => 'eval_kk_pass1' in m);
  t.deepEqual(
    evals.map((m) => m.step),
    [0, 2, 3],
  );
  for (const m of evals)
    for (const name of ['kk', 'math500', 'mmlu-pro', 'humaneval']) {
      const p = m[`eval_${name}_pass1`] as number;
      t.true(p >= 0 && p <= 1, `${name} pass@1 ${p}`);
      t.is(typeof m[`eval_${name}_pass1_std`], 'number');
      t.is(typeof m[`eval_${name}_reward`], 'number');
      const len = m[`eval_${name}_len`] as number;
      t.true(len >= 1 && len <= config.maxCompletionLength, `${name} length ${len}`);
    }
  // a random tiny model fails every format gate: the paper's reward floors (K&K -2, the others -1 or less)
  t.true((evals[0].eval_kk_reward as number) < 0);
  // the same seed at every round: before training and after, the same prompts and streams
  t.true(logs.some((l) => /held-out at step 2: kk pass@1 .*humaneval pass@1/.test(l)));
  // `warmstart plot` draws a held-out panel per set
  const spec = curvesSpec([{ run: 'r', records: readMetrics(runDir) }]) as unknown as { facet: { sort: string[] } };
  t.deepEqual(
    spec.facet.sort.filter((s) => s.startsWith('held-out')),
    ['held-out kk pass@1', 'held-out math500 pass@1', 'held-out mmlu-pro pass@1', 'held-out humaneval pass@1'],
  );
  const cfg = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.is(cfg.evalEvery, 2);
  t.deepEqual(
    (cfg.heldOut as { name: string; problems: number }[]).map((h) => [h.name, h.problems]),
    [
      ['kk', 2],
      ['math500', 2],
      ['mmlu-pro', 2],
      ['humaneval', 2],
    ],
  );
});

test('stop when plateau: the run stops at the evaluation the criterion fires on, and stays stopped', async (t) => {
  // a held-out reward that never rises: best at step 0, then 2 evaluations without a rise
  const flat: HeldOutSet = {
    name: 'flat',
    task: { name: 'flat', reward: () => 0.5, correct: () => false },
    examples: examples.slice(0, 2),
  };
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-plateau-')), 'run');
  const logs: string[] = [];
  const c = {
    ...config,
    steps: 10,
    evalEvery: 1,
    stopWhen: 'plateau' as const,
    plateauWindow: 1,
    plateauPatience: 2,
    plateauMinDelta: 0,
  };
  const r = await grpo({
    model: await loadModel(kk.dir),
    tokenizer: kk.tokenizer,
    task: letterA,
    examples,
    runDir,
    heldOut: [flat],
    config: c,
    onLog: (m) => logs.push(m),
  });
  t.is(r.stoppedBy, 'plateau');
  t.is(r.steps, 2);
  t.false(r.aborted);
  const metrics = readMetrics(runDir);
  t.deepEqual(
    metrics.filter((m) => 'eval_flat_reward' in m).map((m) => m.step),
    [0, 1, 2],
  );
  t.is(metrics.filter((m) => 'loss' in m).length, 2);
  const stop = metrics.find((m) => m.stopped === 'plateau');
  t.truthy(stop);
  t.is(stop!.step, 2);
  t.is(stop!.plateau_best_step, 0);
  t.regex(stop!.criterion as string, /mean of eval_flat_reward over the last 1 evaluation .* for 2 evaluations/);
  t.true(logs.some((l) => l.startsWith('grpo: plateau at step 2:')));
  const cfg = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.is(cfg.stopWhen, 'plateau');
  t.is(cfg.plateauWindow, 1);
  t.is(cfg.plateauPatience, 2);
  t.regex(cfg.stopCriterion as string, /eval_flat_reward/);
  // resumed: the replayed series has fired already, so no step runs and nothing is appended
  const again = await grpo({
    model: await loadModel(kk.dir),
    tokenizer: kk.tokenizer,
    task: letterA,
    examples,
    runDir,
    heldOut: [flat],
    config: c,
    resume: true,
  });
  t.is(again.steps, 2);
  t.is(again.stoppedBy, 'plateau');
  t.is(readMetrics(runDir).length, metrics.length);
  // a plateau criterion without evaluations is refused up front
  await t.throwsAsync(
    grpo({
      model: await loadModel(kk.dir),
      tokenizer: kk.tokenizer,
      task: letterA,
      examples,
      runDir: join(runDir, 'x'),
      config: { ...c, evalEvery: 0 },
    }),
    { message: /stopWhen plateau needs held-out evaluations/ },
  );
});
