// loadModel's progress reports and AbortSignal, and loadWeights into a model that holds weights:
// a model of more than one load chunk (~64 MiB of parameters), saved by the engine itself.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { initModel, loadModel, type LoadProgress } from '../../lib/index.js';

// 2 × 151936 × 64 untied embedding and head ≈ 19.5M parameters: two chunks in f32 and in bf16.
const BIG = {
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
};
const root = mkdtempSync(join(tmpdir(), 'ws-load-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const saved = (async () => {
  const m = await initModel({ preset: 'tiny', vocabSize: 151936, seed: 3, std: 0.5, overrides: BIG });
  await m.save(join(root, 'f32'));
  await m.save(join(root, 'bf16'), { dtype: 'bf16', maxShardBytes: 30_000_000 });
  return { m, params: m.numParams };
})();

const seq = [[1, 5, 151935, 7, 42, 99]];

test('progress rises to the bytes of tensor data, in f32 and in sharded bf16', async (t) => {
  const { m, params } = await saved;
  for (const [dir, bytes] of [
    ['f32', 4],
    ['bf16', 2],
  ] as const) {
    const seen: LoadProgress[] = [];
    const back = await loadModel(join(root, dir), { onProgress: (p) => seen.push(p) });
    t.true(seen.length >= 2, `${dir}: ${seen.length} reports`);
    for (let i = 1; i < seen.length; i++) t.true(seen[i].loadedBytes > seen[i - 1].loadedBytes);
    t.true(seen.every((p) => p.totalBytes === params * bytes));
    t.is(seen[seen.length - 1].loadedBytes, params * bytes);
    if (dir === 'f32') t.deepEqual(await back.logprobs(seq), await m.logprobs(seq));
  }
});

test('an aborted signal stops the load with its reason; a throwing onProgress rejects with its error', async (t) => {
  await saved;
  const dir = join(root, 'f32');
  const before = new AbortController();
  before.abort(new Error('not wanted'));
  await t.throwsAsync(loadModel(dir, { signal: before.signal }), { message: 'not wanted' });

  const ac = new AbortController();
  const seen: number[] = [];
  const err = await loadModel(dir, {
    signal: ac.signal,
    onProgress: (p) => {
      seen.push(p.loadedBytes);
      ac.abort();
    },
  }).then(
    () => null,
    (e: unknown) => e as { name?: string },
  );
  t.is(err?.name, 'AbortError');
  t.true(seen.length >= 1 && seen[seen.length - 1] < (await saved).params * 4, 'stopped before the end');

  await t.throwsAsync(
    loadModel(dir, {
      onProgress: () => {
        throw new Error('progress bar broke');
      },
    }),
    { message: 'progress bar broke' },
  );
  await t.throwsAsync(loadModel(dir, { signal: 'stop' as unknown as AbortSignal }), { instanceOf: TypeError });
});

test('loadWeights replaces the weights of a loaded model only when every tensor was read', async (t) => {
  const { m } = await saved;
  const other = await initModel({ preset: 'tiny', vocabSize: 151936, seed: 4, std: 0.5, overrides: BIG });
  const before = await other.logprobs(seq);
  await t.throwsAsync(other.loadWeights(join(root, 'nowhere')));
  t.deepEqual(await other.logprobs(seq), before);
  await other.loadWeights(join(root, 'f32'));
  t.deepEqual(await other.logprobs(seq), await m.logprobs(seq));
});
