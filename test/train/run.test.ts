// startRun(): a resumed run reads the checkpoint's weights and optimizer state into the model it
// was given (so it stays on that model's device and holds one copy of the weights).
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { packSequences } from '../../lib/data/batch.js';
import { initModel } from '../../lib/engine/init.js';
import { loadModel } from '../../lib/engine/model.js';
import { saveCheckpoint } from '../../lib/train/checkpoint.js';
import { appendMetrics } from '../../lib/train/metrics.js';
import { startRun } from '../../lib/train/run.js';

const TRAIN = { lr: 1e-2, betas: [0.9, 0.99] as [number, number], weightDecay: 0, maxGradNorm: 0 };
const seq = (ids: number[]) => ({ ids: Int32Array.from(ids), tokenWeights: new Float32Array(ids.length).fill(1, 1) });
const batch = packSequences([seq([1, 5, 9, 2, 7, 7]), seq([3, 4, 11])]);

test('resume reads the checkpoint into the given model, with its optimizer step and metrics cut back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-run-'));
  const base = join(dir, 'base');
  await initModel({ preset: 'tiny', vocabSize: 48, seed: 1, out: base, overrides: { num_hidden_layers: 2 } });
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  const log: string[] = [];
  const fresh = await startRun({
    runDir,
    resume: false,
    model: await loadModel(base),
    optimizer: TRAIN,
    differs: () => null,
    log: (l) => log.push(l),
  });
  t.is(fresh.start, 0);
  // three steps, a checkpoint at step 2
  for (let s = 1; s <= 3; s++) {
    await fresh.trainer.step(batch);
    appendMetrics(runDir, { step: s, loss: s });
    if (s === 2)
      await saveCheckpoint(
        runDir,
        2,
        { seed: 0 },
        { model: (d) => fresh.model.save(d), optimizer: (d) => fresh.trainer.saveState(d) },
      );
  }
  const atCheckpoint = await loadModel(join(runDir, 'checkpoint-2', 'model'));
  const expected = await atCheckpoint.batchLogprobs(batch);

  const model = await loadModel(base);
  const before = await model.batchLogprobs(batch);
  const r = await startRun({
    runDir,
    resume: true,
    model,
    optimizer: TRAIN,
    differs: () => null,
    log: (l) => log.push(l),
  });
  t.is(r.model, model, 'the same model object, so the same device');
  t.is(r.start, 2);
  t.is(r.trainer.stepCount, 2);
  t.deepEqual(Array.from(await model.batchLogprobs(batch)), Array.from(expected));
  t.notDeepEqual(Array.from(expected), Array.from(before));
  t.is(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
  t.regex(log.join('\n'), /resumed from .*checkpoint-2 at step 2/);
});

test('resume refuses a checkpoint of another run, and one of another model shape, naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-run-'));
  await initModel({ preset: 'tiny', vocabSize: 48, seed: 1, out: join(dir, 'a'), overrides: { num_hidden_layers: 2 } });
  await initModel({ preset: 'tiny', vocabSize: 48, seed: 1, out: join(dir, 'b'), overrides: { num_hidden_layers: 3 } });
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  const a = await startRun({
    runDir,
    resume: false,
    model: await loadModel(join(dir, 'a')),
    optimizer: TRAIN,
    differs: () => null,
    log: () => {},
  });
  await saveCheckpoint(
    runDir,
    1,
    { seed: 7 },
    { model: (d) => a.model.save(d), optimizer: (d) => a.trainer.saveState(d) },
  );
  await t.throwsAsync(
    startRun<{ seed: number }>({
      runDir,
      resume: true,
      model: await loadModel(join(dir, 'a')),
      optimizer: TRAIN,
      log: () => {},
      differs: (st) => (st.seed !== 8 ? `seed ${st.seed}` : null),
    }),
    { message: /checkpoint-1\/state\.json: the run was started with seed 7/ },
  );
  await t.throwsAsync(
    startRun({
      runDir,
      resume: true,
      model: await loadModel(join(dir, 'b')),
      optimizer: TRAIN,
      differs: () => null,
      log: () => {},
    }),
    { message: /checkpoint-1\/model\/config\.json: numLayers is 2, this model has 3/ },
  );
});
