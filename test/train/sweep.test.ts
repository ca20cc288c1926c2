// `warmstart sweep`: the grid of a command's flags (cartesian product, names, errors by flag) and
// a sweep of `sft --lr` on the tiny model: sibling runs, one table (Markdown and JSON) with each
// run's final metrics, one plot of all runs, and a second call that skips the finished runs.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { run } from '../../lib/cli/main.js';
import { expandGrid } from '../../lib/train/sweep.js';
import { tinyKK } from './helpers.js';

test('the grid: every combination of the swept flags, in order, named flag=value', (t) => {
  const { axes, points } = expandGrid(['--model', 'm', '--lr', '1e-6,3e-6', '--seed', '0,1', '--betas', '0.9,0.95']);
  t.deepEqual(
    axes.map((a) => [a.flag, a.values]),
    [
      ['--lr', ['1e-6', '3e-6']],
      ['--seed', ['0', '1']],
    ],
  );
  t.deepEqual(
    points.map((p) => p.name),
    ['lr=1e-6,seed=0', 'lr=1e-6,seed=1', 'lr=3e-6,seed=0', 'lr=3e-6,seed=1'],
  );
  t.deepEqual(points[1].args, ['--model', 'm', '--lr', '1e-6', '--seed', '1', '--betas', '0.9,0.95']);
  t.deepEqual(expandGrid(['--lr', '1e-6']).points, []);
  t.throws(() => expandGrid(['--lr', '1e-6,']), { message: '--lr: an empty value in "1e-6,"' });
  t.throws(() => expandGrid(['--lr', '1,1']), { message: '--lr: a value is listed twice in "1,1"' });
  t.throws(() => expandGrid(['--lr', '1,2', '--lr', '3,4']), { message: /--lr: swept twice/ });
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const [log, write] = [console.log, process.stderr.write];
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  process.stderr.write = ((c: string | Uint8Array) => {
    out.push(String(c));
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await run(['node', 'warmstart', ...args]);
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, out: out.join('\n') };
}

test.serial('sweep sft --lr a,b: sibling runs, one table and one plot; a second call skips them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-sweep-'));
  const kk = await tinyKK(join(dir, 'model'), 40);
  const data = join(dir, 'traces.jsonl');
  writeFileSync(data, kk.pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const sweep = join(dir, 'sweep');
  const args = ['sweep', 'sft', '--model', kk.dir, '--data', data, '--out', sweep, '--lr', '1e-4,3e-3'];
  const opts = ['--epochs', '1', '--val', '4', '--micro-batch-tokens', '512', '--warmup-steps', '0'];
  const first = await cli([...args, ...opts]);
  t.is(first.code, 0, first.out);
  for (const name of ['lr=1e-4', 'lr=3e-3']) {
    t.true(existsSync(join(sweep, name, 'model', 'model.safetensors')), name);
    t.true(existsSync(join(sweep, name, 'run', 'metrics.jsonl')), name);
    t.is(
      (JSON.parse(readFileSync(join(sweep, name, 'run', 'config.json'), 'utf8')) as { lr: number }).lr,
      Number(name.slice(3)),
    );
  }
  const json = JSON.parse(readFileSync(join(sweep, 'sweep.json'), 'utf8')) as {
    runs: { name: string; status: string; steps: number; final: Record<string, number> }[];
  };
  t.deepEqual(
    json.runs.map((r) => [r.name, r.status]),
    [
      ['lr=1e-4', 'done'],
      ['lr=3e-3', 'done'],
    ],
  );
  for (const r of json.runs) t.true(r.steps >= 1 && Number.isFinite(r.final.loss) && Number.isFinite(r.final.val_loss));
  // the larger learning rate lowers the validation loss more in the same steps
  t.true(json.runs[1].final.val_loss < json.runs[0].final.val_loss);
  const md = readFileSync(join(sweep, 'sweep.md'), 'utf8');
  t.regex(md, /^\| lr \| status \| steps \| final loss \| final val_loss \|\n/);
  t.regex(md, /\n\| 3e-3 \| done \| \d+ \| [\d.]+ \| [\d.]+ \|\n/);
  t.true(readFileSync(join(sweep, 'curves.png')).subarray(1, 4).toString() === 'PNG');
  const again = await cli([...args, ...opts]);
  t.is(again.code, 0);
  t.regex(again.out, /lr=1e-4: finished before, skipped/);
  t.regex(again.out, /lr=3e-3: finished before, skipped/);
  const bad = await cli(['sweep', 'sft', '--model', kk.dir, '--data', data, '--out', sweep, '--lr', '1e-4']);
  t.is(bad.code, 1);
  t.regex(bad.out, /no flag lists several values/);
});
