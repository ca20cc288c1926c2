// Nothing JavaScript does to the arguments of an async call may crash the process (issue: a
// detached or shrunk buffer, or targets / lens changed while a kernel ran, gave SIGSEGV; a Worker
// terminated with async work pending aborted the process). async-misuse-child.ts abuses every
// async call of the binding in a process of its own; this test reads its report.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { cpu } from '../../lib/engine/addon.js';

const CHILD = fileURLToPath(new URL('async-misuse-child.ts', import.meta.url));

interface Line {
  case: string;
  outcome: string;
  detail: string;
}

// What each abuse of a kernel's arguments must give (see the child): 'same' = resolves with the
// outputs of a clean synchronous call, 'lost' = rejects naming the output that went away,
// 'alive' = either, the process going on.
const KERNEL_CASES: Record<string, string> = {
  untouched: 'same',
  'inputs detached': 'same',
  'an output detached': 'lost',
  'inputs shrunk to 0': 'same',
  'outputs shrunk': 'lost',
  'everything overwritten': 'same',
  'shared, untouched': 'same',
  'shared, indices overwritten': 'same',
  'shared, floats overwritten': 'alive',
  'wasm memory grown (buffer detached)': 'lost',
};

let lines: Line[] = [];
let status: number | null = null;
let signal: string | null = null;
let stderr = '';
test.before(() => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], {
    encoding: 'utf8',
    env: { ...process.env, WS_NUM_THREADS: '2' },
    timeout: 240_000,
  });
  status = r.status;
  signal = r.signal;
  stderr = r.stderr;
  lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
});

test('the process abusing every async call ends cleanly, having run every case', (t) => {
  t.is(signal, null, stderr);
  t.is(status, 0, stderr);
  t.notRegex(stderr, /terminate called|Segmentation|Aborted|FATAL/);
  t.deepEqual(lines.at(-1), { case: 'done', outcome: 'done', detail: '' });
});

test('every async kernel: arguments detached, shrunk, overwritten, or detached by wasm memory growth', (t) => {
  const asyncKernels = Object.keys(cpu().kernels)
    .filter((k) => k.endsWith('Async'))
    .sort();
  t.true(asyncKernels.length >= 6);
  for (const k of asyncKernels)
    for (const [label, expected] of Object.entries(KERNEL_CASES)) {
      const line = lines.find((l) => l.case === `${k} ${label}`);
      t.truthy(line, `no case "${k} ${label}" in the child's report`);
      t.is(line?.outcome, expected, `${k} ${label}: ${line?.detail}`);
    }
  // a lost output is named: the first output argument of each kernel
  const lost = lines.find((l) => l.case === 'fusedHeadAsync an output detached');
  t.is(lost?.detail, 'logp was detached or resized while the kernel ran; its result is lost');
});

test('an array on a SharedArrayBuffer is used in place (pinned), any other is copied and written back', (t) => {
  const shared = lines.find((l) => l.case === 'matmulForwardAsync output on a SharedArrayBuffer');
  const plain = lines.find((l) => l.case === 'matmulForwardAsync output on an ArrayBuffer');
  // 64 = the kernel's value (x, w all ones), seen while the main thread was busy; -5 = written after
  t.deepEqual(JSON.parse(shared?.detail ?? '{}'), { during: 64, after: -5 });
  t.deepEqual(JSON.parse(plain?.detail ?? '{}'), { during: 1, after: 64 });
});

test("the Model's calls copy their inputs: detaching or overwriting them changes nothing", (t) => {
  for (const call of ['logprobs', 'accumulate', 'generate'])
    for (const how of ['detached', 'overwritten']) {
      const line = lines.find((l) => l.case === `Model.${call} inputs ${how}`);
      t.is(line?.outcome, 'same', `Model.${call} inputs ${how}: ${line?.detail}`);
    }
});

test('a Worker terminated, throwing, exiting or whose onStep throws mid-call ends; the process goes on', (t) => {
  const worker = (how: string) => {
    const line = lines.find((l) => l.case === `worker ${how} mid-call`);
    t.is(line?.outcome, 'ended', how);
    return JSON.parse(line?.detail ?? '{}') as { code: number; error: string };
  };
  t.is(worker('terminated').code, 1);
  const thrown = worker('throws');
  t.is(thrown.code, 1);
  t.is(thrown.error, 'worker throws mid-call');
  t.is(worker('exits').code, 3);
  t.is(worker('onStep throws').code, 1);
});
