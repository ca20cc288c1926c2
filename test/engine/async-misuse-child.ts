// Run by async-misuse.test.ts in a process of its own (node --expose-gc --import tsx): every async
// call of the binding (the six `kernels.*Async` and the Model's logprobs, accumulate, generate,
// load), abused while it runs. Prints one JSON line per case: {case, outcome, detail}; the parent
// asserts the outcomes and that this process ends cleanly (a crash, an abort or a hang is the
// failure this guards against).
import { Worker } from 'node:worker_threads';

import { cpu, packageRoot } from '../../lib/engine/addon.js';
import type { NativeConfig } from '../../lib/engine/addon-types.js';

type Fn = (...a: unknown[]) => unknown;
const addon = cpu();
const K = addon.kernels as unknown as Record<string, Fn>;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function report(c: string, outcome: string, detail = '') {
  process.stdout.write(JSON.stringify({ case: c, outcome, detail }) + '\n');
}

// ---- the kernels' calls -----------------------------------------------------------------------
// An argument: a Float32Array the kernel reads (in) or writes (out), an Int32Array of indices it
// trusts once checked (idx), a number, or fused head's objective (arrays of T inside).
type Arg =
  | { kind: 'in'; n: number }
  | { kind: 'out'; n: number }
  | { kind: 'idx'; values: number[] }
  | { kind: 'num'; value: number }
  | { kind: 'objective'; T: number };

let seed = 1;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648 - 0.5;
}

function kernelCalls(): Record<string, Arg[]> {
  const f = (n: number): Arg => ({ kind: 'in', n });
  const o = (n: number): Arg => ({ kind: 'out', n });
  const num = (value: number): Arg => ({ kind: 'num', value });
  const idx = (values: number[]): Arg => ({ kind: 'idx', values });
  // attention: 3 sequences over T tokens
  const T = 96,
    Hq = 4,
    Hkv = 2,
    D = 16,
    cu = [0, 40, 70, T];

  // decode: B sequences of up to L cached rows
  const B = 4,
    L = 64;
  // matmul
  const M = 48,
    Kd = 64,
    N = 40;
  // fused head
  const Th = 24,
    C = 32,
    V = 50,
    chunk = 8;
  return {
    attentionForward: [o(T * Hq * D), o(T * Hq), f(T * Hq * D), f(T * Hkv * D), f(T * Hkv * D), idx(cu)].concat(
      [3, T, Hq, Hkv, D].map(num),
    ),
    attentionBackward: [
      o(T * Hq * D),
      o(T * Hkv * D),
      o(T * Hkv * D),
      f(T * Hq * D),
      f(T * Hq * D),
      f(T * Hkv * D),
      f(T * Hkv * D),
      f(T * Hq * D),
      f(T * Hq),
      idx(cu),
    ].concat([3, T, Hq, Hkv, D].map(num)),
    attentionDecode: [
      o(B * Hq * D),
      f(B * Hq * D),
      f(B * L * Hkv * D),
      f(B * L * Hkv * D),
      idx([1, 17, 64, 33]),
    ].concat([B, L, Hq, Hkv, D].map(num)),
    matmulForward: [o(M * N), f(M * Kd), f(N * Kd), f(N)].concat([M, Kd, N].map(num)),
    matmulBackward: [o(M * Kd), o(N * Kd), o(N), f(M * N), f(M * Kd), f(N * Kd)].concat([M, Kd, N].map(num)),
    fusedHead: [
      o(Th),
      o(Th * C),
      o(V * C),
      f(Th * C),
      f(V * C),
      idx(Array.from({ length: Th }, (_, i) => (i % 7 === 3 ? -1 : (i * 13) % V))),
      num(Th),
      num(C),
      num(V),
      { kind: 'objective', T: Th },
      num(chunk),
      f(chunk * V),
    ],
  };
}

// How a case makes a Float32Array / Int32Array of n elements.
type Ctor = typeof Float32Array | typeof Int32Array;
type Alloc = (n: number, ctor: Ctor) => Float32Array | Int32Array;
const view = (ctor: Ctor, buf: ArrayBufferLike, offset = 0, n?: number) =>
  ctor === Float32Array ? new Float32Array(buf, offset, n) : new Int32Array(buf, offset, n);
const plain: Alloc = (n, ctor) => new ctor(n);
// (resizable ArrayBuffers are in Node 20 but not in this TypeScript's lib)
type Resizable = ArrayBuffer & { resize(bytes: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (bytes: number, o: { maxByteLength: number }) => Resizable;
const resizable: Alloc = (n, ctor) => view(ctor, new ResizableBuffer(n * 4, { maxByteLength: n * 4 }));
const shared: Alloc = (n, ctor) => view(ctor, new SharedArrayBuffer(n * 4));
function inWasm(): { alloc: Alloc; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096 });
  let used = 0;
  return {
    memory,
    alloc: (n, ctor) => {
      const a = view(ctor, memory.buffer, used, n);
      used += n * 4;
      return a;
    },
  };
}

interface Built {
  args: unknown[];
  ins: Float32Array[];
  outs: Float32Array[];
  idx: Int32Array[];
}

// The same values every time for a given kernel (seeded), in arrays from `alloc`.
function build(spec: Arg[], alloc: Alloc): Built {
  seed = 7;
  const b: Built = { args: [], ins: [], outs: [], idx: [] };
  const floats = (n: number, into: Float32Array[]) => {
    const a = alloc(n, Float32Array) as Float32Array;
    for (let i = 0; i < n; i++) a[i] = rand();
    into.push(a);
    return a;
  };
  for (const a of spec) {
    if (a.kind === 'in' || a.kind === 'out') b.args.push(floats(a.n, a.kind === 'in' ? b.ins : b.outs));
    else if (a.kind === 'num') b.args.push(a.value);
    else if (a.kind === 'idx') {
      const x = alloc(a.values.length, Int32Array) as Int32Array;
      x.set(a.values);
      b.idx.push(x);
      b.args.push(x);
    } else {
      const weights = floats(a.T, b.ins);
      weights.forEach((x, i) => (weights[i] = Math.abs(x)));
      const advantages = floats(a.T, b.ins);
      const oldLogp = floats(a.T, b.ins);
      oldLogp.forEach((x, i) => (oldLogp[i] = x - 3));
      b.args.push({ weights, advantages, oldLogp, clipLow: 0.2, clipHigh: 0.3, normaliser: 7 });
    }
  }
  return b;
}

// The outputs of a clean synchronous call on the same values.
function reference(name: string, spec: Arg[]): { outs: Float32Array[]; value: unknown } {
  const b = build(spec, plain);
  const value = K[name](...b.args);
  return { outs: b.outs, value };
}

function same(a: Float32Array[], b: Float32Array[]): string {
  if (a.length !== b.length) return `${a.length} outputs vs ${b.length}`;
  for (let k = 0; k < a.length; k++) {
    if (a[k].length !== b[k].length) return `output ${k}: length ${a[k].length} vs ${b[k].length}`;
    for (let i = 0; i < a[k].length; i++) {
      const x = a[k][i],
        y = b[k][i];
      if (!(Math.abs(x - y) <= 1e-5 + 1e-5 * Math.abs(y))) return `output ${k}[${i}]: ${x} vs ${y}`;
    }
  }
  return '';
}

function detach(a: ArrayBufferView) {
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
}

async function settle(p: unknown): Promise<{ ok: true; value: unknown } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await (p as Promise<unknown>) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

// One case: build with `alloc`, call the Async twin, tamper at once, and report what came back.
// `expect`: 'same' (resolves with the clean call's outputs), 'lost' (rejects naming an output
// as detached or resized) or 'alive' (anything but a crash).
async function kernelCase(
  name: string,
  spec: Arg[],
  label: string,
  alloc: Alloc,
  tamper: (b: Built) => void,
  expect: 'same' | 'lost' | 'alive',
) {
  const ref = reference(name, spec);
  const b = build(spec, alloc);
  const p = K[`${name}Async`](...b.args);
  tamper(b);
  gc();
  const r = await settle(p);
  const c = `${name}Async ${label}`;
  if (expect === 'alive') return report(c, 'alive', r.ok ? 'resolved' : r.error.message);
  if (expect === 'lost') {
    if (r.ok) return report(c, 'wrong', 'resolved, expected a rejection');
    if (!/was detached or resized while the kernel ran/.test(r.error.message))
      return report(c, 'wrong', r.error.message);
    return report(c, 'lost', r.error.message);
  }
  if (!r.ok) return report(c, 'wrong', r.error.message);
  const diff = same(b.outs, ref.outs);
  if (diff) return report(c, 'wrong', diff);
  if (JSON.stringify(r.value) !== JSON.stringify(ref.value))
    return report(c, 'wrong', `${JSON.stringify(r.value)} vs ${JSON.stringify(ref.value)}`);
  report(c, 'same');
}

const wild = [2147483647, -2147483648, 1 << 30, -1, 999999];
function scramble(b: Built, which: ('ins' | 'outs' | 'idx')[]) {
  for (const w of which) {
    if (w === 'idx') b.idx.forEach((a) => a.forEach((_, i) => (a[i] = wild[i % wild.length])));
    else b[w].forEach((a) => a.fill(NaN));
  }
}

async function kernelCases() {
  for (const [name, spec] of Object.entries(kernelCalls())) {
    await kernelCase(name, spec, 'untouched', plain, () => {}, 'same');
    await kernelCase(name, spec, 'inputs detached', plain, (b) => [...b.ins, ...b.idx].forEach(detach), 'same');
    await kernelCase(name, spec, 'an output detached', plain, (b) => detach(b.outs[0]), 'lost');
    await kernelCase(
      name,
      spec,
      'inputs shrunk to 0',
      resizable,
      (b) => [...b.ins, ...b.idx].forEach((a) => (a.buffer as Resizable).resize(0)),
      'same',
    );
    await kernelCase(
      name,
      spec,
      'outputs shrunk',
      resizable,
      (b) => b.outs.forEach((a) => (a.buffer as Resizable).resize(4)),
      'lost',
    );
    await kernelCase(name, spec, 'everything overwritten', plain, (b) => scramble(b, ['ins', 'outs', 'idx']), 'same');
    await kernelCase(name, spec, 'shared, untouched', shared, () => {}, 'same');
    await kernelCase(name, spec, 'shared, indices overwritten', shared, (b) => scramble(b, ['idx']), 'same');
    await kernelCase(name, spec, 'shared, floats overwritten', shared, (b) => scramble(b, ['ins', 'outs']), 'alive');
    const w = inWasm();
    await kernelCase(name, spec, 'wasm memory grown (buffer detached)', w.alloc, () => w.memory.grow(2048), 'lost');
  }
}

// An array on a SharedArrayBuffer is used in place (pinned, not copied): the kernel's writes show
// while it runs, and a write after it ended stays. Any other array is copied: JavaScript sees
// nothing until the Promise settles, and then the kernel's result.
async function inPlaceCase() {
  for (const sab of [true, false]) {
    const n = 64;
    const mk = () => {
      const a = new Float32Array(sab ? new SharedArrayBuffer(n * n * 4) : new ArrayBuffer(n * n * 4));
      return a.fill(1);
    };
    const [out, x, w] = [mk(), mk(), mk()];
    const p = K.matmulForwardAsync(out, x, w, null, n, n, n) as Promise<void>;
    const t0 = Date.now();
    while (out[0] === 1 && Date.now() - t0 < (sab ? 10_000 : 300)); // the main thread stays busy
    const during = out[0];
    out[0] = -5;
    await p;
    report(
      `matmulForwardAsync output on ${sab ? 'a SharedArrayBuffer' : 'an ArrayBuffer'}`,
      sab ? 'in place' : 'copied',
      JSON.stringify({ during, after: out[0] }),
    );
  }
}

// ---- the Model's async calls --------------------------------------------------------------------
const CONFIG: NativeConfig = {
  vocabSize: 96,
  hiddenSize: 48,
  intermediateSize: 80,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 12,
  rmsEps: 1e-6,
  ropeTheta: 10000,
  tied: true,
};
const FIXTURE = `${packageRoot()}/test/fixtures/qwen2/tied`;

function batch() {
  const tokens = Int32Array.from({ length: 30 }, (_, i) => (i * 7 + 3) % 96);
  const positions = Int32Array.from({ length: 30 }, (_, i) => (i < 12 ? i : i - 12));
  const cuSeqlens = Int32Array.from([0, 12, 30]);
  return { tokens, positions, cuSeqlens };
}

async function modelCases() {
  const model = new addon.Model(CONFIG, 'cpu');
  await model.load(FIXTURE);
  const objective = () => ({
    weights: new Float32Array(30).fill(1),
    advantages: Float32Array.from({ length: 30 }, (_, i) => (i % 3) - 1),
    oldLogprobs: new Float32Array(30).fill(-4),
    normaliser: 30,
  });
  const b0 = batch();
  const refLp = await model.logprobs(b0.tokens, b0.positions, b0.cuSeqlens, 1);
  const refAcc = await model.accumulate(b0.tokens, b0.positions, b0.cuSeqlens, objective());
  await model.zeroGrad();
  const genOpts = { maxNewTokens: 20, temperature: 1, topK: 0, topP: 1, seed: 5 };

  const tampers: [string, (a: ArrayBufferView[]) => void][] = [
    ['detached', (arrays) => arrays.forEach(detach)],
    ['overwritten', (arrays) => arrays.forEach((a) => (a as Int32Array).fill(-7))],
  ];
  for (const [label, tamper] of tampers) {
    let b = batch();
    let p: Promise<unknown> = model.logprobs(b.tokens, b.positions, b.cuSeqlens, 1);
    tamper([b.tokens, b.positions, b.cuSeqlens]);
    gc();
    const lp = await settle(p);
    report(
      `Model.logprobs inputs ${label}`,
      lp.ok ? same([lp.value as Float32Array], [refLp]) || 'same' : 'wrong',
      lp.ok ? '' : lp.error.message,
    );

    b = batch();
    const obj = objective();
    p = model.accumulate(b.tokens, b.positions, b.cuSeqlens, obj);
    tamper([b.tokens, b.positions, b.cuSeqlens, obj.weights, obj.advantages, obj.oldLogprobs]);
    gc();
    const acc = await settle(p);
    await model.zeroGrad();
    const accSame =
      acc.ok && (acc.value as typeof refAcc).loss === refAcc.loss
        ? same([(acc.value as typeof refAcc).logprobs], [refAcc.logprobs]) || 'same'
        : 'wrong';
    report(`Model.accumulate inputs ${label}`, accSame, acc.ok ? '' : acc.error.message);

    b = batch();
    const stops = Int32Array.from([95]);
    p = model.generate(b.tokens, b.positions, b.cuSeqlens, { ...genOpts, stopTokens: stops });
    tamper([b.tokens, b.positions, b.cuSeqlens, stops]);
    gc();
    const g = await settle(p);
    const refStop = await model.generate(batch().tokens, batch().positions, batch().cuSeqlens, {
      ...genOpts,
      stopTokens: Int32Array.from([95]),
    });
    const gSame =
      g.ok &&
      JSON.stringify((g.value as { tokens: Int32Array[] }).tokens.map((t) => [...t])) ===
        JSON.stringify(refStop.tokens.map((t) => [...t]))
        ? 'same'
        : 'wrong';
    report(`Model.generate inputs ${label}`, gSame, g.ok ? '' : g.error.message);
  }
}

// ---- worker threads torn down mid-call ----------------------------------------------------------
// Each worker loads the addon, starts long async calls (every kernel, several at once, on plain
// and shared arrays; a generate that would run for minutes, with and without onStep; a load with
// onProgress), says "started", then ends as `how` says. The main thread must see the worker end
// (promptly) and go on.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.root + '/node_modules/node-gyp-build')(workerData.root);
const K = addon.kernels;
const big = (n, sab) => { const a = new Float32Array(sab ? new SharedArrayBuffer(n * 4) : n); for (let i = 0; i < n; i++) a[i] = Math.sin(i); return a; };
const pending = [];
function startKernels() {
  for (const sab of [false, true]) {
    const M = 384, Kd = 384, N = 384;
    pending.push(K.matmulForwardAsync(big(M * N, sab), big(M * Kd, sab), big(N * Kd, sab), null, M, Kd, N));
    pending.push(K.matmulBackwardAsync(big(M * Kd, sab), big(N * Kd, sab), big(N, sab), big(M * N, sab), big(M * Kd, sab), big(N * Kd, sab), M, Kd, N));
    const T = 512, Hq = 4, Hkv = 2, D = 32, cu = Int32Array.from([0, 200, T]);
    pending.push(K.attentionForwardAsync(big(T * Hq * D, sab), big(T * Hq, sab), big(T * Hq * D, sab), big(T * Hkv * D, sab), big(T * Hkv * D, sab), cu, 2, T, Hq, Hkv, D));
    pending.push(K.attentionBackwardAsync(big(T * Hq * D, sab), big(T * Hkv * D, sab), big(T * Hkv * D, sab), big(T * Hq * D, sab), big(T * Hq * D, sab), big(T * Hkv * D, sab), big(T * Hkv * D, sab), big(T * Hq * D, sab), big(T * Hq, sab), cu, 2, T, Hq, Hkv, D));
    const B = 8, L = 512;
    pending.push(K.attentionDecodeAsync(big(B * Hq * D, sab), big(B * Hq * D, sab), big(B * L * Hkv * D, sab), big(B * L * Hkv * D, sab), Int32Array.from({ length: B }, () => L), B, L, Hq, Hkv, D));
    const Th = 128, C = 64, V = 2000;
    pending.push(K.fusedHeadAsync(big(Th, sab), big(Th * C, sab), big(V * C, sab), big(Th * C, sab), big(V * C, sab), Int32Array.from({ length: Th }, (_, i) => i % V), Th, C, V, undefined, 16, null));
  }
}
const model = new addon.Model(workerData.config, 'cpu');
const prompt = [Int32Array.from([1, 2, 3]), Int32Array.from([0, 1, 2]), Int32Array.from([0, 3])];
const opts = { maxNewTokens: 1 << 20, temperature: 1, topK: 0, topP: 1, seed: 1 };
model.load(workerData.fixture).then(() => {
  pending.push(model.generate(...prompt, opts));
  pending.push(model.generate(...prompt, { ...opts, onStep: () => { if (workerData.how === 'onStep throws') throw new Error('from onStep'); } }));
  const other = new addon.Model(workerData.config, 'cpu');
  pending.push(other.load(workerData.fixture, () => false));
  for (const p of pending) p.catch(() => {});
  setTimeout(() => {
    startKernels();
    for (const p of pending) p.catch(() => {});
    parentPort.postMessage('started');
    if (workerData.how === 'throws') throw new Error('worker throws mid-call');
    if (workerData.how === 'exits') process.exit(3);
  }, 300);
});
`;

async function workerCase(how: 'terminated' | 'throws' | 'exits' | 'onStep throws') {
  const w = new Worker(WORKER, {
    eval: true,
    workerData: { root: packageRoot(), config: CONFIG, fixture: FIXTURE, how },
  });
  let error = '';
  w.on('error', (e) => (error = e.message));
  const exited = new Promise<number>((r) => w.on('exit', r));
  await new Promise<void>((r, j) => {
    w.once('message', () => r());
    w.once('exit', () => j(new Error('worker ended before it started')));
  });
  const t0 = Date.now();
  if (how === 'terminated' || how === 'onStep throws') void w.terminate();
  const code = await exited;
  report(`worker ${how} mid-call`, 'ended', JSON.stringify({ code, error, ms: Date.now() - t0 }));
}

await kernelCases();
await inPlaceCase();
await modelCases();
for (const how of ['terminated', 'throws', 'exits', 'onStep throws'] as const) await workerCase(how);
report('done', 'done');
