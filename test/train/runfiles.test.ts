// Run files: metrics.jsonl, atomic checkpoints, progress lines and PNG curves.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import test from 'ava';

import { latestCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint.js';
import { appendMetrics, metricsPath, readMetrics, truncateMetrics } from '../../lib/train/metrics.js';
import { plotRuns } from '../../lib/train/plot.js';
import { Progress } from '../../lib/train/progress.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ws-train-'));

test('metrics: appended lines read back; a torn last line is ignored; truncate keeps step <= N', (t) => {
  const dir = tmp();
  for (let s = 1; s <= 5; s++) appendMetrics(dir, { step: s, loss: 1 / s });
  appendFileSync(metricsPath(dir), '{"step": 6, "lo'); // killed mid-write
  t.deepEqual(
    readMetrics(dir).map((r) => r.step),
    [1, 2, 3, 4, 5],
  );
  truncateMetrics(dir, 3);
  t.deepEqual(readMetrics(dir), [
    { step: 1, loss: 1 },
    { step: 2, loss: 0.5 },
    { step: 3, loss: 1 / 3 },
  ]);
  writeFileSync(metricsPath(dir), '{"step":1}\nnot json\n{"step":3}\n');
  t.throws(() => readMetrics(dir), { message: /metrics\.jsonl:line 2: invalid JSON/ });
});

const writers = (tag: string) => ({
  model: async (d: string) => {
    (await import('node:fs')).mkdirSync(d);
    writeFileSync(join(d, 'model.txt'), tag);
  },
  optimizer: async (d: string) => {
    (await import('node:fs')).mkdirSync(d);
    writeFileSync(join(d, 'opt.txt'), tag);
  },
});

test('checkpoints: written under a temporary name, renamed, pointed at, old ones pruned', async (t) => {
  const dir = tmp();
  t.is(latestCheckpoint(dir), null);
  for (const step of [2, 4, 6]) await saveCheckpoint(dir, step, { order: [3, 1, 2], step }, writers(`s${step}`), 2);
  t.deepEqual(readdirSync(dir).sort(), ['checkpoint-4', 'checkpoint-6', 'latest.json']);
  const c = latestCheckpoint<{ order: number[] }>(dir)!;
  t.is(c.step, 6);
  t.deepEqual(c.state.order, [3, 1, 2]);
  t.is(readFileSync(join(c.modelDir, 'model.txt'), 'utf8'), 's6');
  t.is(readFileSync(join(c.optimizerDir, 'opt.txt'), 'utf8'), 's6');
  // the same step written again replaces it whole
  await saveCheckpoint(dir, 6, { order: [1], step: 6 }, writers('again'), 2);
  t.is(readFileSync(join(dir, 'checkpoint-6', 'model', 'model.txt'), 'utf8'), 'again');
});

test('checkpoints: a writer that fails leaves the previous checkpoint in force', async (t) => {
  const dir = tmp();
  await saveCheckpoint(dir, 1, { a: 1 }, writers('one'));
  await t.throwsAsync(
    saveCheckpoint(
      dir,
      2,
      { a: 2 },
      {
        ...writers('two'),
        optimizer: async () => {
          throw new Error('disk full');
        },
      },
    ),
    { message: 'disk full' },
  );
  const c = latestCheckpoint<{ a: number }>(dir)!;
  t.is(c.step, 1);
  t.false(existsSync(join(dir, 'checkpoint-2')));
  writeFileSync(join(dir, 'latest.json'), '{"checkpoint": "../etc"}');
  t.throws(() => latestCheckpoint(dir), { message: /latest\.json: field "checkpoint"/ });
});

class Sink extends Writable {
  text = '';
  _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

test('progress: plain lines with rate and ETA when not a terminal', (t) => {
  let now = 0;
  const sink = new Sink();
  const p = new Progress({
    total: 10,
    label: 'grpo',
    unit: 'step',
    stream: sink as unknown as NodeJS.WriteStream,
    now: () => now,
  });
  now = 4000;
  p.update(2, { reward: 0.5 });
  now = 20000;
  p.update(10);
  const lines = sink.text.trim().split('\n');
  t.is(lines.length, 2);
  // 2 steps in 4 s: 2.0 s/step, 8 steps left -> 16 s
  t.is(lines[0], 'grpo 2/10  2.0 s/step  elapsed 4s  eta 16s  reward 0.500');
  t.regex(lines[1], /^grpo 10\/10 .* eta 0s$/);
  t.false(sink.text.includes('\r'));
});

test('plot: metrics of two runs render to a PNG', async (t) => {
  const a = tmp();
  const b = tmp();
  for (let s = 1; s <= 8; s++) {
    appendMetrics(a, { step: s, reward_mean: s / 8, completion_len: 40 - s, loss: 1 / s });
    appendMetrics(b, { step: s, reward_mean: -s / 8, completion_len: 30, loss: 2 / s });
  }
  const out = join(a, 'curves.png');
  await plotRuns([a, b], out, { names: ['warmup+RLVR', 'base+RLVR'] });
  const png = readFileSync(out);
  t.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  t.true(png.readUInt32BE(16) > 400, 'width'); // IHDR width
  await t.throwsAsync(plotRuns([tmp()], out), { message: /no metrics yet/ });
});
