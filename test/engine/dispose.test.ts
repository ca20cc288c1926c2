// Model.dispose() and `await using`: the native model is dropped once the calls made before the
// dispose end (they finish normally), every later call is refused with an error saying so
// (never a crash, also straight through the binding), and disposing twice does nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { initModel, loadModel, type Model } from '../../lib/index.js';
import { packSequences } from '../../lib/engine/batch.js';

const SMALL = {
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};
const DISPOSED = /the model was disposed/;

const small = () => initModel({ preset: 'tiny', vocabSize: 61, seed: 1, overrides: SMALL });

test('calls made before dispose() finish; calls after it are refused, also in the binding', async (t) => {
  const model = await small();
  const trainer = model.trainer({ lr: 1e-3 });
  const batch = packSequences([{ ids: Int32Array.from([1, 2, 3, 4, 5]), tokenWeights: new Float32Array(5).fill(1) }]);
  const before = model.generate([[1, 2, 3]], { maxNewTokens: 16, temperature: 1, seed: 1 });
  const disposed = model.dispose();
  t.true(model.isDisposed);
  const g = await before; // queued before dispose: runs to the end
  t.is(g.tokens[0].length, 16);
  await disposed;

  await t.throwsAsync(model.generate([[1, 2, 3]], { maxNewTokens: 4 }), { message: DISPOSED });
  await t.throwsAsync(model.logprobs([[1, 2, 3]]), { message: DISPOSED });
  await t.throwsAsync(trainer.step(batch), { message: DISPOSED });
  await t.throwsAsync(trainer.update(), { message: DISPOSED });
  await t.throwsAsync(trainer.zeroGrad(), { message: DISPOSED });
  const dir = mkdtempSync(join(tmpdir(), 'ws-dispose-'));
  try {
    await t.throwsAsync(model.save(join(dir, 'm')), { message: DISPOSED });
    await t.throwsAsync(trainer.saveState(join(dir, 'opt')), { message: DISPOSED });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => model.numParams, { message: DISPOSED });
  t.throws(() => model.tensorNames(), { message: DISPOSED });
  t.throws(() => model.trainer({ lr: 1e-3 }), { message: DISPOSED });
  t.throws(() => trainer.stepCount, { message: DISPOSED });
  t.throws(() => trainer.pending, { message: DISPOSED });
  // the binding itself refuses (an Error, not a crash) every method of a disposed model
  const n = model.native;
  const tok = Int32Array.from([1, 2, 3]);
  const pos = Int32Array.from([0, 1, 2]);
  const cu = Int32Array.from([0, 3]);
  const calls: [string, () => unknown][] = [
    ['numParams', () => n.numParams()],
    ['tensorNames', () => n.tensorNames()],
    ['stepCount', () => n.stepCount()],
    ['pendingMicroBatches', () => n.pendingMicroBatches()],
    ['logprobs', () => n.logprobs(tok, pos, cu, 1)],
    ['accumulate', () => n.accumulate(tok, pos, cu, {})],
    ['generate', () => n.generate(tok, pos, cu, { maxNewTokens: 2, temperature: 1, topK: 0, topP: 1, seed: 0 })],
    ['zeroGrad', () => n.zeroGrad()],
    ['arenaBytes', () => n.arenaBytes()],
    ['initRandom', () => n.initRandom(0, 0.02)],
    ['load', () => n.load('/nonexistent')],
    ['saveOptimizer', () => n.saveOptimizer('/tmp/x')],
  ];
  for (const [name, f] of calls) t.throws(f, { message: DISPOSED }, name);
  await model.dispose(); // again: nothing
  n.dispose();
  t.pass();
});

test('`await using` disposes the model at the end of its block, after the calls in it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-dispose-'));
  try {
    await initModel({ preset: 'tiny', vocabSize: 61, seed: 2, overrides: SMALL, out: join(dir, 'm') });
    let kept: Model | undefined;
    let pending: Promise<{ tokens: Int32Array[] }> | undefined;
    {
      await using model = await loadModel(join(dir, 'm'));
      kept = model;
      // not awaited in the block: its end waits for the call before freeing the model
      pending = model.generate([[4, 5]], { maxNewTokens: 8, seed: 3 });
    }
    t.true(kept.isDisposed);
    t.is((await pending).tokens[0].length, 8);
    await t.throwsAsync(kept.logprobs([[1, 2]]), { message: DISPOSED });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
