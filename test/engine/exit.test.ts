// process.exit() while native work runs ends the process promptly (issue: it waited for ever on a
// generation's worker thread): the addon cancels its work in flight when the process exits, and
// work that cannot stop at once gets one second before the process ends anyway.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import test from 'ava';

const CHILD = fileURLToPath(new URL('exit-child.ts', import.meta.url));

function run(what: string, code: number) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; after: number }>(
    (resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', CHILD, what, String(code)], {
        env: { ...process.env, WS_NUM_THREADS: '2' },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += String(d)));
      p.stderr.on('data', (d) => (stderr += String(d)));
      p.on('exit', (c, signal) => {
        const at = Date.now();
        const called = Number(/exit (\d+)/.exec(stdout)?.[1] ?? NaN);
        resolve({ code: c, signal, stdout, stderr, after: at - called });
      });
    },
  );
}

for (const what of ['generate', 'generate-streaming']) {
  test(`process.exit() during a ${what === 'generate' ? '' : 'streaming '}generation of 2^20 tokens exits at once`, async (t) => {
    const r = await run(what, 0);
    t.is(r.code, 0, r.stderr);
    t.is(r.signal, null);
    t.log(`exited ${r.after} ms after process.exit()`);
    t.true(r.after < 2000, `exited ${r.after} ms after process.exit()`);
    t.notRegex(r.stderr, /still running/); // cancelled, not cut off
  });
}

test('process.exit() during one long op with no cancel point: the process ends about 1 s later, with its code', async (t) => {
  const r = await run('matmul', 7);
  t.is(r.code, 7);
  t.regex(r.stderr, /warmstart: native work still running 1000 ms after exit; ending the process/);
  t.log(`exited ${r.after} ms after process.exit()`);
  t.true(r.after >= 900 && r.after < 3000, `exited ${r.after} ms after process.exit()`);
});
