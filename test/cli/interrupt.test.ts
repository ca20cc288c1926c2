// Ctrl-C in the long commands: a second SIGINT ends `serve`, `sft`, `grpo` and `eval` within 2 s
// while native work runs (a generation, or an SFT step), with status 130, and a single Ctrl-C
// stops gracefully with status 130 too. Real data (the published K&K puzzles), the tiny model;
// each command is a process of its own, preloaded with native-marker.ts, which says on stderr
// when native work starts and makes every generation run to its length limit.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import test from 'ava';

import { KK_3PPL_TEST, ROOT, tinyServeModel, type TinyServeModel } from '../serve/fixture.js';

const KK_3PPL_TRAIN = join(KK_3PPL_TEST, '..', 'train.parquet');
const env = { ...process.env, WARMSTART_DEVICE: 'cpu', WS_NUM_THREADS: '2' };

function warmstart(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', join(ROOT, 'test/cli/native-marker.ts'), join(ROOT, 'lib/cli/main.ts'), ...args],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  const waitFor = async (re: RegExp, what: () => string, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!re.test(what())) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`never saw ${String(re)}; stdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, exited, out: () => stdout, err: () => stderr, waitFor };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fx: TinyServeModel;
test.before(async () => {
  fx = await tinyServeModel(40);
});
test.after.always(() => fx?.cleanup());

const commands = (): Record<string, { args: string[]; work: string }> => ({
  sft: {
    args: ['sft', '--model', fx.dir, '--data', KK_3PPL_TRAIN, '--kk-columns', '--out', join(fx.tmp, 'sft-out')].concat([
      '--epochs',
      '3',
      '--max-length',
      '1024',
      '--overflow',
      'truncate',
      '--micro-batch-tokens',
      '2048',
    ]),
    work: 'accumulate',
  },
  grpo: {
    args: ['grpo', '--model', fx.dir, '--task', 'kk', '--data', KK_3PPL_TRAIN, '--examples', '4']
      .concat([
        '--prompts-per-step',
        '2',
        '--generations',
        '2',
        '--max-completion-length',
        '3000',
        '--steps',
        '2',
        '--max-prompt-length',
        '2048',
      ])
      .concat(['--out', join(fx.tmp, 'grpo-out')]),
    work: 'generate',
  },
  eval: {
    args: [
      'eval',
      '--model',
      fx.dir,
      '--benchmark',
      'kk',
      '--data',
      KK_3PPL_TEST,
      '--limit',
      '2',
      '--samples',
      '2',
    ].concat(['--max-new-tokens', '3000', '--out', join(fx.tmp, 'eval.jsonl')]),
    work: 'generate',
  },
});

for (const name of ['sft', 'grpo', 'eval']) {
  test.serial(
    `${name}: a second Ctrl-C while native ${name === 'sft' ? 'training' : 'generation'} runs exits 130 within 2 s`,
    async (t) => {
      const { args, work } = commands()[name];
      const w = warmstart(args);
      try {
        await w.waitFor(new RegExp(`test: native ${work}`), w.err);
        await sleep(200);
        w.child.kill('SIGINT');
        await sleep(150);
        w.child.kill('SIGINT');
        const sent = Date.now();
        const r = await w.exited;
        t.log(`exited ${r.at - sent} ms after the second SIGINT`);
        t.is(r.code, 130, w.err());
        t.is(r.signal, null);
        t.true(r.at - sent < 2000, `exited ${r.at - sent} ms after the second SIGINT: ${w.err()}`);
        t.regex(w.err(), /SIGINT: stopping after this step/);
        t.notRegex(w.out(), /pass@1|trained model written/); // stopped, not finished
      } finally {
        if (w.child.exitCode === null) w.child.kill('SIGKILL');
      }
    },
  );
}

test.serial('serve: a second Ctrl-C while a request generates exits 130 within 2 s', async (t) => {
  const w = warmstart(['serve', '--model', fx.dir, '--port', '0', '--served-model-name', 'kk-tiny']);
  try {
    await w.waitFor(/on http:\/\/127\.0\.0\.1:\d+\/v1/, w.out);
    const base = /(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(w.out())![1];
    const request = fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'kk-tiny', prompt: 'Zoey is', max_tokens: 3000, n: 16 }),
    }).then(
      async (res) => `${res.status} ${await res.text()}`,
      (e: unknown) => e,
    );
    await w.waitFor(/test: native generate/, w.err);
    await sleep(200);
    const health = (await (await fetch(`${base}/health`)).json()) as { running: number };
    t.true(health.running > 0, 'the request is being generated');
    w.child.kill('SIGINT');
    await sleep(150);
    w.child.kill('SIGINT');
    const sent = Date.now();
    const r = await w.exited;
    t.log(`exited ${r.at - sent} ms after the second SIGINT`);
    t.is(r.code, 130, w.err());
    t.true(r.at - sent < 2000, `exited ${r.at - sent} ms after the second SIGINT`);
    t.regex(w.err(), /SIGINT: finishing requests in flight/);
    const answer = await request;
    t.true(answer instanceof Error, String(answer)); // its connection went with the process
  } finally {
    if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
});

test.serial(
  'one Ctrl-C stops gracefully with status 130: sft after its step (checkpoint), serve when idle',
  async (t) => {
    const sft = warmstart(commands().sft.args);
    const serve = warmstart(['serve', '--model', fx.dir, '--port', '0']);
    try {
      await sft.waitFor(/test: native accumulate/, sft.err);
      sft.child.kill('SIGINT');
      await serve.waitFor(/on http:\/\/127\.0\.0\.1:\d+\/v1/, serve.out);
      serve.child.kill('SIGINT');
      const [a, b] = await Promise.all([sft.exited, serve.exited]);
      t.is(a.code, 130, sft.err());
      t.regex(sft.out(), /stopped at step \d+\/\d+; checkpoint .+; continue with --resume/);
      t.is(b.code, 130, serve.err());
      t.regex(serve.err(), /SIGINT: finishing requests in flight[\s\S]*stopped/);
    } finally {
      for (const w of [sft, serve]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  },
);
