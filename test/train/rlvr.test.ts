// A K&K RLVR run on a tiny model raises the mean reward, as its metrics file shows. To stay well
// under a minute on 2 cores the tiny model is first warmed up briefly (3 epochs) on answers
// alone ("</think> <answer> (1) Aria is a knight ... </answer>", no reasoning), which leaves
// it passing the format gate often but not always and guessing roles; Dr. GRPO on held-out
// puzzles then has rewards to climb. Puzzles use two fixed names so that copying names is not
// what a model this small has to learn first.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { trainBpe } from '../../lib/data/bpe.js';
import { tokenizeSft } from '../../lib/data/sft-examples.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { DEMO_TEMPLATE } from '../../lib/demo.js';
import { initModel } from '../../lib/engine/init.js';
import { loadModel } from '../../lib/engine/model.js';
import { generatePuzzles } from '../../lib/kk/generate.js';
import { buildPrompt, formatAnswer } from '../../lib/kk/prompt.js';
import { GRPO_PAPER, grpo } from '../../lib/train/grpo.js';
import { readMetrics } from '../../lib/train/metrics.js';
import { SFT_PAPER, sft } from '../../lib/train/sft.js';
import { kkExamples, kkTask } from '../../lib/tasks/kk-task.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const NAMES = ['Aria', 'Ben'];

test('Dr. GRPO on K&K raises the mean reward of a briefly warmed-up tiny model', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-rlvr-'));
  const puzzles = generatePuzzles({ people: 2, count: 300, seed: 0, names: NAMES });
  const pairs = puzzles.map((p) => ({
    prompt: buildPrompt(p, { template: DEMO_TEMPLATE }),
    completion: `\n</think>\n${formatAnswer(p)}`,
  }));
  trainBpe(
    pairs.flatMap((p) => [p.prompt, p.completion]),
    { vocabSize: 512, out: join(dir, 'tokenizer') },
  );
  const tokenizer = Tokenizer.load(join(dir, 'tokenizer'));
  await initModel({
    preset: 'tiny',
    vocabSize: tokenizer.vocabSize,
    seed: 0,
    out: join(dir, 'base'),
    tokenizerFrom: join(dir, 'tokenizer'),
    eosTokenId: tokenizer.eosTokenId,
    overrides: { num_hidden_layers: 2 },
  });
  const { examples } = tokenizeSft(tokenizer, pairs, { maxLength: 512, overflow: 'drop' });
  const warm = await sft({
    model: await loadModel(join(dir, 'base')),
    examples,
    runDir: join(dir, 'sft'),
    config: {
      ...SFT_PAPER,
      epochs: 3,
      lr: 5e-3,
      warmupSteps: 3,
      maxGradNorm: 1,
      microBatchTokens: 2048,
      gradAccum: 1,
      valExamples: 10,
      evalEvery: 0,
      saveEvery: 0,
    },
  });

  const heldOut = generatePuzzles({ people: 2, count: 40, seed: 99, exclude: puzzles, names: NAMES });
  const runDir = join(dir, 'grpo');
  await grpo({
    model: warm.model,
    tokenizer,
    task: kkTask('paper'),
    examples: kkExamples(heldOut, DEMO_TEMPLATE),
    runDir,
    config: {
      ...GRPO_PAPER,
      steps: 30,
      promptsPerStep: 4,
      generations: 8,
      maxCompletionLength: 48,
      temperature: 1,
      lr: 3e-3,
      warmupSteps: 2,
      maxGradNorm: 1,
      weightDecay: 0,
      saveEvery: 0,
      seed: 1,
    },
  });
  const m = readMetrics(runDir);
  t.is(m.length, 30);
  const first = mean(m.slice(0, 4).map((r) => r.reward_mean as number));
  const last = mean(m.slice(-8).map((r) => r.reward_mean as number));
  t.log(
    `mean reward in ${join(runDir, 'metrics.jsonl')}: first 4 steps ${first.toFixed(3)}, last 8 steps ${last.toFixed(3)}`,
  );
  t.true(last > first + 0.25, `reward did not rise: ${first.toFixed(3)} -> ${last.toFixed(3)}`);
});
