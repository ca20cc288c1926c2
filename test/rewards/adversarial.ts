// The adversarial sandbox suite: programs that try to score as correct without being correct, to
// escape, or to hurt the host. Every one must be judged failed and leave nothing behind. Used by
// sandbox-adversarial.test.ts in its own process and, as root, again in a child process under an
// unprivileged uid (`node --import tsx test/rewards/adversarial.ts CONTEXT_JSON` prints the
// results as JSON).
import { fileURLToPath } from 'node:url';

import { Sandbox, type RunResult, type TestSpec } from '../../lib/rewards/sandbox.js';
import { leftovers } from './procs.js';

/** A HumanEval-style problem whose tests use ==, len, abs and isinstance. */
export const SPEC: TestSpec = {
  entryPoint: 'reverse',
  setup: 'from typing import List\n\n\ndef reverse(xs: List[float]) -> List[float]:\n    """The list backwards."""\n',
  test:
    'def check(candidate):\n' +
    '    assert candidate([1, 2, 3]) == [3, 2, 1]\n' +
    '    assert candidate([]) == []\n' +
    '    assert len(candidate([5, 6])) == 2\n' +
    '    assert abs(candidate([2.5, 1.0])[0] - 1.0) < 1e-9\n' +
    '    assert isinstance(candidate([1]), list)\n',
};
export const CORRECT = 'def reverse(xs):\n    return xs[::-1]\n';
const WRONG = 'def reverse(xs):\n    return xs\n';

/** What the attacks may name: a TCP port and a unix socket the test listens on, files, our pid. */
export interface Context {
  port: number;
  unixSocket: string;
  /** A file on the host the program must not create. */
  outside: string;
  /** A host file holding a secret the program must not read (only checked where isolated). */
  secretFile: string;
  nodePid: number;
}

const py = (s: string) => JSON.stringify(s);

export function attacks(c: Context): Record<string, string> {
  const forge = 'import os\nprint("PASSED all tests")\nos._exit(0)\n';
  return {
    // --- forged success ---
    'print success and exit 0': forge,
    'read every caller frame (sys._getframe) and print it': `import sys, os\nf = sys._getframe()\nwhile f:\n    print(repr(f.f_locals)[:2000])\n    f = f.f_back\nsys.stdout.flush()\nos._exit(0)\n`,
    'read frames through a traceback': `import sys, os\ntry:\n    raise ValueError\nexcept ValueError as e:\n    f = e.__traceback__.tb_frame\n    while f:\n        print(f.f_globals.keys(), f.f_locals)\n        f = f.f_back\nsys.stdout.flush()\nos._exit(0)\n`,
    'search gc objects for the harness': `import gc, os\nfor o in gc.get_objects():\n    if isinstance(o, dict) and 'reverse' in o: print(list(o)[:20])\n${WRONG}`,
    'write a pass verdict to every descriptor': `import os\nfor fd in range(0, 256):\n    for b in (b'P', b'R', b'\\x00\\x00\\x00\\x0f{"value": true}'):\n        try: os.write(fd, b)\n        except OSError: pass\n${WRONG}`,
    'answer through the reply pipe itself': `import os, json\nframe = json.dumps({"value": [3, 2, 1]}).encode()\nfor _ in range(5):\n    try: os.write(5, len(frame).to_bytes(4, "big") + frame)\n    except OSError: pass\n${WRONG}`,
    'patch the harness encoder': `import __main__\n__main__.to_wire = lambda x: [3, 2, 1]\n${WRONG}`,
    'patch json.dumps in the program': `import json\njson.dumps = lambda o, **k: '{"value": [3, 2, 1]}'\n${WRONG}`,
    'write to other processes through /proc': `import os\nfor pid in os.listdir('/proc'):\n    if not pid.isdigit() or int(pid) == os.getpid(): continue\n    for fd in range(0, 16):\n        try:\n            with open('/proc/%s/fd/%d' % (pid, fd), 'wb') as f: f.write(b'P')\n        except OSError: pass\n    try: open('/proc/%s/mem' % pid, 'rb').read(1)\n    except OSError: pass\n${WRONG}`,
    'kill every other process it can see': `import os, signal\nfor pid in os.listdir('/proc'):\n    if pid.isdigit() and int(pid) != os.getpid():\n        try: os.kill(int(pid), signal.SIGKILL)\n        except OSError: pass\n${WRONG}`,
    // --- equality and builtin tricks ---
    'an object whose __eq__ is always true': `class Any:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n    def __len__(self): return 2\n    def __getitem__(self, i): return 1.0\ndef reverse(xs):\n    return Any()\n`,
    'a list subclass whose __eq__ is always true': `class L(list):\n    def __eq__(self, o): return True\ndef reverse(xs):\n    return L([0])\n`,
    'a fake __class__': `class Fake:\n    __class__ = list\n    def __eq__(self, o): return True\ndef reverse(xs):\n    return Fake()\n`,
    'replace builtins abs and isinstance': `import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\ndef reverse(xs):\n    return xs if 2.5 in xs else xs[::-1]\n`,
    'replace AssertionError and assert machinery': `import builtins\nclass Never(BaseException): pass\nbuiltins.AssertionError = Never\n${WRONG}`,
    'return a generator': `def reverse(xs):\n    return (x for x in reversed(xs))\n`,
    'return NaN everywhere': `def reverse(xs):\n    return [float('nan')] * len(xs)\n`,
    'return the builtins module': `import builtins\ndef reverse(xs):\n    return builtins\n`,
    // --- early exits ---
    'sys.exit(0) at import': `import sys\nsys.exit(0)\n${CORRECT}`,
    'os._exit(0) inside the function': `import os\ndef reverse(xs):\n    os._exit(0)\n`,
    'SystemExit(0) inside the function': `def reverse(xs):\n    raise SystemExit(0)\n`,
    'close the call pipes': `import os\nfor fd in (3, 4, 5):\n    try: os.close(fd)\n    except OSError: pass\n${CORRECT}`,
    'answer once, then exit': `import os\nn = [0]\ndef reverse(xs):\n    n[0] += 1\n    if n[0] > 1: os._exit(0)\n    return xs[::-1]\n`,
    'kill itself': `import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n`,
    // --- bombs ---
    'fork bomb': `import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n`,
    'allocate 8 GB': `x = bytearray(8 * 1024 ** 3)\n${CORRECT}`,
    'map 40 x 256 MB': `import mmap\nm = [mmap.mmap(-1, 256 << 20) for _ in range(40)]\n${CORRECT}`,
    'fill its folder with files under the size limit': `import os\nn = 0\ntry:\n    for i in range(1000):\n        with open('f%d' % i, 'wb') as f:\n            f.write(b'x' * (8 << 20))\n        n += 8\n        print('WROTE_MB', n, flush=True)\nexcept OSError as e:\n    print('stopped', e)\nprint('WROTE_MB', n)\n${WRONG}`,
    'fill /dev/shm, /var/tmp, / and /dev': `import os\nfor d in ('/dev/shm', '/var/tmp', '/', '/dev', '/run/lock'):\n    try:\n        with open(os.path.join(d, 'warmstart-bomb'), 'wb') as f:\n            for _ in range(64): f.write(b'x' * (1 << 20))\n        print('WROTE', d)\n    except OSError as e:\n        print('refused', d, e)\n${WRONG}`,
    'flood stdout and stderr': `import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n    sys.stderr.write('y' * 65536)\n`,
    'busy loop': 'while True:\n    pass\n',
    'sleep forever': 'import time\ntime.sleep(600)\n',
    // --- network ---
    'connect to a TCP port on the host': `import socket\nsocket.create_connection(("127.0.0.1", ${c.port}), timeout=2).close()\nprint("CONNECTED")\n${CORRECT}`,
    'connect to a host unix socket': `import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(${py(c.unixSocket)})\nprint("CONNECTED")\n${CORRECT}`,
    'reach the internet': `import socket\nsocket.create_connection(("1.1.1.1", 53), timeout=2).close()\nprint("CONNECTED")\n${CORRECT}`,
    // --- daemons ---
    'double fork and setsid': `import os, time\nif os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(60)\n    os._exit(0)\n${WRONG}`,
    'a detached subprocess': `import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\n${WRONG}`,
    'a daemon thread spinning': `import threading\nthreading.Thread(target=lambda: [0 for _ in iter(int, 1)], daemon=True).start()\n${WRONG}`,
    // --- parent killing ---
    'kill its parent': `import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n${WRONG}`,
    'kill(-1)': `import os, signal\nos.kill(-1, signal.SIGKILL)\n${WRONG}`,
    'kill the node process': `import os, signal\nos.kill(${c.nodePid}, signal.SIGKILL)\n${WRONG}`,
    // --- privileges and limits ---
    'raise the CPU limit, then spin': `import resource\ntry: resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\nexcept (ValueError, OSError) as e: print('refused', e)\nwhile True: pass\n`,
    'raise the process and memory limits': `import resource\nfor r in (resource.RLIMIT_NPROC, resource.RLIMIT_AS):\n    try: resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)); print('RAISED', r)\n    except (ValueError, OSError) as e: print('refused', e)\nx = bytearray(8 * 1024 ** 3)\n${CORRECT}`,
    'become root': `import os\nos.setuid(0)\nprint("ROOT")\n${CORRECT}`,
    // --- the host ---
    'write outside its folder': `open(${py(c.outside)}, "w").write("x")\n${WRONG}`,
    'read a host file': `print(open(${py(c.secretFile)}).read())\n${WRONG}`,
  };
}

/** Attacks left out where runs share our uid and PID namespace (no bwrap, not root). */
export const SELF_HARMING = ['kill every other process it can see', 'kill(-1)', 'kill the node process'];

export interface Outcome {
  name: string;
  passed: boolean;
  failure: string;
  stdout: string;
  timedOut: boolean;
  isolation: string[];
  wallMs: number;
}

/** Runs every attack and the correct control; leftovers after all runs. */
export async function runSuite(
  sandbox: Sandbox,
  c: Context,
): Promise<{ outcomes: Outcome[]; control: RunResult; leftovers: string[] }> {
  // 6 s of wall time: an interpreter pair starts in ~1.5 s on a loaded 2-core machine; CPU stays at 1 s.
  const limits = { timeoutMs: 6000, cpuSeconds: 1 };
  // Not isolated and not root, these would kill the test runner itself (same uid, same PID space).
  const unsafe = !sandbox.isolated() && !sandbox.uids.length ? SELF_HARMING : [];
  const outcomes = await Promise.all(
    Object.entries(attacks(c))
      .filter(([name]) => !unsafe.includes(name))
      .map(async ([name, program]) => {
        const r = await sandbox.check(program, SPEC, limits);
        return {
          name,
          passed: r.passed,
          failure: r.failure,
          stdout: r.stdout.slice(-2000),
          timedOut: r.timedOut,
          isolation: r.isolation,
          wallMs: r.wallMs,
        };
      }),
  );
  const control = await sandbox.check(CORRECT, SPEC, limits);
  return { outcomes, control, leftovers: leftovers(sandbox) };
}

// As a script: run the suite with the context given as JSON, print the results as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const c = JSON.parse(process.argv[2]) as Context & { isolate?: boolean };
  const sandbox = new Sandbox({ workers: 2, isolate: c.isolate });
  const suite = await runSuite(sandbox, c);
  // The launcher killed from inside: only reachable without namespaces.
  const fallback = new Sandbox({ workers: 1, isolate: false });
  const killed = await fallback.check(`import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n${CORRECT}`, SPEC, {
    timeoutMs: 2000,
  });
  process.stdout.write(
    JSON.stringify({
      ...suite,
      uid: process.getuid?.(),
      runPrefix: sandbox.runPrefix,
      killedLauncher: killed,
      fallbackPrefix: fallback.runPrefix,
      fallbackLeftovers: leftovers(fallback),
    }),
  );
}
