import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { run } from '../../lib/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'warmstart-score-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const DATA = new URL('../../../shared/data/math500/math500.jsonl', import.meta.url).pathname;

async function cli(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  process.exitCode = 0;
  try {
    await run(['node', 'warmstart', ...args]);
  } finally {
    [console.log, console.error] = [log, error];
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: out.join('\n'), err: err.join('\n'), code };
}

test.serial('warmstart score --task math500 prints pass@1 per sample index and the mean length', async (t) => {
  const file = join(dir, 'c.jsonl');
  const rows = [
    { id: '0', sample: 0, completion: 'r</think><answer>\\boxed{(3, \\frac{\\pi}{2})}</answer>', tokens: 12 },
    { id: '0', sample: 1, completion: 'r</think><answer>\\boxed{(3, \\pi)}</answer>', tokens: 8 },
    { id: '2', sample: 0, completion: 'r</think><answer>\\boxed{14/3}</answer>', tokens: 10 },
    { id: '2', sample: 1, completion: 'r</think><answer>\\boxed{\\frac{28}{6}}</answer>', tokens: 10 },
  ];
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const r = await cli(['score', '--task', 'math500', '--completions', file, '--data', DATA]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /problems\s+2 of 500/);
  t.regex(r.out, /pass@1\s+75\.00% ± 35\.36%\s+\(per sample: 100\.00% 50\.00%\)/);
  t.regex(r.out, /mean length\s+10\.0 tokens/);
  const j = await cli(['score', '--task', 'math500', '--completions', file, '--data', DATA, '--json']);
  t.deepEqual(JSON.parse(j.out).perSample, [1, 0.5]);
});

test.serial('warmstart score refuses an unknown task and a bad file with a one-line error', async (t) => {
  const bad = await cli(['score', '--task', 'gsm8k', '--completions', 'x.jsonl']);
  t.is(bad.code, 1);
  t.regex(bad.err, /--task: expected one of math500, humaneval, kk, mmlu-pro, got "gsm8k"/);
  const missing = await cli(['score', '--task', 'math500', '--completions', join(dir, 'none.jsonl'), '--data', DATA]);
  t.is(missing.code, 1);
  t.regex(missing.err, /cannot read .*none\.jsonl/);
});
