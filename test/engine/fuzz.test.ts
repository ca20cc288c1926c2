// Nothing passed to the native binding may crash the process. Every function the addon exports
// (top level, inside exported objects such as `kernels`, and the constructor and methods of
// exported classes such as `Model`) has a spec below: one valid call, described argument by
// argument. The fuzzer checks that the valid call runs, then derives 1000 wrong calls per
// function by mutating it (wrong types, wrong TypedArray kinds, short and long arrays, NaN /
// Infinity / negative / fractional / huge numbers, out-of-range ids, broken cu_seqlens, bad
// strings and paths, broken option objects, missing arguments, null / undefined) and asserts
// that each one throws a JavaScript error (or rejects, for Promise-returning functions), and
// that a lone mutation's error names the argument. Seeded, so a failure reproduces; the
// process surviving is the test.
//
// A function added to the addon without a spec fails the first test: add its valid call here.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { cpu } from '../../lib/engine/addon.js';

const CALLS_PER_FUNCTION = 1000;
const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

// ---- argument specs ---------------------------------------------------------------------------
type Arg = { name: string; optional?: boolean } & (
  | { kind: 'f32'; len: number }
  | { kind: 'ids'; values: number[]; lo: number; hi: number; anyLength?: boolean } // Int32Array, values in [lo, hi)
  | { kind: 'cu'; values: number[] } // cu_seqlens
  | { kind: 'dim'; value: number; lo: number; hi: number } // an integer size that enters array lengths
  | { kind: 'int'; value: number; lo: number; hi: number }
  | { kind: 'real'; value: number; lo: number; hi: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'str'; value: string; bad: string[] } // bad: strings that must be refused
  | { kind: 'obj'; fields: Arg[] } // an options object; field names are `name.key`
);

const f32 = (name: string, len: number): Arg => ({ kind: 'f32', name, len });
const opt = (a: Arg): Arg => ({ ...a, optional: true });
const ids = (name: string, values: number[], lo: number, hi: number): Arg => ({ kind: 'ids', name, values, lo, hi });
const cu = (name: string, values: number[]): Arg => ({ kind: 'cu', name, values });
// lo, hi: what the binding accepts
const dim = (name: string, value: number, lo = 1, hi = I32_MAX): Arg => ({ kind: 'dim', name, value, lo, hi });
const count = (name: string, value: number): Arg => dim(name, value, 0, 2 ** 53); // int64 element counts
const int = (name: string, value: number, lo: number, hi: number): Arg => ({ kind: 'int', name, value, lo, hi });
const real = (name: string, value: number, lo = -Infinity, hi = Infinity): Arg => ({
  kind: 'real',
  name,
  value,
  lo,
  hi,
});
const bool = (name: string, value: boolean): Arg => ({ kind: 'bool', name, value });
const str = (name: string, value: string, bad: string[]): Arg => ({ kind: 'str', name, value, bad });
const obj = (name: string, fields: Arg[]): Arg => ({ kind: 'obj', name, fields });
const key = (a: Arg) => a.name.slice(a.name.lastIndexOf('.') + 1);

interface Spec {
  args: Arg[];
  noArgs?: boolean; // takes nothing: extra arguments are ignored, it must just not crash
  setup?: (self: Record<string, (...a: unknown[]) => unknown>) => Promise<void>; // methods: run first on the instance
}

// Files for the Model's load / save methods.
const scratchDir = mkdtempSync(join(tmpdir(), 'ws-fuzz-'));
const aFile = join(scratchDir, 'file');
writeFileSync(aFile, 'not a folder');
const badPaths = [join(aFile, 'sub'), join(scratchDir, 'missing', 'deeper'), ''];
// A binding that took '' for the current folder would write there: keep that inside scratchDir.
const cwd = process.cwd();
process.chdir(scratchDir);
test.after.always(() => {
  process.chdir(cwd);
  rmSync(scratchDir, { recursive: true, force: true });
});

function specs(): Record<string, Spec> {
  // Small shapes, every size >= 2 and no two products alike, so that changing one size by one
  // always breaks some array length.
  const T = 5,
    C = 3,
    V = 7,
    H = 2,
    D = 4,
    Hq = 4,
    Hkv = 2,
    N = 6,
    M = 3,
    K = 5,
    B = 2,
    L = 3;
  const tok = [1, 6, 0, 3, 3];
  const cuv = [0, 2, 5];
  const attn = (pre: Arg[]) => [
    ...pre,
    cu('cuSeqlens', cuv),
    dim('numSeqs', 2),
    dim('T', T, 0),
    dim('Hq', Hq),
    dim('Hkv', Hkv),
    dim('D', D),
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
  // The Model: a tiny config; vocab MV, a 2-sequence batch of MT tokens.
  const MV = 11,
    MT = 6;
  const mtok = [1, 5, 10, 0, 2, 2],
    mpos = [0, 1, 2, 0, 1, 2],
    mcu = [0, 3, 6];
  const config = () =>
    obj('config', [
      int('config.vocabSize', MV, 1, 1 << 22),
      int('config.hiddenSize', 16, 1, 1 << 16),
      int('config.intermediateSize', 24, 1, 1 << 18),
      int('config.numLayers', 1, 1, 1024),
      int('config.numHeads', 4, 1, 1024),
      int('config.numKvHeads', 2, 1, 1024),
      int('config.headDim', 4, 2, 4096),
      real('config.rmsEps', 1e-6, 1e-12, 1),
      real('config.ropeTheta', 10000, 1, 1e12),
      bool('config.tied', true),
    ]);
  const batch = () => [ids('tokens', mtok, 0, MV), ids('positions', mpos, 0, 1 << 24), cu('cuSeqlens', mcu)];
  const haveBlas = cpu().kernels.haveBlas() as boolean;
  return {
    numThreads: { args: [], noArgs: true },
    setNumThreads: { args: [int('threads', cpu().numThreads(), 1, 1024)] },
    'kernels.embeddingForward': {
      args: [f32('out', T * C), ids('tokens', tok, 0, V), f32('wte', V * C), dim('T', T, 0), dim('C', C), dim('V', V)],
    },
    'kernels.embeddingBackward': {
      args: [
        f32('dwte', V * C),
        f32('dout', T * C),
        ids('tokens', tok, 0, V),
        dim('T', T, 0),
        dim('C', C),
        dim('V', V),
      ],
    },
    'kernels.rmsnormForward': {
      args: [
        f32('out', T * C),
        opt(f32('rstd', T)),
        f32('x', T * C),
        f32('w', C),
        dim('T', T, 0),
        dim('C', C),
        real('eps', 1e-6, 0, 1),
      ],
    },
    'kernels.rmsnormBackward': {
      args: [
        opt(f32('dx', T * C)),
        opt(f32('dw', C)),
        f32('dout', T * C),
        f32('x', T * C),
        f32('w', C),
        f32('rstd', T),
        dim('T', T, 0),
        dim('C', C),
      ],
    },
    'kernels.ropeForward': {
      args: [
        f32('out', T * H * D),
        f32('x', T * H * D),
        ids('positions', [0, 1, 2, 9, 4], 0, I32_MAX),
        dim('T', T, 0),
        dim('H', H),
        dim('D', D, 2),
        real('theta', 10000, 1.001, 1e12),
      ],
    },
    'kernels.ropeBackward': {
      args: [
        f32('dx', T * H * D),
        f32('dout', T * H * D),
        ids('positions', [0, 1, 2, 9, 4], 0, I32_MAX),
        dim('T', T, 0),
        dim('H', H),
        dim('D', D, 2),
        real('theta', 10000, 1.001, 1e12),
      ],
    },
    'kernels.attentionForward': {
      args: attn([
        f32('out', T * Hq * D),
        opt(f32('lse', T * Hq)),
        f32('q', T * Hq * D),
        f32('k', T * Hkv * D),
        f32('v', T * Hkv * D),
      ]),
    },
    'kernels.attentionBackward': {
      args: attn([
        opt(f32('dq', T * Hq * D)),
        opt(f32('dk', T * Hkv * D)),
        opt(f32('dv', T * Hkv * D)),
        f32('dout', T * Hq * D),
        f32('q', T * Hq * D),
        f32('k', T * Hkv * D),
        f32('v', T * Hkv * D),
        f32('out', T * Hq * D),
        f32('lse', T * Hq),
      ]),
    },
    'kernels.attentionDecode': {
      args: [
        f32('out', B * Hq * D),
        f32('q', B * Hq * D),
        f32('kCache', B * L * Hkv * D),
        f32('vCache', B * L * Hkv * D),
        ids('lens', [1, 3], 1, L + 1),
        dim('B', B, 0),
        dim('maxLen', L),
        dim('Hq', Hq),
        dim('Hkv', Hkv),
        dim('D', D),
      ],
    },
    'kernels.swigluForward': { args: [f32('out', N), f32('gate', N), f32('up', N), count('N', N)] },
    'kernels.swigluBackward': {
      args: [opt(f32('dgate', N)), opt(f32('dup', N)), f32('dout', N), f32('gate', N), f32('up', N), count('N', N)],
    },
    'kernels.matmulForward': {
      args: [
        f32('out', M * N),
        f32('x', M * K),
        f32('w', N * K),
        opt(f32('bias', N)),
        dim('M', M, 0),
        dim('K', K, 0),
        dim('N', N, 0),
      ],
    },
    'kernels.matmulBackward': {
      args: [
        opt(f32('dx', M * K)),
        opt(f32('dw', N * K)),
        opt(f32('dbias', N)),
        f32('dout', M * N),
        f32('x', M * K),
        f32('w', N * K),
        dim('M', M, 0),
        dim('K', K, 0),
        dim('N', N, 0),
      ],
    },
    'kernels.sgemm': { args: gemm(false, true) },
    'kernels.sgemmOurs': { args: gemm(true, false) },
    'kernels.sgemmBlas': { args: gemm(false, false) }, // where the build has no BLAS even the valid call throws
    'kernels.setSgemmBackend': { args: [int('backend', 0, 0, haveBlas ? 2 : 1)] },
    'kernels.haveBlas': { args: [], noArgs: true },
    'kernels.cpuIsa': { args: [], noArgs: true },
    'kernels.fusedHead': {
      args: [
        opt(f32('logp', T)),
        opt(f32('dh', T * C)),
        opt(f32('dW', V * C)),
        f32('h', T * C),
        f32('W', V * C),
        ids('targets', [1, -1, 6, 0, 2], I32_MIN, V),
        dim('T', T, 0),
        dim('C', C),
        dim('V', V),
        opt(
          obj('objective', [
            opt(f32('objective.weights', T)),
            opt(f32('objective.advantages', T)),
            opt(f32('objective.oldLogp', T)),
            opt(f32('objective.refLogp', T)),
            opt(real('objective.beta', 0.1, -1e30, 1e30)),
            opt(real('objective.clipLow', 0.2, 0, 1e30)),
            opt(real('objective.clipHigh', 0.3, 0, 1e30)),
            opt(real('objective.normaliser', 4, 1e-30, 1e30)),
            opt(real('objective.temperature', 0.9, 1e-30, 1e30)),
          ]),
        ),
        dim('chunk', 2),
        opt(f32('scratch', 2 * V)),
      ],
    },
    'kernels.adamwStep': {
      args: [
        f32('param', N),
        f32('grad', N),
        f32('m', N),
        f32('v', N),
        count('n', N),
        real('lr', 1e-3, 0, 1e30),
        real('beta1', 0.9, 0, 0.99999),
        real('beta2', 0.999, 0, 0.99999),
        real('eps', 1e-8, 0, 1e30),
        real('weightDecay', 0.01, 0, 1e30),
        int('step', 1, 1, I32_MAX),
        real('gradScale', 1),
      ],
    },
    'kernels.gradNormSq': { args: [f32('g', N), count('n', N)] },
    'kernels.clipScale': { args: [real('totalNorm', 3, 0, 1e300), real('maxNorm', 1, 1e-30, 1e30)] },
    'kernels.sampleToken': {
      args: [
        f32('logits', V),
        dim('V', V),
        real('temperature', 0.8),
        int('topK', 3, I32_MIN, I32_MAX),
        real('topP', 0.9, 1e-30, 1),
        real('u', 0.5, 0, 0.99999),
        opt(f32('scratch', 2 * V)),
      ],
    },

    Model: { args: [config()] },
    measureArena: {
      args: [
        config(),
        str('device', 'cuda', ['gpu', 'CPU', '']),
        int('tokens', 5, 1, 1 << 24),
        bool('train', true),
        opt(bool('recompute', true)),
      ],
    },
    measureGeneration: {
      args: [
        config(),
        str('device', 'cpu', ['gpu', 'Cuda', '']),
        int('sequences', 3, 1, 1 << 20),
        int('maxLen', 9, 1, 1 << 24),
      ],
    },
    'Model#initRandom': { args: [int('seed', 3, 0, 2 ** 53), real('std', 0.1, 0, 10)] },
    'Model#logprobs': { args: [...batch(), real('temperature', 1, 1e-6, 1e6)] },
    'Model#accumulate': {
      args: [
        ...batch(),
        obj('objective', [
          opt(f32('objective.weights', MT)),
          opt(f32('objective.advantages', MT)),
          opt(f32('objective.oldLogprobs', MT)),
          opt(f32('objective.refLogprobs', MT)),
          opt(real('objective.beta', 0.1, 0, 1e6)),
          opt(real('objective.clipLow', 0.2, 0, 1)),
          opt(real('objective.clipHigh', 0.3, 0, 1e6)),
          opt(real('objective.normaliser', 4, 1e-30, 1e30)),
          opt(real('objective.temperature', 1, 1e-6, 1e6)),
        ]),
        opt(bool('recompute', true)),
      ],
    },
    'Model#optimizerStep': {
      args: [
        obj('options', [
          real('options.lr', 1e-3, 0, 10),
          real('options.beta1', 0.9, 0, 0.999999),
          real('options.beta2', 0.999, 0, 0.999999999),
          real('options.eps', 1e-8, 0, 1),
          real('options.weightDecay', 0, 0, 10),
          real('options.maxGradNorm', 1, 0, 1e30),
        ]),
      ],
      setup: async (m) => {
        await m.accumulate(Int32Array.from(mtok), Int32Array.from(mpos), Int32Array.from(mcu), {});
      },
    },
    'Model#zeroGrad': { args: [], noArgs: true },
    'Model#pendingMicroBatches': { args: [], noArgs: true },
    'Model#stepCount': { args: [], noArgs: true },
    'Model#numParams': { args: [], noArgs: true },
    'Model#tensorNames': { args: [], noArgs: true },
    'Model#arenaBytes': { args: [], noArgs: true },
    'Model#gradients': { args: [], noArgs: true },
    'Model#dispose': { args: [], noArgs: true },
    'Model#generate': {
      args: [
        ...batch(),
        obj('options', [
          int('options.maxNewTokens', 2, 1, 1 << 20),
          real('options.temperature', 0.7, 0, 1e6),
          int('options.topK', 3, 0, MV),
          real('options.topP', 0.9, 1e-9, 1),
          int('options.seed', 5, 0, 2 ** 53),
          opt({ ...ids('options.stopTokens', [0, 9], 0, MV), anyLength: true } as Arg),
          opt(int('options.vocabLimit', 7, 1, MV)),
        ]),
      ],
    },
    'Model#saveTensors': {
      args: [
        str('dir', scratchDir, badPaths),
        str('dtype', 'bf16', ['f64', 'F32', '']),
        int('maxShardBytes', 1e6, 1, 2 ** 53),
      ],
    },
    'Model#load': {
      args: [str('dir', join(scratchDir, 'saved'), [...badPaths, scratchDir + '-none'])],
      setup: async (m) => {
        rmSync(join(scratchDir, 'saved'), { recursive: true, force: true });
        await import('node:fs').then((fs) => fs.mkdirSync(join(scratchDir, 'saved')));
        await m.saveTensors(join(scratchDir, 'saved'), 'f32', 1e9);
      },
    },
    'Model#saveOptimizer': { args: [str('path', join(scratchDir, 'opt.safetensors'), badPaths)] },
    'Model#loadOptimizer': {
      args: [str('path', join(scratchDir, 'opt2.safetensors'), [...badPaths, aFile, scratchDir])],
      setup: async (m) => {
        await m.saveOptimizer(join(scratchDir, 'opt2.safetensors'));
      },
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
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)],
  };
}
type Rng = ReturnType<typeof rng>;

function floats(n: number, r: Rng) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.next() * 2 - 1;
  return a;
}
function validValue(a: Arg, r: Rng): unknown {
  switch (a.kind) {
    case 'f32':
      return a.name.endsWith('weights') ? Float32Array.from({ length: a.len }, (_, i) => i % 2) : floats(a.len, r);
    case 'ids':
    case 'cu':
      return Int32Array.from(a.values);
    case 'obj':
      return Object.fromEntries(a.fields.map((f) => [key(f), validValue(f, r)]));
    default:
      return a.value;
  }
}

// Values that are wrong for any argument of the kind, whatever the other arguments are.
const notNumbers = (): unknown[] => [
  '3',
  true,
  null,
  undefined,
  {},
  [],
  [1],
  () => 1,
  10n,
  Symbol('x'),
  new Float32Array(1),
];
const notArrays = (): unknown[] => [
  1,
  '1',
  true,
  null,
  undefined,
  {},
  [0.5, 1],
  new ArrayBuffer(8),
  new DataView(new ArrayBuffer(8)),
  () => 0,
  7n,
];
const wrongKinds = (n: number, want: 'f32' | 'i32'): unknown[] => [
  new Float64Array(n),
  new Uint8Array(n),
  new Int16Array(n),
  new Uint32Array(n),
  new Uint8ClampedArray(n),
  want === 'f32' ? new Int32Array(n) : new Float32Array(n),
];

interface Mutation {
  value: unknown;
  // 'self': wrong whatever the other arguments are; 'shape': wrong only against the others'
  // current sizes (at most one shape mutation per call, so two cannot cancel out).
  level: 'self' | 'shape';
  name: string; // the argument (or option field) it breaks
}

function mutations(a: Arg, r: Rng): Mutation[] {
  const absentOk = (v: unknown) => !(a.optional && (v === null || v === undefined));
  const self = (values: unknown[]) =>
    values.filter(absentOk).map((value) => ({ value, level: 'self' as const, name: a.name }));
  const shape = (values: unknown[]) => values.map((value) => ({ value, level: 'shape' as const, name: a.name }));
  switch (a.kind) {
    case 'f32':
      return [
        ...self([...notArrays(), ...wrongKinds(a.len, 'f32')]),
        ...shape([floats(a.len + 1, r), floats(a.len - 1, r), new Float32Array(0), floats(2 * a.len, r)]),
      ];
    case 'ids': {
      const n = a.values.length,
        i = r.int(n);
      const high = Int32Array.from(a.values);
      high[i] = a.hi === I32_MAX ? -1 : a.hi;
      const low = Int32Array.from(a.values);
      low[i] = a.lo === I32_MIN ? I32_MAX : a.lo - 1;
      return [
        ...self([...notArrays(), ...wrongKinds(n, 'i32')]),
        ...shape([
          high,
          low,
          ...(a.anyLength
            ? []
            : [Int32Array.from([...a.values, 0]), Int32Array.from(a.values.slice(1)), new Int32Array(0)]),
        ]),
      ];
    }
    case 'cu': {
      const v = a.values,
        last = v[v.length - 1];
      return [
        ...self([...notArrays(), ...wrongKinds(v.length, 'i32')]),
        ...shape([
          Int32Array.from([1, ...v.slice(1)]),
          Int32Array.from([...v.slice(0, -1), last + 1]),
          Int32Array.from([...v.slice(0, -1), last - 1]),
          Int32Array.from([...v].reverse()),
          Int32Array.from([...v, last]),
          Int32Array.from(v.slice(0, -1)),
          Int32Array.from([0, last, 1, last]),
          new Int32Array(0),
        ]),
      ];
    }
    case 'dim':
      return [
        ...self([...notNumbers(), NaN, Infinity, -Infinity, a.value + 0.5, a.lo - 1, -1, a.hi * 2 + 2, 1e300, -1e300]),
        ...shape([a.value + 1, a.value - 1, I32_MAX, 1000003]),
      ];
    case 'int':
      return self([
        ...notNumbers(),
        NaN,
        Infinity,
        -Infinity,
        a.value + 0.5,
        ...(a.lo > I32_MIN ? [a.lo - 1] : []),
        a.hi * 2 + 2,
        -1e300,
      ]);
    case 'real':
      return self([
        ...notNumbers(),
        NaN,
        Infinity,
        -Infinity,
        ...(a.lo > -Infinity ? [a.lo - 1 - Math.abs(a.lo), a.lo - 1e-3 * (1 + Math.abs(a.lo))] : []),
        ...(a.hi < Infinity ? [a.hi + 1 + Math.abs(a.hi), a.hi + 1e-3 * (1 + Math.abs(a.hi))] : []),
      ]);
    case 'bool':
      return self([0, 1, 'true', null, undefined, {}, [], new Uint8Array(1)]);
    case 'str':
      return self([...notArrays().filter((v) => typeof v !== 'string'), new Uint8Array(2), ...a.bad]);
    case 'obj': {
      // the object itself, or one of its fields (a required field may also go missing)
      const base = validValue(a, r) as Record<string, unknown>;
      const out: Mutation[] = self([
        1,
        'x',
        true,
        [1, 2],
        new Float32Array(2),
        ...(a.optional ? [] : [null, undefined]),
      ]);
      for (const f of a.fields) {
        const fieldMuts = mutations(f, r);
        if (!f.optional) fieldMuts.push({ value: undefined, level: 'self', name: f.name });
        for (const m of fieldMuts) out.push({ ...m, value: { ...base, [key(f)]: m.value } });
      }
      return out;
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
    const required = spec.args.map((a, i) => (a.optional ? -1 : i)).filter((i) => i >= 0);
    return { args: args.slice(0, r.int(r.pick(required) + 1)) };
  }
  const count = roll < 0.7 ? 1 : 2 + r.int(2);
  const order = spec.args
    .map((_, i) => i)
    .sort(() => r.next() - 0.5)
    .slice(0, count);
  let shapeUsed = false;
  let name: string | undefined;
  for (const i of order) {
    let options = mutations(spec.args[i], r);
    if (shapeUsed) options = options.filter((m) => m.level === 'self');
    const m = r.pick(options);
    shapeUsed ||= m.level === 'shape';
    args[i] = m.value;
    if (order.length === 1 && m.level === 'self') name = m.name;
  }
  return { args, name };
}

// ---- the exported functions -------------------------------------------------------------------
type Fn = (...args: unknown[]) => unknown;
type Instance = Record<string, Fn>;
interface Target {
  path: string; // 'kernels.attentionForward', 'Model' (the constructor), 'Model#logprobs'
  call: (self: Instance | undefined, args: unknown[]) => unknown;
  cls?: string; // methods: the class whose instance they need
}

const isClass = (f: Fn) => f.prototype && Object.getOwnPropertyNames(f.prototype).length > 1;

function exported(): Target[] {
  const out: Target[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, value] of Object.entries(o)) {
      const path = prefix + k;
      if (typeof value === 'function' && isClass(value as Fn)) {
        const C = value as new (...a: unknown[]) => unknown;
        out.push({ path, call: (_self, args) => new C(...args) });
        for (const m of Object.getOwnPropertyNames(C.prototype).filter((n) => n !== 'constructor'))
          out.push({ path: `${path}#${m}`, cls: path, call: (self, args) => self![m](...args) });
      } else if (typeof value === 'function') out.push({ path, call: (_self, args) => (value as Fn)(...args) });
      else if (value && typeof value === 'object' && !ArrayBuffer.isView(value))
        walk(value as Record<string, unknown>, `${path}.`);
    }
  };
  walk(cpu() as unknown as Record<string, unknown>, '');
  return out;
}

async function outcome(run: () => unknown): Promise<unknown> {
  try {
    const r = run();
    if (r instanceof Promise) await r;
    return undefined;
  } catch (e) {
    return e;
  }
}

test('every exported function has a fuzz spec', (t) => {
  const all = specs();
  const paths = exported().map((x) => x.path);
  const missing = paths.filter((p) => !specFor(p, all));
  t.deepEqual(missing, [], `add a valid call for these to test/engine/fuzz.test.ts: ${missing.join(', ')}`);
  t.true(paths.length >= 30);
});

test(`${CALLS_PER_FUNCTION} mutated calls per exported function each throw a JS error`, async (t) => {
  const all = specs();
  const haveBlas = cpu().kernels.haveBlas() as boolean;
  let calls = 0;
  for (const target of exported()) {
    const { path } = target;
    const spec = specFor(path, all);
    if (!spec) continue;
    const r = rng(0x5eed ^ [...path].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
    let self: Instance | undefined;
    if (target.cls) {
      const ctor = exported().find((x) => x.path === target.cls)!;
      self = ctor.call(
        undefined,
        all[target.cls].args.map((a) => validValue(a, r)),
      ) as Instance;
      await spec.setup?.(self);
    }
    const call = (args: unknown[]) => target.call(self, args);
    if (spec.noArgs) {
      const want = typeof (await call([]));
      for (let i = 0; i < CALLS_PER_FUNCTION; i++) {
        const junk = Array.from({ length: r.int(6) }, () => r.pick([...notNumbers(), ...notArrays(), NaN, -1, 1e300]));
        t.is(typeof (await call(junk)), want, `${path} with junk arguments`);
        calls++;
      }
      continue;
    }
    // the valid call must run (else every "error" below would prove nothing)
    const validErr = await outcome(() => call(spec.args.map((a) => validValue(a, r))));
    const blasless = path.startsWith('kernels.sgemmBlas') && !haveBlas;
    if (blasless) t.regex(String(validErr), /BLAS/, `${path}: without BLAS the valid call names BLAS`);
    else t.is(validErr, undefined, `${path}: the valid call threw ${String(validErr)}`);
    for (let i = 0; i < CALLS_PER_FUNCTION; i++) {
      const wrong = wrongCall(spec, r);
      const err = await outcome(() => call(wrong.args));
      calls++;
      if (!(err instanceof Error)) {
        t.fail(`${path}: call ${i} did not throw: (${wrong.args.map((a) => describe(a)).join(', ')})`);
        return;
      }
      const named = new RegExp(`(^|[^\\w.])${wrong.name?.replace(/\./g, '\\.')}\\b`);
      if (wrong.name && !blasless && !named.test(err.message)) {
        t.fail(
          `${path}: error "${err.message}" does not name ${wrong.name} (${wrong.args.map((a) => describe(a)).join(', ')})`,
        );
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
    return (
      JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? describe(x) : typeof x === 'bigint' ? `${x}n` : x)) ??
      String(v)
    );
  } catch {
    return String(v);
  }
}
