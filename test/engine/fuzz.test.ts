// Nothing passed to the native binding may crash the process. Every function the addon exports
// (top level and inside exported objects such as `kernels`) has a spec below: one valid call,
// described argument by argument. The fuzzer checks that the valid call runs, then derives 1000
// wrong calls per function by mutating it (wrong types, wrong TypedArray kinds, short and long
// arrays, NaN / Infinity / negative / fractional / huge numbers, out-of-range ids, broken
// cu_seqlens, missing arguments, null / undefined / objects) and asserts that each one throws a
// JavaScript error (or rejects, for the Async functions), and that a single mutation's error
// names the argument. Seeded, so a failure reproduces; the process surviving is the test.
//
// A function added to the addon without a spec fails the first test: add its valid call here.
import test from 'ava';

import { cpu } from '../../lib/engine/addon.js';

const CALLS_PER_FUNCTION = 1000;

// ---- argument specs ---------------------------------------------------------------------------
const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

type Arg =
  | { kind: 'f32'; name: string; len: number; optional: boolean }
  | { kind: 'ids'; name: string; values: number[]; lo: number; hi: number }
  | { kind: 'cu'; name: string; values: number[] }
  | { kind: 'dim'; name: string; value: number; lo: number; hi: number } // an integer size that enters array lengths
  | { kind: 'int'; name: string; value: number; lo: number; hi: number }
  | { kind: 'real'; name: string; value: number; lo: number; hi: number }
  | { kind: 'bool'; name: string; value: boolean }
  | { kind: 'objective'; name: string; T: number };

const f32 = (name: string, len: number): Arg => ({ kind: 'f32', name, len, optional: false });
const opt = (name: string, len: number): Arg => ({ kind: 'f32', name, len, optional: true });
const ids = (name: string, values: number[], lo: number, hi: number): Arg => ({ kind: 'ids', name, values, lo, hi });
const cu = (name: string, values: number[]): Arg => ({ kind: 'cu', name, values });
// lo: the smallest value the binding accepts
const dim = (name: string, value: number, lo = 1, hi = I32_MAX): Arg => ({ kind: 'dim', name, value, lo, hi });
const count = (name: string, value: number): Arg => dim(name, value, 0, 2 ** 53); // int64 element counts
const int = (name: string, value: number, lo: number, hi: number): Arg => ({ kind: 'int', name, value, lo, hi });
const real = (name: string, value: number, lo = -Infinity, hi = Infinity): Arg => ({ kind: 'real', name, value, lo, hi });
const bool = (name: string, value: boolean): Arg => ({ kind: 'bool', name, value });

interface Spec {
  args: Arg[];
  noArgs?: boolean; // takes nothing: extra arguments are ignored, it must just not crash
}

function specs(): Record<string, Spec> {
  // Small shapes, every size >= 2 and no two products alike, so that changing one size by one
  // always breaks some array length.
  const T = 5, C = 3, V = 7, H = 2, D = 4, Hq = 4, Hkv = 2, N = 6, M = 3, K = 5, B = 2, L = 3;
  const tok = [1, 6, 0, 3, 3];
  const cuv = [0, 2, 5];
  const attn = (pre: Arg[], post: Arg[] = []) => [
    ...pre,
    cu('cuSeqlens', cuv),
    dim('numSeqs', 2),
    dim('T', T, 0),
    dim('Hq', Hq),
    dim('Hkv', Hkv),
    dim('D', D),
    ...post,
  ];
  const gemm = (ta: boolean, tb: boolean): Arg[] => [
    bool('transA', ta),
    bool('transB', tb),
    int('M', M, 0, I32_MAX),
    int('N', N, 0, I32_MAX),
    int('K', K, 0, I32_MAX),
    real('alpha', 0.5),
    f32('A', (ta ? K : M) * (ta ? M : K)),
    dim('lda', ta ? M : K),
    f32('B', (tb ? N : K) * (tb ? K : N)),
    dim('ldb', tb ? K : N),
    real('beta', 1),
    f32('C', M * N),
    dim('ldc', N),
  ];
  return {
    numThreads: { args: [], noArgs: true },
    setNumThreads: { args: [int('threads', cpu().numThreads(), 1, 1024)] },
    'kernels.embeddingForward': { args: [f32('out', T * C), ids('tokens', tok, 0, V), f32('wte', V * C), dim('T', T, 0), dim('C', C), dim('V', V)] },
    'kernels.embeddingBackward': { args: [f32('dwte', V * C), f32('dout', T * C), ids('tokens', tok, 0, V), dim('T', T, 0), dim('C', C), dim('V', V)] },
    'kernels.rmsnormForward': { args: [f32('out', T * C), opt('rstd', T), f32('x', T * C), f32('w', C), dim('T', T, 0), dim('C', C), real('eps', 1e-6, 0, 1)] },
    'kernels.rmsnormBackward': { args: [opt('dx', T * C), opt('dw', C), f32('dout', T * C), f32('x', T * C), f32('w', C), f32('rstd', T), dim('T', T, 0), dim('C', C)] },
    'kernels.ropeForward': { args: [f32('out', T * H * D), f32('x', T * H * D), ids('positions', [0, 1, 2, 9, 4], 0, I32_MAX), dim('T', T, 0), dim('H', H), dim('D', D, 2), real('theta', 10000, 1.001, 1e12)] },
    'kernels.ropeBackward': { args: [f32('dx', T * H * D), f32('dout', T * H * D), ids('positions', [0, 1, 2, 9, 4], 0, I32_MAX), dim('T', T, 0), dim('H', H), dim('D', D, 2), real('theta', 10000, 1.001, 1e12)] },
    'kernels.attentionForward': { args: attn([f32('out', T * Hq * D), opt('lse', T * Hq), f32('q', T * Hq * D), f32('k', T * Hkv * D), f32('v', T * Hkv * D)]) },
    'kernels.attentionBackward': {
      args: attn([opt('dq', T * Hq * D), opt('dk', T * Hkv * D), opt('dv', T * Hkv * D), f32('dout', T * Hq * D), f32('q', T * Hq * D),
        f32('k', T * Hkv * D), f32('v', T * Hkv * D), f32('out', T * Hq * D), f32('lse', T * Hq)]),
    },
    'kernels.attentionDecode': {
      args: [f32('out', B * Hq * D), f32('q', B * Hq * D), f32('kCache', B * L * Hkv * D), f32('vCache', B * L * Hkv * D),
        ids('lens', [1, 3], 1, L + 1), dim('B', B, 0), dim('maxLen', L), dim('Hq', Hq), dim('Hkv', Hkv), dim('D', D)],
    },
    'kernels.swigluForward': { args: [f32('out', N), f32('gate', N), f32('up', N), count('N', N)] },
    'kernels.swigluBackward': { args: [opt('dgate', N), opt('dup', N), f32('dout', N), f32('gate', N), f32('up', N), count('N', N)] },
    'kernels.matmulForward': { args: [f32('out', M * N), f32('x', M * K), f32('w', N * K), opt('bias', N), dim('M', M, 0), dim('K', K, 0), dim('N', N, 0)] },
    'kernels.matmulBackward': {
      args: [opt('dx', M * K), opt('dw', N * K), opt('dbias', N), f32('dout', M * N), f32('x', M * K), f32('w', N * K), dim('M', M, 0), dim('K', K, 0), dim('N', N, 0)],
    },
    'kernels.sgemm': { args: gemm(false, true) },
    'kernels.sgemmOurs': { args: gemm(true, false) },
    'kernels.sgemmBlas': { args: gemm(false, false) }, // where the build has no BLAS it throws: see below
    'kernels.setSgemmBackend': { args: [int('backend', 0, 0, cpu().kernels.haveBlas() ? 2 : 1)] },
    'kernels.haveBlas': { args: [], noArgs: true },
    'kernels.fusedHead': {
      args: [opt('logp', T), opt('dh', T * C), opt('dW', V * C), f32('h', T * C), f32('W', V * C), ids('targets', [1, -1, 6, 0, 2], I32_MIN, V),
        dim('T', T, 0), dim('C', C), dim('V', V), { kind: 'objective', name: 'objective', T }, dim('chunk', 2), opt('scratch', 2 * V)],
    },
    'kernels.adamwStep': {
      args: [f32('param', N), f32('grad', N), f32('m', N), f32('v', N), count('n', N), real('lr', 1e-3, 0, 1e30), real('beta1', 0.9, 0, 0.99999),
        real('beta2', 0.999, 0, 0.99999), real('eps', 1e-8, 0, 1e30), real('weightDecay', 0.01, 0, 1e30), int('step', 1, 1, I32_MAX), real('gradScale', 1)],
    },
    'kernels.gradNormSq': { args: [f32('g', N), count('n', N)] },
    'kernels.clipScale': { args: [real('totalNorm', 3, 0, 1e300), real('maxNorm', 1, 1e-30, 1e30)] },
    'kernels.sampleToken': {
      args: [f32('logits', V), dim('V', V), real('temperature', 0.8), int('topK', 3, I32_MIN, I32_MAX), real('topP', 0.9, 1e-30, 1),
        real('u', 0.5, 0, 0.99999), opt('scratch', 2 * V)],
    },
  };
}
// Async twins take the same arguments as their sync function.
function specFor(path: string, all: Record<string, Spec>): Spec | undefined {
  return all[path] ?? (path.endsWith('Async') ? all[path.slice(0, -5)] : undefined);
}

// ---- seeded random ----------------------------------------------------------------------------
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)] };
}
type Rng = ReturnType<typeof rng>;

function floats(n: number, r: Rng) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.next() * 2 - 1;
  return a;
}
function validValue(a: Arg, r: Rng): unknown {
  switch (a.kind) {
    case 'f32': return floats(a.len, r);
    case 'ids': return Int32Array.from(a.values);
    case 'cu': return Int32Array.from(a.values);
    case 'objective': return { weights: Float32Array.from({ length: a.T }, (_, i) => i % 2), advantages: floats(a.T, r), oldLogp: floats(a.T, r).map((x) => x - 2), beta: 0.1, clipLow: 0.2, clipHigh: 0.3, normaliser: 4, temperature: 0.9 };
    default: return a.value;
  }
}

// Values that are wrong for any argument of the kind, whatever the other arguments are.
const notNumbers = (): unknown[] => ['3', true, null, undefined, {}, [], [1], () => 1, 10n, Symbol('x'), new Float32Array(1)];
const notArrays = (): unknown[] => [1, '1', true, null, undefined, {}, [0.5, 1], new ArrayBuffer(8), new DataView(new ArrayBuffer(8)), () => 0, 7n];
const wrongKinds = (n: number, want: 'f32' | 'i32'): unknown[] => [
  new Float64Array(n), new Uint8Array(n), new Int16Array(n), new Uint32Array(n), new Uint8ClampedArray(n),
  want === 'f32' ? new Int32Array(n) : new Float32Array(n),
];

interface Mutation {
  value: unknown;
  // 'self': wrong whatever the other arguments are; 'shape': wrong only against the others'
  // current sizes (at most one shape mutation per call, so two cannot cancel out).
  level: 'self' | 'shape';
}

function mutations(a: Arg, r: Rng): Mutation[] {
  const self = (values: unknown[]) => values.map((value) => ({ value, level: 'self' as const }));
  const shape = (values: unknown[]) => values.map((value) => ({ value, level: 'shape' as const }));
  switch (a.kind) {
    case 'f32': {
      const bad = notArrays().filter((v) => !(a.optional && (v === null || v === undefined)));
      return [...self([...bad, ...wrongKinds(a.len, 'f32')]), ...shape([floats(a.len + 1, r), floats(a.len - 1, r), new Float32Array(0), floats(2 * a.len, r)])];
    }
    case 'ids': {
      const n = a.values.length, i = r.int(n);
      const high = Int32Array.from(a.values);
      high[i] = a.hi === I32_MAX ? -1 : a.hi;
      const low = Int32Array.from(a.values);
      low[i] = a.lo === I32_MIN ? I32_MAX : a.lo - 1;
      return [...self([...notArrays(), ...wrongKinds(n, 'i32')]),
        ...shape([high, low, Int32Array.from([...a.values, 0]), Int32Array.from(a.values.slice(1)), new Int32Array(0)])];
    }
    case 'cu': {
      const v = a.values, last = v[v.length - 1];
      return [...self([...notArrays(), ...wrongKinds(v.length, 'i32')]),
        ...shape([Int32Array.from([1, ...v.slice(1)]), Int32Array.from([...v.slice(0, -1), last + 1]), Int32Array.from([...v.slice(0, -1), last - 1]),
          Int32Array.from([0, last, ...v.slice(2)].map((x, j) => (j === 1 ? last : x)).reverse()), Int32Array.from([...v, last]), Int32Array.from(v.slice(0, -1)),
          Int32Array.from([0, 3, 1, last]), new Int32Array(0)])];
    }
    case 'dim':
      return [...self([...notNumbers(), NaN, Infinity, -Infinity, a.value + 0.5, a.lo - 1, -1, a.hi * 2 + 2, 1e300, -1e300]),
        ...shape([a.value + 1, a.value - 1, I32_MAX, 1000003])];
    case 'int':
      return self([...notNumbers(), NaN, Infinity, -Infinity, a.value + 0.5, ...(a.lo > I32_MIN ? [a.lo - 1] : []), a.hi + 1, 2 ** 53, -1e300]);
    case 'real':
      return self([...notNumbers(), NaN, Infinity, -Infinity, ...(a.lo > -Infinity ? [a.lo - 1 - Math.abs(a.lo), a.lo - 1e-3 * (1 + Math.abs(a.lo))] : []),
        ...(a.hi < Infinity ? [a.hi + 1 + Math.abs(a.hi), a.hi + 1e-3 * (1 + Math.abs(a.hi))] : [])]);
    case 'bool':
      return self([0, 1, 'true', null, undefined, {}, [], new Uint8Array(1)]);
    case 'objective': {
      const base = validValue(a, r) as Record<string, unknown>;
      const field = (k: string, v: unknown) => ({ ...base, [k]: v });
      return [...self([1, 'x', true, [1, 2], new Float32Array(a.T)]),
        ...self(['weights', 'advantages', 'oldLogp', 'refLogp'].flatMap((k) => [field(k, [1, 2, 3, 4, 5]), field(k, new Float64Array(a.T)), field(k, 3)])),
        ...shape(['weights', 'advantages', 'oldLogp', 'refLogp'].flatMap((k) => [field(k, new Float32Array(a.T + 1)), field(k, new Float32Array(a.T - 1))])),
        ...self([field('normaliser', 0), field('normaliser', -1), field('temperature', 0), field('temperature', NaN), field('clipLow', -0.5),
          field('clipHigh', -1), field('beta', Infinity), field('beta', '0.1'), field('normaliser', 'x')])];
    }
  }
}

interface Wrong {
  args: unknown[];
  name?: string; // the argument a lone mutation broke: its error must name it
}

function wrongCall(spec: Spec, r: Rng): Wrong {
  const args = spec.args.map((a) => validValue(a, r));
  const roll = r.next();
  if (roll < 0.1) {
    // drop the arguments from a required one on
    const required = spec.args.map((a, i) => (a.kind === 'f32' && a.optional) || (a.kind === 'objective') ? -1 : i).filter((i) => i >= 0);
    const cut = r.pick(required);
    return { args: args.slice(0, r.int(cut + 1)) };
  }
  const count = roll < 0.7 ? 1 : 2 + r.int(2);
  const order = spec.args.map((_, i) => i).sort(() => r.next() - 0.5).slice(0, count);
  let shapeUsed = false;
  let name: string | undefined;
  for (const i of order) {
    let options = mutations(spec.args[i], r);
    if (shapeUsed) options = options.filter((m) => m.level === 'self');
    const m = r.pick(options);
    shapeUsed ||= m.level === 'shape';
    args[i] = m.value;
    if (count === 1 && m.level === 'self') name = spec.args[i].name;
  }
  return { args, name };
}

// ---- the exported functions -------------------------------------------------------------------
type Fn = (...args: unknown[]) => unknown;
function exported(): Map<string, Fn> {
  const out = new Map<string, Fn>();
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(obj)) {
      if (typeof value === 'function') out.set(prefix + key, value as Fn);
      else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) walk(value as Record<string, unknown>, `${prefix}${key}.`);
    }
  };
  walk(cpu() as Record<string, unknown>, '');
  return out;
}

async function outcome(f: Fn, args: unknown[]): Promise<unknown> {
  try {
    const r = f(...args);
    if (r instanceof Promise) await r;
    return undefined;
  } catch (e) {
    return e;
  }
}

test('every exported function has a fuzz spec', (t) => {
  const all = specs();
  const missing = [...exported().keys()].filter((p) => !specFor(p, all));
  t.deepEqual(missing, [], `add a valid call for these to test/engine/fuzz.test.ts: ${missing.join(', ')}`);
  t.true(exported().size >= 30);
});

test(`${CALLS_PER_FUNCTION} mutated calls per exported function each throw a JS error`, async (t) => {
  const all = specs();
  const haveBlas = cpu().kernels.haveBlas() as boolean;
  let calls = 0;
  for (const [path, f] of exported()) {
    const spec = specFor(path, all);
    if (!spec) continue;
    const r = rng(0x5eed ^ [...path].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
    if (spec.noArgs) {
      const want = typeof f();
      for (let i = 0; i < CALLS_PER_FUNCTION; i++) {
        const junk = Array.from({ length: r.int(6) }, () => r.pick([...notNumbers(), ...notArrays(), NaN, -1, 1e300]));
        t.is(typeof f(...junk), want, `${path} with junk arguments`);
        calls++;
      }
      continue;
    }
    // the valid call must run (else every "error" below would prove nothing)
    const validErr = await outcome(f, spec.args.map((a) => validValue(a, r)));
    const blasless = path.startsWith('kernels.sgemmBlas') && !haveBlas;
    if (blasless) t.regex(String(validErr), /BLAS/, `${path}: without BLAS the valid call names BLAS`);
    else t.is(validErr, undefined, `${path}: the valid call threw ${String(validErr)}`);
    for (let i = 0; i < CALLS_PER_FUNCTION; i++) {
      const wrong = wrongCall(spec, r);
      const err = await outcome(f, wrong.args);
      calls++;
      if (!(err instanceof Error)) {
        t.fail(`${path}: call ${i} did not throw: (${wrong.args.map((a) => describe(a)).join(', ')})`);
        return;
      }
      if (wrong.name && !blasless && !new RegExp(`\\b${wrong.name.replace('.', '\\.')}\\b`).test(err.message)) {
        t.fail(`${path}: error "${err.message}" does not name ${wrong.name}`);
        return;
      }
    }
  }
  t.log(`${calls} wrong calls, all rejected`);
  t.pass();
});

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Float32Array).length ?? ''})`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
