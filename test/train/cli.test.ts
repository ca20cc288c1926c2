// `warmstart sft | grpo | eval` flags: --device (a clean one-line error naming the flag, non-zero
// exit, nothing written, when the CUDA engine is not there or the value is unknown) and
// --micro-batch-tokens auto (resolved, logged and recorded in the run's config.json). The error
// cases run the CLI in this process; the two runs that train are separate processes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';
import { CommanderError } from 'commander';

import { parseGenerationBatch, parseMicroBatchTokens } from '../../lib/cli/device.js';
import { buildProgram, run } from '../../lib/cli/main.js';
import { tinyKK, type TinyKK } from './helpers.js';

// WARMSTART_DEVICE=cpu: the CUDA engine is skipped on every machine, so 'cuda' is never there
// (here and in the child processes; each test file runs in a process of its own).
process.env.WARMSTART_DEVICE = 'cpu';
const env = { ...process.env, WS_NUM_THREADS: '2' };

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let kk: TinyKK;
let dir: string;
let data: string;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ws-train-cli-'));
  kk = await tinyKK(join(dir, 'model'), 40);
  data = join(dir, 'traces.jsonl');
  writeFileSync(data, kk.pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
});

const commands = (out: string): Record<string, string[]> => ({
  sft: ['sft', '--model', kk.dir, '--data', data, '--out', out, '--epochs', '1'],
  grpo: [
    'grpo',
    '--model',
    kk.dir,
    '--task',
    'test/fixtures/train/letter-reward.mjs',
    '--out',
    out,
    '--steps',
    '1',
    '--beta',
    '0.1',
  ],
  eval: [
    'eval',
    '--model',
    kk.dir,
    '--benchmark',
    'test/fixtures/train/letter-reward.mjs',
    '--data',
    data,
    '--out',
    out,
  ],
});

// The CLI in this process (run() prints errors and sets process.exitCode): stderr captured.
async function cliHere(args: string[]): Promise<{ code: number | string | undefined; stderr: string; stdout: string }> {
  const write = { err: process.stderr.write, out: process.stdout.write };
  let stderr = '';
  let stdout = '';
  process.stderr.write = ((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  }) as typeof process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => {
    stdout += String(c);
    return true;
  }) as typeof process.stdout.write;
  try {
    await run(['node', 'warmstart', ...args]);
    return { code: process.exitCode, stderr, stdout };
  } finally {
    process.stderr.write = write.err;
    process.stdout.write = write.out;
    process.exitCode = undefined;
  }
}

for (const cmd of ['sft', 'grpo', 'eval']) {
  test.serial(
    `${cmd} --device cuda without the CUDA engine: one line naming --device and why, exit 1, nothing written`,
    async (t) => {
      const out = join(dir, `${cmd}-cuda`);
      const r = await cliHere([...commands(out)[cmd], '--device', 'cuda']);
      t.is(r.code, 1);
      t.is(r.stderr, 'warmstart: --device cuda: the CUDA engine is not available (skipped (WARMSTART_DEVICE=cpu))\n');
      t.is(r.stdout, '');
      t.false(existsSync(out));
      t.false(existsSync(`${out}.run`));
    },
  );

  test.serial(`${cmd} --device tpu: an error naming the flag and its choices, nothing written`, async (t) => {
    // the commands exit through commander here; in this process they throw a CommanderError instead
    const out = join(dir, `${cmd}-tpu`);
    const program = buildProgram();
    let stderr = '';
    for (const c of [program, ...program.commands])
      c.exitOverride().configureOutput({
        writeErr: (m) => {
          stderr += m;
        },
        writeOut: () => {},
      });
    const err = await t.throwsAsync(
      program.parseAsync(['node', 'warmstart', ...commands(out)[cmd], '--device', 'tpu']),
      { instanceOf: CommanderError },
    );
    t.is(err?.exitCode, 1);
    t.is(err?.code, 'commander.invalidArgument');
    t.regex(stderr, /^error: option '--device <name>' argument 'tpu' is invalid\. Allowed choices are cpu, cuda\.\n/);
    t.false(existsSync(out));
    t.false(existsSync(`${out}.run`));
  });
}

test('the same, as a process: exit 1, no stack trace', async (t) => {
  const out = join(dir, 'sft-tpu-process');
  const r = await cli([...commands(out).sft, '--device', 'tpu']);
  t.is(r.status, 1);
  t.regex(r.stderr, /^error: option '--device <name>' argument 'tpu' is invalid\. Allowed choices are cpu, cuda\.\n/);
  t.notRegex(r.stderr, /\n\s+at /);
  t.false(existsSync(`${out}.run`));
});

test.serial('--micro-batch-tokens takes a positive integer or auto', async (t) => {
  const out = join(dir, 'sft-bad-micro');
  for (const bad of ['0', '12.5', 'big', '']) {
    const r = await cliHere([...commands(out).sft, '--micro-batch-tokens', bad]);
    t.is(r.code, 1);
    t.is(r.stderr, `warmstart: --micro-batch-tokens: expected a positive integer or "auto", got "${bad}"\n`);
  }
  t.false(existsSync(`${out}.run`));
  t.is(parseMicroBatchTokens('auto'), 'auto');
  t.is(parseMicroBatchTokens('4096'), 4096);
});

test.serial('--generation-batch takes a positive integer or auto', async (t) => {
  const out = join(dir, 'grpo-bad-gen');
  for (const bad of ['0', '2.5', 'all']) {
    const r = await cliHere([...commands(out).grpo, '--generation-batch', bad]);
    t.is(r.code, 1);
    t.is(r.stderr, `warmstart: --generation-batch: expected a positive integer or "auto", got "${bad}"\n`);
  }
  t.false(existsSync(`${out}.run`));
  t.is(parseGenerationBatch('auto'), 'auto');
  t.is(parseGenerationBatch('3'), 3);
});

test('sft --device cpu: the default micro-batch is auto, logged and recorded as a number', async (t) => {
  const out = join(dir, 'sft-cpu');
  const r = await cli([
    'sft',
    '--model',
    kk.dir,
    '--data',
    data,
    '--out',
    out,
    '--epochs',
    '1',
    '--val',
    '4',
    '--max-length',
    '512',
    '--lr',
    '1e-3',
    '--device',
    'cpu',
  ]);
  t.is(r.status, 0, r.stderr);
  // the tiny model's activations are a few KB a token: the cap, not the budget, decides
  t.regex(
    r.stderr,
    /sft: 16384 tokens per micro-batch \(auto: [\d.]+ GiB activation budget at [\d.]+ MB per token on cpu with activation recomputation, capped at 16384\), 4 micro-batches per optimizer step/,
  );
  const config = JSON.parse(readFileSync(join(`${out}.run`, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.is(config.microBatchTokens, 16384);
  t.is(config.gradientCheckpointing, true); // the paper preset's
  t.true(existsSync(join(out, 'model.safetensors')));
});

test('grpo: an explicit --micro-batch-tokens wins over auto, and is recorded', async (t) => {
  const out = join(dir, 'grpo-cpu');
  const r = await cli([
    'grpo',
    '--model',
    kk.dir,
    '--task',
    'test/fixtures/train/letter-reward.mjs',
    '--examples',
    '4',
    '--out',
    out,
    '--steps',
    '1',
    '--prompts-per-step',
    '2',
    '--generations',
    '2',
    '--max-new-tokens',
    '8',
    '--micro-batch-tokens',
    '64',
    '--device',
    'cpu',
  ]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /grpo: 64 tokens per micro-batch\n/);
  t.is(
    (JSON.parse(readFileSync(join(`${out}.run`, 'config.json'), 'utf8')) as Record<string, unknown>).microBatchTokens,
    64,
  );
});

test('grpo --eval-every --stop-when plateau: held-out K&K each step, stopped where it fired, model saved', async (t) => {
  const out = join(dir, 'grpo-plateau');
  const r = await cli([
    'grpo',
    '--model',
    kk.dir,
    '--task',
    'test/fixtures/train/letter-reward.mjs',
    '--examples',
    '4',
    '--out',
    out,
    '--steps',
    '6',
    '--prompts-per-step',
    '2',
    '--generations',
    '2',
    '--max-new-tokens',
    '8',
    '--eval-every',
    '1',
    '--eval-benchmarks',
    'kk',
    '--eval-data',
    'kk=../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet',
    '--eval-limit',
    '2',
    '--stop-when',
    'plateau',
    '--plateau-window',
    '1',
    '--plateau-patience',
    '1',
    '--no-gradient-checkpointing',
  ]);
  t.is(r.status, 0, r.stderr);
  // a random model never passes the K&K format gate: the held-out reward is -2 at every evaluation
  t.regex(r.stderr, /grpo: held-out kk \(2\)\n/);
  t.regex(r.stderr, /grpo: plateau at step 1: the mean of eval_kk_reward over the last 1 evaluations is -2\.0000/);
  t.true(existsSync(join(out, 'model.safetensors')));
  const config = JSON.parse(readFileSync(join(`${out}.run`, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.is(config.stopWhen, 'plateau');
  t.is(config.plateauPatience, 1);
  t.is(config.gradientCheckpointing, false);
});

test.serial('grpo: --stop-when plateau without --eval-every, and a bad --eval-data, are refused by name', async (t) => {
  const out = join(dir, 'grpo-plateau-bad');
  const base = [...commands(out).grpo];
  let r = await cliHere([...base, '--stop-when', 'plateau']);
  t.is(r.code, 1);
  t.regex(r.stderr, /stopWhen plateau needs held-out evaluations: set evalEvery \(--eval-every\) > 0/);
  r = await cliHere([...base, '--eval-every', '1', '--eval-benchmarks', 'kk', '--eval-data', 'math500=x.jsonl']);
  t.is(r.code, 1);
  t.regex(r.stderr, /--eval-data: "math500" is not one of --eval-benchmarks \(kk\)/);
  r = await cliHere([...base, '--eval-every', '1']);
  t.is(r.code, 1);
  t.regex(r.stderr, /has no held-out split; name the sets with --eval-benchmarks/);
  t.false(existsSync(out));
  t.false(existsSync(`${out}.run`));
});
