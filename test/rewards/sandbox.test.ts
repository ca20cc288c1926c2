import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

import test from 'ava';

import { Sandbox, type TestSpec } from '../../lib/rewards/sandbox.js';
import { leftovers } from './procs.js';

const root = process.getuid?.() === 0;
const sandbox = new Sandbox({ workers: 2, timeoutMs: 2000, cpuSeconds: 2 });
const fallback = new Sandbox({ workers: 2, timeoutMs: 2000, cpuSeconds: 2, isolate: false });
// Pools of their own, so that checking for leftovers does not see the other tests' runs.
const escapeSandboxes = [new Sandbox({ workers: 1 }), new Sandbox({ workers: 1, isolate: false })];
const isolated = sandbox.isolated();

const ADD: TestSpec = {
  entryPoint: 'add',
  setup: 'def add(a, b):\n    """a + b"""\n',
  test: 'def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate("a", b="b") == "ab"\n',
};

test.after.always('no process and no run folder is left behind', (t) => {
  t.deepEqual(leftovers(sandbox), []);
  t.deepEqual(leftovers(fallback), []);
  t.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith(`warmstart-sandbox-${process.pid}-`)),
    [],
  );
});

test('run(): a program that exits 0 passes; output is captured', async (t) => {
  const r = await sandbox.run('import sys\nprint("out")\nprint("err", file=sys.stderr)\n');
  t.true(r.passed);
  t.is(r.exitCode, 0);
  t.is(r.failure, '');
  t.regex(r.stdout, /^out\n/);
  t.is(r.stderr, 'err\n');
  t.log(`isolation: ${r.isolation.join(', ')}`);
  if (root) t.true(r.isolation.includes('uid'));
  t.deepEqual(r.isolation, isolated ? ['netns', 'mountns', 'pidns', root ? 'uid' : 'userns'] : r.isolation);
  t.true(r.isolation.includes('pidns') || r.isolation.includes('subreaper'));
});

test('check(): the judge passes a correct function and names the failing test of a wrong one', async (t) => {
  const good = await sandbox.check('def add(a, b):\n    return a + b\n', ADD);
  t.true(good.passed, good.failure);
  const wrong = await sandbox.check('def add(a, b):\n    return a * b\n', ADD);
  t.false(wrong.passed);
  t.regex(wrong.failure, /AssertionError at test\.py:2: assert candidate\(1, 2\) == 3/);
  const missing = await sandbox.check('def plus(a, b):\n    return a + b\n', ADD);
  t.false(missing.passed);
  t.regex(missing.failure, /call 1 raised KeyError: 'add'/);
  const broken = await sandbox.check('def add(a, b):\n    return a +\n', ADD);
  t.false(broken.passed);
  t.regex(broken.stderr, /SyntaxError/);
  t.regex(broken.failure, /the program ended before answering/);
});

test('check(): early exits fail, even with the right answers printed (sys.exit, os._exit, SystemExit)', async (t) => {
  for (const p of ['import sys\nprint(3)\nsys.exit(0)\n', 'import os\nos._exit(0)\n', 'raise SystemExit(0)\n']) {
    const r = await sandbox.check(p, ADD);
    t.is(r.exitCode, 0, p);
    t.false(r.passed, p);
  }
});

test('check(): answers cross as plain values of their exact types, subclasses as their base value', async (t) => {
  const spec: TestSpec = {
    entryPoint: 'f',
    setup: 'def f(kind):\n    pass\n',
    test:
      'import math\n' +
      'def check(candidate):\n' +
      '    for kind, want in [("tuple", (1, (2.5, "x"))), ("set", {1, 2}), ("frozenset", frozenset({3})),\n' +
      '                       ("dict", {1: [None, True], "k": {}}), ("bytes", b"\\x00\\xff"), ("complex", 1 - 2j),\n' +
      '                       ("big", 7 ** 5000), ("floatsub", 0.5), ("bool", False)]:\n' +
      '        got = candidate(kind)\n' +
      '        assert type(got) is type(want) and got == want, (kind, got)\n' +
      '    assert math.isnan(candidate("nan")) and candidate("inf") == math.inf\n' +
      '    assert candidate(kind=("tuple",)) == ("tuple",)\n',
  };
  const program =
    'class F(float):\n    def __eq__(self, o): return True\n' +
    'def f(kind):\n' +
    '    return {"tuple": (1, (2.5, "x")), "set": {1, 2}, "frozenset": frozenset({3}), "dict": {1: [None, True], "k": {}},\n' +
    '            "bytes": b"\\x00\\xff", "complex": 1 - 2j, "big": 7 ** 5000, "floatsub": F(0.5), "bool": False,\n' +
    '            "nan": float("nan"), "inf": float("inf")}.get(kind, kind)\n';
  const r = await sandbox.check(program, spec);
  t.true(r.passed, r.failure);
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
  t.is(r.failure, 'timed out');
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

test('the disk limit caps all files together (isolated runs)', async (t) => {
  if (!isolated) {
    t.log('no bwrap here: the run folder is on the host, without a total cap');
    t.pass();
    return;
  }
  const r = await sandbox.run(
    'n = 0\ntry:\n    for i in range(8):\n        open("f%d" % i, "wb").write(b"x" * (1 << 20))\n        n += 1\nexcept OSError as e:\n    print(e)\nprint("files", n)\n',
    { diskBytes: 3 << 20, fileSizeBytes: 2 << 20 },
  );
  t.true(r.passed, r.stderr);
  t.regex(r.stdout, /No space left on device/);
  t.regex(r.stdout, /files [0-3]\n/);
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

test('fallback without namespaces still enforces the judge, timeout and limits', async (t) => {
  const ok = await fallback.run('print(1)\n');
  t.true(ok.passed);
  t.deepEqual(ok.isolation, root ? ['subreaper', 'uid'] : ['subreaper']);
  t.true((await fallback.check('def add(a, b):\n    return a + b\n', ADD)).passed);
  t.false((await fallback.check('import sys\nsys.exit(0)\n', ADD)).passed);
  const slow = await fallback.run('import time\ntime.sleep(60)\n', { timeoutMs: 500 });
  t.true(slow.timedOut);
});

test('isolated runs cannot reach the network or write outside their folder', async (t) => {
  if (!isolated) {
    t.log('no bwrap here: not applicable');
    t.pass();
    return;
  }
  const outside = `${tmpdir()}/warmstart-escape-${process.pid}`;
  const r = await sandbox.run(
    `import socket\ntry:\n    socket.create_connection(("127.0.0.1", 22), timeout=1)\n    print("NET")\nexcept OSError as e:\n    print("nonet", e)\n` +
      `open(${JSON.stringify(outside)}, "w").write("x")\n` +
      `for p in ("../escape", "/etc/warmstart-escape", "/usr/warmstart-escape"):\n    try:\n        open(p, "w")\n        print("WROTE", p)\n    except OSError:\n        print("refused", p)\n`,
  );
  t.true(r.passed, r.stderr);
  t.regex(r.stdout, /nonet/);
  t.notRegex(r.stdout, /WROTE/);
  t.regex(r.stdout, /refused \/usr/);
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

test('bad limits and tests are refused with the name of the field', async (t) => {
  await t.throwsAsync(sandbox.run('pass', { timeoutMs: -1 }), {
    message: /timeoutMs must be a positive integer, got -1/,
  });
  t.throws(() => new Sandbox({ timeoutMs: 0 }), { message: /timeoutMs/ });
  t.throws(() => new Sandbox({ workers: 0 }), { message: /workers/ });
  t.throws(() => new Sandbox({ cpuSeconds: 1.5 }), { message: /cpuSeconds must be a positive integer, got 1\.5/ });
  t.throws(() => new Sandbox({ diskBytes: 0 }), { message: /diskBytes/ });
  await t.throwsAsync(sandbox.check('pass', { ...ADD, entryPoint: 'a b' }), {
    message: /tests\.entryPoint must be a Python name, got a b/,
  });
  await t.throwsAsync(sandbox.check('pass', { ...ADD, test: 3 as unknown as string }), {
    message: /tests\.test must be a string, got number/,
  });
});
