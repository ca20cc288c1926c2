// `warmstart serve` as a process: it says where it listens, answers, refuses a bad model folder
// with a message naming it, and on SIGTERM finishes the request in flight and exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';

import test from 'ava';

import { cuda } from '../../lib/engine/addon.js';
import { ROOT, tinyServeModel } from './fixture.js';
import { post } from './http.js';

function warmstart(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('serve listens on loopback, answers with the API key, stops gracefully on SIGTERM', async (t) => {
  const fx = await tinyServeModel(5);
  const w = warmstart(['serve', '--model', fx.dir, '--port', '0', '--served-model-name', 'kk-tiny'], {
    WARMSTART_API_KEY: 'k1',
  });
  try {
    const deadline = Date.now() + 120_000;
    while (!/on http:\/\/127\.0\.0\.1:\d+\/v1/.test(w.out())) {
      if (w.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no "serving" line: ${w.out()} ${w.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.regex(
      w.out(),
      /^serving kk-tiny on http:\/\/127\.0\.0\.1:\d+\/v1 \(OpenAI-compatible; API key from \$WARMSTART_API_KEY\)/,
    );
    const base = /(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(w.out())![1];
    const body = { model: 'kk-tiny', prompt: 'Zoey is', max_tokens: 4 };
    t.is((await post(`${base}/v1/completions`, body)).status, 401);
    const ok = await post(`${base}/v1/completions`, body, { Authorization: 'Bearer k1' });
    t.is(ok.status, 200, ok.text);
    t.is(ok.json.model, 'kk-tiny');
    // a request in flight when SIGTERM arrives still gets its answer (the random model may end a
    // completion at once, so a request that finished before it was seen running is sent again)
    let inflight: ReturnType<typeof post> | null = null;
    for (let attempt = 0; attempt < 20 && inflight === null; attempt++) {
      const p = post(
        `${base}/v1/completions`,
        { ...body, max_tokens: 1000, n: 4, seed: attempt },
        { Authorization: 'Bearer k1' },
      );
      let settled = false;
      void p.finally(() => {
        settled = true;
      });
      while (!settled && ((await (await fetch(`${base}/health`)).json()) as { running: number }).running === 0)
        await new Promise((r) => setTimeout(r, 5));
      if (settled) await p;
      else inflight = p;
    }
    if (inflight === null) throw new Error('no request was ever seen running');
    w.child.kill('SIGTERM');
    const r = await inflight;
    t.is(r.status, 200, r.text);
    t.is(await w.exited, 0, w.err());
    t.regex(w.err(), /SIGTERM: finishing requests in flight[\s\S]*stopped/);
  } finally {
    if (w.child.exitCode === null) w.child.kill('SIGKILL');
    fx.cleanup();
  }
});

test('serve --device: cuda without the CUDA engine, or an unknown device, exits 1 naming the flag', async (t) => {
  const c = warmstart(['serve', '--model', '/nonexistent/model-dir', '--device', 'cuda', '--port', '0']);
  t.is(await c.exited, 1);
  if (!cuda().addon) t.regex(c.err(), /warmstart: --device cuda: the CUDA engine is not available/);
  const u = warmstart(['serve', '--model', '/nonexistent/model-dir', '--device', 'tpu', '--port', '0']);
  t.is(await u.exited, 1);
  t.regex(u.err(), /--device.*tpu.*(cpu|choices)/s);
});

test('serve names a missing model folder and exits 1', async (t) => {
  const w = warmstart(['serve', '--model', '/nonexistent/model-dir', '--port', '0']);
  t.is(await w.exited, 1);
  t.regex(w.err(), /warmstart: \/nonexistent\/model-dir: no such model folder/);
});
