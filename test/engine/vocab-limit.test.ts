// A model whose vocabulary is larger than its tokenizer's (every Qwen2.5: 151936 embedding rows,
// 151665 tokens; here trainBpe({vocabSize: 1024}) on the published K&K puzzles, which has fewer
// tokens than 1024): generate() with vocabLimit never samples an id without a token, decoding
// such an id is refused with a RangeError, and grpo, evaluate and serve run to the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { trainBpe } from '../../lib/data/bpe.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { initModel } from '../../lib/engine/init.js';
import { loadModel } from '../../lib/engine/model.js';
import { evaluate } from '../../lib/eval/evaluate.js';
import { buildPrompt, loadPuzzles, symbolicTrace } from '../../lib/kk/index.js';
import { kkTask } from '../../lib/tasks/kk-task.js';
import { startServer } from '../../lib/serve/server.js';
import { GRPO_PAPER, grpo } from '../../lib/train/grpo.js';
import { KK_3PPL_TEST } from '../serve/fixture.js';
import { post } from '../serve/http.js';

const MODEL_VOCAB = 1024;
let tmp: string;
let dir: string;
let tokenizer: Tokenizer;
let prompts: string[];
let examples: { id: string; prompt: string; example: Awaited<ReturnType<typeof loadPuzzles>>[number] }[];

test.before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ws-vocab-limit-'));
  const puzzles = (await loadPuzzles(KK_3PPL_TEST)).slice(0, 30);
  const texts = puzzles.flatMap((p) => [buildPrompt(p), symbolicTrace(p, { verbosity: 'terse' })]);
  trainBpe(texts, { vocabSize: MODEL_VOCAB, out: join(tmp, 'tokenizer') });
  tokenizer = Tokenizer.load(join(tmp, 'tokenizer'));
  dir = join(tmp, 'model');
  await initModel({
    preset: 'tiny',
    vocabSize: MODEL_VOCAB,
    seed: 3,
    out: dir,
    tokenizerFrom: join(tmp, 'tokenizer'),
    eosTokenId: tokenizer.eosTokenId,
    overrides: { num_hidden_layers: 2 },
  });
  prompts = puzzles.slice(0, 4).map((p) => buildPrompt(p));
  examples = puzzles.slice(0, 4).map((p, i) => ({ id: `kk${i}`, prompt: buildPrompt(p), example: p }));
});

test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test('the tokenizer is smaller than the model vocabulary', (t) => {
  t.true(tokenizer.vocabSize < MODEL_VOCAB, `tokenizer ${tokenizer.vocabSize}`);
  t.true(tokenizer.vocabSize > 256);
});

test('generate with vocabLimit never samples an id at or above it; without, a random model does', async (t) => {
  const model = await loadModel(dir);
  const ids = prompts.map((p) => Array.from(tokenizer.encode(p)));
  const opts = { maxNewTokens: 48, temperature: 1, seed: 5 };
  const free = await model.generate(ids, opts);
  const over = free.tokens.flatMap((s) => Array.from(s)).filter((id) => id >= tokenizer.vocabSize);
  t.true(over.length > 0, 'a random model samples padding ids without the limit');
  // decoding such an id is refused, naming the position
  const bad = free.tokens.find((s) => s.some((id) => id >= tokenizer.vocabSize))!;
  t.throws(() => tokenizer.decode(bad), { instanceOf: RangeError, message: /is not a token id below \d+/ });

  for (const topK of [0, 20]) {
    const limited = await model.generate(ids, { ...opts, topK, topP: topK ? 0.9 : 1, vocabLimit: tokenizer.vocabSize });
    const all = limited.tokens.flatMap((s) => Array.from(s));
    t.is(all.length, ids.length * 48);
    t.true(
      all.every((id) => id < tokenizer.vocabSize),
      `topK ${topK}`,
    );
    // the logprobs are over the whole vocabulary: what the trainer recomputes
    const seqs = ids.map((p, i) => [...p, ...limited.tokens[i]]);
    const lp = await model.logprobs(seqs);
    for (let i = 0; i < ids.length; i++)
      for (let k = 0; k < limited.tokens[i].length; k++)
        t.true(Math.abs(lp[i][ids[i].length - 1 + k] - limited.logprobs[i][k]) < 1e-3);
  }
  await t.throwsAsync(model.generate(ids, { ...opts, vocabLimit: MODEL_VOCAB + 1 }), {
    instanceOf: RangeError,
    message: /vocabLimit must be in \[1, 1024\]/,
  });
});

test('grpo and evaluate run to the end on a model with padding rows', async (t) => {
  const model = await loadModel(dir);
  const r = await grpo({
    model,
    tokenizer,
    task: kkTask(),
    examples,
    runDir: join(tmp, 'run'),
    config: { ...GRPO_PAPER, steps: 2, promptsPerStep: 2, generations: 4, maxCompletionLength: 24, warmupSteps: 0 },
  });
  t.is(r.steps, 2);
  const e = await evaluate({
    model,
    tokenizer,
    task: kkTask(),
    examples,
    config: { samples: 2, temperature: 1, topP: 1, topK: 0, maxNewTokens: 24, batchSize: 8, seed: 0 },
  });
  t.is(e.samples, 2);
});

test('serve answers completions from a model with padding rows', async (t) => {
  const model = await loadModel(dir);
  const server = await startServer(model, tokenizer, { port: 0, maxTokens: 64 });
  try {
    const r = await post(`${server.url}/v1/completions`, {
      model: 'model',
      prompt: prompts[0],
      n: 4,
      max_tokens: 40,
      temperature: 1,
      seed: 1,
    });
    t.is(r.status, 200, r.text);
    t.is(r.json.choices.length, 4);
  } finally {
    await server.close({ graceMs: 1000 });
  }
});
