// grpo(): the KL reference must sit on the policy's device, and 'auto' micro-batches hold at
// least a whole prompt + completion (the longest sequence a step can train on).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { loadModel, Model } from '../../lib/engine/model.js';
import { GRPO_PAPER, grpo } from '../../lib/train/grpo.js';
import type { RewardTask } from '../../lib/train/tasks.js';
import { tinyKK, type TinyKK } from './helpers.js';

const letterA: RewardTask<null> = {
  name: 'letter-a',
  reward: (c) => Math.min(5, (c.match(/a/g) ?? []).length),
  correct: (c) => (c.match(/a/g) ?? []).length >= 3,
};
const examples = ['a knight', 'a knave', 'say a', 'alas'].map((prompt, i) => ({ id: `p${i}`, prompt, example: null }));
const config = { ...GRPO_PAPER, steps: 1, promptsPerStep: 2, generations: 2, maxCompletionLength: 8, warmupSteps: 0 };

let kk: TinyKK;
test.before(async () => { kk = await tinyKK(join(mkdtempSync(join(tmpdir(), 'ws-grpo-')), 'model'), 20); });

test('a reference on another device than the policy is refused before anything is written', async (t) => {
  const policy = await loadModel(kk.dir);
  const cpuRef = await loadModel(kk.dir);
  // a model that says it is on CUDA (its arithmetic is the CPU's: only the label matters here)
  const cudaRef = new Model(cpuRef.config, cpuRef.native, cpuRef.dir, 'cuda');
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
  await t.throwsAsync(grpo({ model: policy, reference: cudaRef, tokenizer: kk.tokenizer, task: letterA, examples, runDir, config: { ...config, beta: 0.1 } }),
    { instanceOf: RangeError, message: "grpo: the reference model is on 'cuda' and the policy on 'cpu'; load both on the same device" });
  t.throws(() => readFileSync(join(runDir, 'config.json')));
  const r = await grpo({ model: policy, reference: cpuRef, tokenizer: kk.tokenizer, task: letterA, examples, runDir, config: { ...config, beta: 0.1 } });
  t.is(r.steps, 1);
});

test("'auto' is raised to the longest prompt + maxCompletionLength when that is above the cap", async (t) => {
  // maxCompletionLength far beyond what the capped auto size (16384) holds
  const maxCompletionLength = 20000;
  const longestPrompt = Math.max(...examples.map((e) => kk.tokenizer.encode(e.prompt).length));
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
  const logs: string[] = [];
  await grpo({
    model: await loadModel(kk.dir), tokenizer: kk.tokenizer, task: letterA, examples, runDir, onLog: (m) => logs.push(m),
    // one step stopped before it starts: the run is set up (and its config recorded), nothing sampled
    signal: AbortSignal.abort(), config: { ...config, maxCompletionLength },
  });
  const recorded = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { microBatchTokens: number };
  t.is(recorded.microBatchTokens, longestPrompt + maxCompletionLength);
  t.regex(logs.join('\n'), new RegExp(`grpo: ${longestPrompt + maxCompletionLength} tokens per micro-batch \\(auto: the longest sequence, above the cap`));
});
