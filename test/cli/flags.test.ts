// One spelling per setting across the commands: --max-new-tokens (eval, grpo, serve, kk traces),
// --kk-columns (sft, data); the old spellings still parse, hidden, with a warning. sft and data
// share the --overflow default, --help shows the preset's values, and an explicit
// --micro-batch-tokens below the longest sequence is an error naming the flag.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';
import type { Command } from 'commander';

import { buildProgram, run } from '../../lib/cli/main.js';
import { DEFAULT_OVERFLOW } from '../../lib/data/sft-examples.js';
import { resolveMicroBatchTokens } from '../../lib/train/micro-batch.js';
import { GRPO_PAPER } from '../../lib/train/grpo.js';
import { SFT_PAPER } from '../../lib/train/sft.js';
import { presetConfig } from '../../lib/engine/init.js';
import { tinyKK, type TinyKK } from '../train/helpers.js';

process.env.WARMSTART_DEVICE = 'cpu';
const env = { ...process.env, WS_NUM_THREADS: '2' };
const KK3 = '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet';
const LEN = 900; // tokens of the tiny tokenizer: some of KK3's examples are longer

function command(path: string): Command {
  let c: Command = buildProgram();
  for (const name of path.split(' ')) c = c.commands.find((x) => x.name() === name)!;
  return c;
}
const longFlags = (c: Command) => c.options.filter((o) => !o.hidden).map((o) => o.long);
const hiddenFlags = (c: Command) => c.options.filter((o) => o.hidden).map((o) => o.long);

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// The CLI in this process: what it printed to stdout and stderr.
async function here(args: string[]): Promise<{ stdout: string; stderr: string; code: number | string | undefined }> {
  const write = { err: process.stderr.write, out: process.stdout.write };
  const log = console.log;
  let stdout = '';
  let stderr = '';
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  console.log = (...xs: unknown[]) => (stdout += xs.join(' ') + '\n');
  try {
    await run(['node', 'warmstart', ...args]);
    return { stdout, stderr, code: process.exitCode };
  } finally {
    process.stderr.write = write.err;
    process.stdout.write = write.out;
    console.log = log;
    process.exitCode = undefined;
  }
}

let dir: string;
let kk: TinyKK;
let traces: string;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ws-cli-flags-'));
  kk = await tinyKK(join(dir, 'model'), 40);
  traces = join(dir, 'traces.jsonl');
  writeFileSync(traces, kk.pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('--max-new-tokens is the one name in eval, grpo, serve and kk traces; the old ones are hidden', (t) => {
  const old: Record<string, string | undefined> = {
    eval: undefined,
    grpo: '--max-completion-length',
    serve: '--max-tokens',
    'kk traces': '--max-tokens',
  };
  for (const [path, was] of Object.entries(old)) {
    const c = command(path);
    t.true(longFlags(c).includes('--max-new-tokens'), path);
    t.true(c.helpInformation().includes('--max-new-tokens'), path);
    for (const name of ['--max-tokens', '--max-completion-length']) t.false(longFlags(c).includes(name), path);
    if (was) {
      t.true(hiddenFlags(c).includes(was), path);
      t.false(c.helpInformation().includes(was), path);
    }
  }
});

test.serial(
  '--kk-columns is the one name in sft and data inspect/pack; --kk still works, with a warning',
  async (t) => {
    for (const path of ['sft', 'data inspect', 'data pack']) {
      t.true(longFlags(command(path)).includes('--kk-columns'), path);
      t.false(longFlags(command(path)).includes('--kk'), path);
    }
    const now = await here([
      'data',
      'inspect',
      KK3,
      '--kk-columns',
      '--tokenizer',
      kk.dir,
      '--max-length',
      String(LEN),
    ]);
    const was = await here(['data', 'inspect', KK3, '--kk', '--tokenizer', kk.dir, '--max-length', String(LEN)]);
    t.is(was.stdout, now.stdout);
    t.is(was.stderr, 'warning: --kk is deprecated, use --kk-columns\n');
    t.regex(now.stdout, /Assistant: <think>/);
  },
);

test.serial('sft and data share the --overflow default: inspect drops what sft drops', async (t) => {
  for (const path of ['sft', 'data inspect', 'data pack'])
    t.is(command(path).options.find((o) => o.long === '--overflow')?.defaultValue, DEFAULT_OVERFLOW, path);
  t.is(DEFAULT_OVERFLOW, 'drop');
  const r = await here(['data', 'inspect', KK3, '--kk-columns', '--tokenizer', kk.dir, '--max-length', String(LEN)]);
  const m = /examples {4}(\d+) whole, (\d+) truncated, (\d+) dropped \(max length 900, drop\)/.exec(r.stdout);
  t.truthy(m, r.stdout);
  t.is(Number(m![2]), 0);
  t.true(Number(m![3]) > 0);
});

test("--help shows the preset's value of every flag that overrides it", (t) => {
  const expect: [string, string, unknown][] = [
    ['sft', '--epochs', SFT_PAPER.epochs],
    ['sft', '--lr', SFT_PAPER.lr],
    ['sft', '--betas', SFT_PAPER.betas.join(',')],
    ['sft', '--grad-accum', SFT_PAPER.gradAccum],
    ['sft', '--val', SFT_PAPER.valExamples],
    ['sft', '--micro-batch-tokens', SFT_PAPER.microBatchTokens],
    ['grpo', '--steps', GRPO_PAPER.steps],
    ['grpo', '--generations', GRPO_PAPER.generations],
    ['grpo', '--max-new-tokens', GRPO_PAPER.maxCompletionLength],
    ['grpo', '--lr', GRPO_PAPER.lr],
    ['grpo', '--betas', GRPO_PAPER.betas.join(',')],
    ['grpo', '--weight-decay', GRPO_PAPER.weightDecay],
    ['grpo', '--clip', GRPO_PAPER.clipLow],
    ['grpo', '--scale-rewards', GRPO_PAPER.scaleRewards],
  ];
  for (const [path, flag, value] of expect) {
    const opt = command(path).options.find((o) => o.long === flag)!;
    t.true(opt.description.endsWith(`(paper: ${String(value)})`), `${path} ${flag}: ${opt.description}`);
    t.true(
      command(path)
        .helpInformation()
        .includes(`(paper: ${String(value)})`),
    );
  }
  // the SFT and GRPO presets differ: each command shows its own
  t.not(SFT_PAPER.betas.join(','), GRPO_PAPER.betas.join(','));
});

test('an explicit --micro-batch-tokens below the longest sequence is an error naming the flag', async (t) => {
  t.throws(() => resolveMicroBatchTokens(64, { config: presetConfig('tiny', 100), device: 'cpu', longest: 300 }), {
    instanceOf: RangeError,
    message:
      '--micro-batch-tokens (microBatchTokens) 64 is below the longest sequence, 300 tokens: give at least 300, or auto',
  });
  t.is(resolveMicroBatchTokens(300, { config: presetConfig('tiny', 100), device: 'cpu', longest: 300 }).tokens, 300);
  const out = join(dir, 'sft-small');
  const r = await cli(['sft', '--model', kk.dir, '--data', traces, '--out', out, '--micro-batch-tokens', '16']);
  t.is(r.status, 1);
  t.regex(
    r.stderr,
    /^warmstart: --micro-batch-tokens \(microBatchTokens\) 16 is below the longest sequence, \d+ tokens/m,
  );
  t.false(existsSync(out));
});

test('grpo --max-completion-length still sets the completion length, with a warning', async (t) => {
  const out = join(dir, 'grpo-old');
  const args = ['grpo', '--model', kk.dir, '--task', 'test/fixtures/train/letter-reward.mjs', '--examples', '4'];
  const rest = ['--steps', '1', '--prompts-per-step', '2', '--generations', '2'];
  const r = await cli([...args, '--out', out, ...rest, '--max-completion-length', '7']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /warning: --max-completion-length is deprecated, use --max-new-tokens\n/);
  const config = JSON.parse(readFileSync(join(`${out}.run`, 'config.json'), 'utf8')) as { maxCompletionLength: number };
  t.is(config.maxCompletionLength, 7);
});
