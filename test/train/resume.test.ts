// A run killed with SIGKILL mid-way and resumed writes the same metrics as an uninterrupted run
// with the same seed: same data order, sampling seeds, weights and AdamW state after the resume.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { latestCheckpoint } from '../../lib/train/checkpoint.js';
import { readMetrics, type MetricsRecord } from '../../lib/train/metrics.js';
import { tinyKKModel } from './helpers.js';

const STEPS = 16;
const TIMING = new Set(['gen_tokens_per_s', 'train_tokens_per_s']);
const deterministic = (rs: MetricsRecord[]) =>
  rs.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING.has(k))));

function grpoArgs(model: string, out: string): string[] {
  return [
    '--import',
    'tsx',
    'lib/cli/main.ts',
    'grpo',
    '--model',
    model,
    '--task',
    'test/fixtures/train/letter-reward.mjs',
    '--examples',
    '6',
    '--out',
    out,
    '--steps',
    String(STEPS),
    '--prompts-per-step',
    '2',
    '--generations',
    '8',
    '--max-new-tokens',
    '24',
    '--lr',
    '3e-3',
    '--warmup-steps',
    '2',
    '--max-grad-norm',
    '1',
    '--save-every',
    '2',
    '--seed',
    '11',
  ];
}

test('SIGKILL mid-run, then --resume: the same metrics as an uninterrupted run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-resume-'));
  const model = await tinyKKModel(join(dir, 'model'));
  const env = { ...process.env, WS_NUM_THREADS: '2' };

  const a = spawnSync(process.execPath, grpoArgs(model, join(dir, 'a')), { env, encoding: 'utf8' });
  t.is(a.status, 0, a.stderr);
  const full = readMetrics(join(dir, 'a.run'));
  t.is(full.length, STEPS);
  t.true(
    full.some((r) => (r.zero_adv_frac as number) < 1),
    'the reward gives a learning signal',
  );

  // the same run, killed once a few steps are logged
  const runB = join(dir, 'b.run');
  const child = spawn(process.execPath, grpoArgs(model, join(dir, 'b')), { env, stdio: 'ignore' });
  const killedAt = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const n = existsSync(join(runB, 'metrics.jsonl')) ? readMetrics(runB).length : 0;
      if (n >= 5) {
        child.kill('SIGKILL');
        clearInterval(timer);
        resolve(n);
      }
    }, 2);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the run ended before it could be killed'));
    });
  });
  await new Promise((r) => child.once('exit', r));
  t.true(killedAt < STEPS, `killed after ${killedAt} of ${STEPS} steps`);
  const ck = latestCheckpoint(runB)!;
  t.true(ck.step >= 2 && ck.step < STEPS, `checkpoint at step ${ck.step}`);

  const b = spawnSync(process.execPath, [...grpoArgs(model, join(dir, 'b')), '--resume'], { env, encoding: 'utf8' });
  t.is(b.status, 0, b.stderr);
  t.regex(b.stderr, new RegExp(`resumed from .*checkpoint-${ck.step} at step ${ck.step}`));
  const resumed = readMetrics(runB);
  t.deepEqual(deterministic(resumed), deterministic(full));
  // and the final weights agree too
  t.deepEqual(readFileSync(join(dir, 'b', 'model.safetensors')), readFileSync(join(dir, 'a', 'model.safetensors')));
});
