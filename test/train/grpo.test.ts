// grpo(): the KL reference must sit on the policy's device, 'auto' micro-batches hold at least a
// whole prompt + completion (the longest sequence a step can train on), and sampling in pieces
// (generationBatch) gives the same run as sampling a step's completions in one call.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { presetConfig } from '../../lib/engine/init.js';
import { kvCacheBytesPerToken } from '../../lib/engine/memory.js';
import { loadModel, Model } from '../../lib/engine/model.js';
import { completionLimit, GRPO_PAPER, grpo, grpoSteps } from '../../lib/train/grpo.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { generationBytesPerSequence, resolveGenerationBatch } from '../../lib/train/micro-batch.js';
import type { RewardTask } from '../../lib/tasks/task.js';
import { tinyKK, type TinyKK } from './helpers.js';

const letterA: RewardTask<null> = {
  name: 'letter-a',
  reward: (c) => Math.min(5, (c.match(/a/g) ?? []).length),
  correct: (c) => (c.match(/a/g) ?? []).length >= 3,
};
const examples = ['a knight', 'a knave', 'say a', 'alas'].map((prompt, i) => ({ id: `p${i}`, prompt, example: null }));
const config = { ...GRPO_PAPER, steps: 1, promptsPerStep: 2, generations: 2, maxCompletionLength: 8, warmupSteps: 0 };

let kk: TinyKK;
test.before(async () => {
  kk = await tinyKK(join(mkdtempSync(join(tmpdir(), 'ws-grpo-')), 'model'), 20);
});

test('a reference on another device than the policy is refused before anything is written', async (t) => {
  const policy = await loadModel(kk.dir);
  const cpuRef = await loadModel(kk.dir);
  // a model that says it is on CUDA (its arithmetic is the CPU's: only the label matters here)
  const cudaRef = new Model(cpuRef.config, cpuRef.native, cpuRef.dir, 'cuda');
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
  await t.throwsAsync(
    grpo({
      model: policy,
      reference: cudaRef,
      tokenizer: kk.tokenizer,
      task: letterA,
      examples,
      runDir,
      config: { ...config, beta: 0.1 },
    }),
    {
      instanceOf: RangeError,
      message: "grpo: the reference model is on 'cuda' and the policy on 'cpu'; load both on the same device",
    },
  );
  t.throws(() => readFileSync(join(runDir, 'config.json')));
  const r = await grpo({
    model: policy,
    reference: cpuRef,
    tokenizer: kk.tokenizer,
    task: letterA,
    examples,
    runDir,
    config: { ...config, beta: 0.1 },
  });
  t.is(r.steps, 1);
});

test("'auto' is raised to the longest prompt + maxCompletionLength when that is above the cap", async (t) => {
  // maxCompletionLength far beyond what the capped auto size (16384) holds
  const maxCompletionLength = 20000;
  const longestPrompt = Math.max(...examples.map((e) => kk.tokenizer.encode(e.prompt).length));
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
  const logs: string[] = [];
  await grpo({
    model: await loadModel(kk.dir),
    tokenizer: kk.tokenizer,
    task: letterA,
    examples,
    runDir,
    onLog: (m) => logs.push(m),
    // one step stopped before it starts: the run is set up (and its config recorded), nothing sampled
    signal: AbortSignal.abort(),
    config: { ...config, maxCompletionLength, maxModelLength: 0 },
  });
  const recorded = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { microBatchTokens: number };
  t.is(recorded.microBatchTokens, longestPrompt + maxCompletionLength);
  t.regex(
    logs.join('\n'),
    new RegExp(
      `grpo: ${longestPrompt + maxCompletionLength} tokens per micro-batch \\(auto: the longest sequence, above the cap`,
    ),
  );
});

test('generationBatch: sampling a step in pieces gives the same completions, metrics and weights', async (t) => {
  const timing = new Set(['gen_tokens_per_s', 'train_tokens_per_s']);
  const run = async (generationBatch: number | 'auto') => {
    const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
    const logs: string[] = [];
    const r = await grpo({
      model: await loadModel(kk.dir),
      tokenizer: kk.tokenizer,
      task: letterA,
      examples,
      runDir,
      onLog: (m) => logs.push(m),
      config: {
        ...config,
        steps: 3,
        promptsPerStep: 2,
        generations: 4,
        maxCompletionLength: 12,
        lr: 1e-3,
        maxGradNorm: 1,
        generationBatch,
      },
    });
    const metrics = readMetrics(runDir).map((m) =>
      Object.fromEntries(Object.entries(m).filter(([k]) => !timing.has(k))),
    );
    const probe = await r.model.logprobs([[1, 2, 3, 4, 5, 6]]);
    return { metrics, probe: Array.from(probe[0]), logs: logs.join('\n') };
  };
  const whole = await run('auto');
  const pieces = await run(3);
  t.regex(whole.logs, /grpo: 8 of 8 sequences per generation call \(auto:/);
  t.regex(pieces.logs, /grpo: 3 sequences per generation call/);
  t.deepEqual(pieces.metrics, whole.metrics);
  t.deepEqual(pieces.probe, whole.probe);
});

test("'auto' generation batch: as many sequences as half the budget holds, at least one, at most all", (t) => {
  const q05 = presetConfig('qwen2.5-0.5b');
  // The engine's measure: 24 layers × (k, v) × 2 KV heads × 64 × 4 bytes = 24,576 bytes per
  // cached token (bf16 on CUDA: half), plus the fp32 logits row and one decoding step's activations.
  t.is(kvCacheBytesPerToken(q05, 'cpu'), 24576);
  t.is(kvCacheBytesPerToken(q05, 'cuda'), 12288);
  for (const [device, kv] of [
    ['cpu', 24576],
    ['cuda', 12288],
  ] as const) {
    const perSeq = generationBytesPerSequence(q05, device, 4396);
    t.true(perSeq > 4396 * kv + 4 * 151936, `${device}: ${perSeq}`);
    t.true(perSeq < 4396 * kv + 4 * 151936 + 2 ** 20, `${device}: ${perSeq}`);
  }
  const GiB = 2 ** 30;
  const r = resolveGenerationBatch('auto', {
    config: q05,
    device: 'cpu',
    maxLen: 4396,
    total: 100,
    budgetBytes: 8 * GiB,
  });
  t.is(r.sequences, 39);
  t.is(r.sequences, Math.floor((4 * GiB) / generationBytesPerSequence(q05, 'cpu', 4396)));
  t.true(r.sequences * generationBytesPerSequence(q05, 'cpu', 4396) <= 4 * GiB);
  t.is(
    resolveGenerationBatch('auto', { config: q05, device: 'cpu', maxLen: 4396, total: 100, budgetBytes: 1e6 })
      .sequences,
    1,
  );
  t.is(
    resolveGenerationBatch('auto', { config: q05, device: 'cpu', maxLen: 100, total: 100, budgetBytes: 8 * GiB })
      .sequences,
    100,
  );
  t.is(resolveGenerationBatch(7, { config: q05, device: 'cpu', maxLen: 100, total: 5 }).sequences, 5);
});

test('the paper preset: 6 prompts x 10, steps from 25 epochs, prompts of at most 256 tokens, 4096-token model length', async (t) => {
  t.is(GRPO_PAPER.promptsPerStep * GRPO_PAPER.generations, 60);
  t.is(grpoSteps(GRPO_PAPER, 100), 417); // ceil(25 x 100 / 6)
  t.is(completionLimit(GRPO_PAPER, 200), 3896);
  t.is(completionLimit({ ...GRPO_PAPER, maxModelLength: 0 }, 200), 8192);
  // a prompt over maxPromptLength is left out, logged; the steps follow the examples kept
  const long = { id: 'long', prompt: 'a knight '.repeat(40), example: null };
  t.true(kk.tokenizer.encode(long.prompt).length > 20);
  const runDir = join(mkdtempSync(join(tmpdir(), 'ws-grpo-run-')), 'run');
  const logs: string[] = [];
  await grpo({
    model: await loadModel(kk.dir),
    tokenizer: kk.tokenizer,
    task: letterA,
    examples: [...examples, long],
    runDir,
    onLog: (m) => logs.push(m),
    signal: AbortSignal.abort(),
    config: {
      ...GRPO_PAPER,
      maxPromptLength: 20,
      maxModelLength: 40,
      maxCompletionLength: 30,
      epochs: 3,
      promptsPerStep: 2,
    },
  });
  t.true(logs.includes('grpo: 1 of 5 examples left out: prompts longer than 20 tokens'));
  t.true(logs.includes('grpo: 6 steps (3 epochs of 4 examples, 2 per step)'));
  const recorded = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.is(recorded.steps, 6);
  t.is(recorded.examples, 4);
  t.is(recorded.gradientCheckpointing, true);
  await t.throwsAsync(
    grpo({
      model: await loadModel(kk.dir),
      tokenizer: kk.tokenizer,
      task: letterA,
      examples: [long],
      runDir,
      config: { ...GRPO_PAPER, maxPromptLength: 20 },
    }),
    { message: 'grpo: every prompt is longer than maxPromptLength 20 tokens' },
  );
});
