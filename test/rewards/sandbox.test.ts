import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import test from 'ava';

import { Sandbox } from '../../lib/rewards/sandbox.js';
import { leftovers } from './procs.js';

const root = process.getuid?.() === 0;
const sandbox = new Sandbox({ workers: 2, timeoutMs: 2000, cpuSeconds: 2 });
const fallback = new Sandbox({ workers: 2, timeoutMs: 2000, cpuSeconds: 2, isolate: false });
// Pools of their own, so that checking for leftovers does not see the other tests' runs.
const escapeSandboxes = [new Sandbox({ workers: 1 }), new Sandbox({ workers: 1, isolate: false })];

test.after.always('no process and no run folder is left behind', (t) => {
  t.deepEqual(leftovers(sandbox), []);
  t.deepEqual(leftovers(fallback), []);
  t.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith(`warmstart-sandbox-${process.pid}-`)),
    [],
  );
});

test('a program that runs to its end passes; output is captured', async (t) => {
  const r = await sandbox.run('import sys\nprint("out")\nprint("err", file=sys.stderr)\n');
  t.true(r.passed);
  t.is(r.exitCode, 0);
  t.regex(r.stdout, /^out\n/);
  t.is(r.stderr, 'err\n');
  t.log(`isolation: ${r.isolation.join(', ')}`);
  // As root: a uid of its own always; the namespaces where the kernel or container allows them.
  if (root) t.true(r.isolation.includes('uid'));
  t.true(r.isolation.includes('pidns') || r.isolation.includes('subreaper'));
});

test('exiting early with status 0 fails (sys.exit, os._exit, SystemExit)', async (t) => {
  for (const p of ['import sys\nsys.exit(0)\n', 'import os\nos._exit(0)\n', 'raise SystemExit(0)\n']) {
    const r = await sandbox.run(p);
    t.is(r.exitCode, 0, p);
    t.false(r.passed, p);
  }
});

test('an exception fails with its traceback on stderr', async (t) => {
  const r = await sandbox.run('assert 1 == 2, "nope"\n');
  t.false(r.passed);
  t.is(r.exitCode, 1);
  t.regex(r.stderr, /AssertionError: nope/);
});

test('stdin is closed and the environment is scrubbed', async (t) => {
  process.env.WARMSTART_SECRET_FOR_TEST = 'leak';
  const r = await sandbox.run(
    'import os, sys\nassert sys.stdin is None or sys.stdin.read() == ""\nassert "WARMSTART_SECRET_FOR_TEST" not in os.environ, os.environ\nprint(sorted(os.environ))\n',
  );
  delete process.env.WARMSTART_SECRET_FOR_TEST;
  t.true(r.passed, r.stderr);
  t.notRegex(r.stdout, /SECRET/);
});

test('the wall-clock timeout kills a sleeping program', async (t) => {
  const r = await sandbox.run('import time\ntime.sleep(60)\n', { timeoutMs: 500 });
  t.true(r.timedOut);
  t.false(r.passed);
  t.true(r.wallMs < 5000);
});

test('the CPU limit stops a busy loop', async (t) => {
  const r = await sandbox.run('while True:\n    pass\n', { cpuSeconds: 1, timeoutMs: 10_000 });
  t.false(r.passed);
  t.false(r.timedOut);
  t.truthy(r.signal); // SIGXCPU then SIGKILL at the hard limit
});

test('the file-size limit stops a large write', async (t) => {
  const r = await sandbox.run('open("big", "wb").write(b"x" * (64 << 20))\n', { fileSizeBytes: 1 << 20 });
  t.false(r.passed);
});

test('memory: an 8 GB allocation fails with MemoryError', async (t) => {
  const r = await sandbox.run('x = bytearray(8 * 1024 ** 3)\n');
  t.false(r.passed);
  t.regex(r.stderr, /MemoryError/);
});

test('processes that escape with setsid or a double fork are killed with the run', async (t) => {
  for (const sb of escapeSandboxes) {
    const r = await sb.run(
      'import os, time\nif os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(60)\n    os._exit(0)\ntime.sleep(0.2)\n',
    );
    t.true(r.passed, r.stderr);
    t.deepEqual(leftovers(sb), [], r.isolation.join(','));
  }
});

test('fallback without namespaces still enforces early exit, timeout and output checks', async (t) => {
  const ok = await fallback.run('print(1)\n');
  t.true(ok.passed);
  t.deepEqual(ok.isolation, ['subreaper']);
  t.false((await fallback.run('import sys\nsys.exit(0)\n')).passed);
  const slow = await fallback.run('import time\ntime.sleep(60)\n', { timeoutMs: 500 });
  t.true(slow.timedOut);
});

test('isolated runs cannot reach the network or write outside their folder', async (t) => {
  const probe = await sandbox.run('pass\n');
  if (!probe.isolation.includes('netns') || !probe.isolation.includes('mountns')) {
    t.log(`no network/mount namespaces here (${probe.isolation.join(', ')}): not applicable`);
    t.pass();
    return;
  }
  const outside = `${tmpdir()}/warmstart-escape-${process.pid}`;
  const r = await sandbox.run(
    `import socket\ntry:\n    socket.create_connection(("127.0.0.1", 22), timeout=1)\n    print("NET")\nexcept OSError as e:\n    print("nonet", e)\n` +
      `open(${JSON.stringify(outside)}, "w").write("x")\nopen("../escape", "w").write("x")\n` +
      `try:\n    open("/etc/warmstart-escape", "w")\n    print("ETC")\nexcept OSError:\n    print("noetc")\n`,
  );
  t.true(r.passed, r.stderr);
  t.regex(r.stdout, /nonet/);
  t.regex(r.stdout, /noetc/);
  t.false(existsSync(outside));
  t.false(existsSync('/etc/warmstart-escape'));
});

test('numpy imports under the limits where it is installed (HumanEval+ tests use it)', async (t) => {
  if (spawnSync(sandbox.python, ['-c', 'import numpy']).status !== 0) {
    t.pass('numpy is not installed for this python3');
    return;
  }
  const r = await sandbox.run('import numpy as np\nassert np.isclose(0.1 + 0.2, 0.3)\n');
  t.true(r.passed, r.stderr);
});

test('bad limits are refused with the name of the limit', async (t) => {
  await t.throwsAsync(sandbox.run('pass', { timeoutMs: -1 }), {
    message: /timeoutMs must be a positive integer, got -1/,
  });
  t.throws(() => new Sandbox({ timeoutMs: 0 }), { message: /timeoutMs/ });
  t.throws(() => new Sandbox({ workers: 0 }), { message: /workers/ });
  t.throws(() => new Sandbox({ cpuSeconds: 1.5 }), { message: /cpuSeconds must be a positive integer, got 1\.5/ });
});
