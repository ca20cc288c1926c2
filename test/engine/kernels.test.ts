// Each kernels.* binding computes what a small JavaScript reference computes on a tiny case
// (references in double, straight from the formulas in lib/engine/kernels.ts), and the Async
// twins give the same bits as the sync calls.
import test from 'ava';
import type { ExecutionContext } from 'ava';

import { kernels } from '../../lib/engine/kernels.js';

const k = kernels();

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * 1.7 * scale;
  return a;
}
function close(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5, what = '') {
  t.is(got.length, want.length, `${what} length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) - tol * (1 + Math.abs(want[i]));
    if (!(e <= worst)) {
      worst = Number.isNaN(e) ? Infinity : e;
      at = i;
    }
  }
  t.true(at < 0, `${what}[${at}]: got ${got[at]} want ${want[at]}`);
}
const plus = (a: Float32Array, b: ArrayLike<number>) => a.map((x, i) => x + b[i]);

test('embedding gathers rows and scatter-adds gradients', (t) => {
  const T = 5,
    C = 3,
    V = 4;
  const wte = randn(V * C, 1),
    tokens = Int32Array.from([2, 0, 2, 3, 1]);
  const out = new Float32Array(T * C);
  k.embeddingForward(out, tokens, wte, T, C, V);
  close(
    t,
    out,
    Array.from({ length: T * C }, (_, i) => wte[tokens[Math.floor(i / C)] * C + (i % C)]),
    0,
    'out',
  );
  const dout = randn(T * C, 2),
    d0 = randn(V * C, 3),
    dwte = d0.slice();
  k.embeddingBackward(dwte, dout, tokens, T, C, V);
  const want = Array.from(d0);
  for (let i = 0; i < T; i++) for (let c = 0; c < C; c++) want[tokens[i] * C + c] += dout[i * C + c];
  close(t, dwte, want, 1e-6, 'dwte');
});

test('rmsnorm forward and backward match the formulas', (t) => {
  const T = 3,
    C = 5,
    eps = 1e-5;
  const x = randn(T * C, 4),
    w = randn(C, 5),
    dout = randn(T * C, 6);
  const out = new Float32Array(T * C),
    rstd = new Float32Array(T);
  k.rmsnormForward(out, rstd, x, w, T, C, eps);
  const r = Array.from({ length: T }, (_, i) => {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[i * C + c] ** 2;
    return 1 / Math.sqrt(ss / C + eps);
  });
  close(t, rstd, r, 1e-6, 'rstd');
  close(
    t,
    out,
    Array.from(out, (_, i) => x[i] * r[Math.floor(i / C)] * w[i % C]),
    1e-6,
    'out',
  );
  const dx = new Float32Array(T * C),
    dw0 = randn(C, 7),
    dw = dw0.slice();
  k.rmsnormBackward(dx, dw, dout, x, w, rstd, T, C);
  const wantDx: number[] = [],
    wantDw = Array.from(dw0);
  for (let i = 0; i < T; i++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += dout[i * C + c] * w[c] * x[i * C + c];
    m /= C;
    for (let c = 0; c < C; c++) {
      wantDx.push(r[i] * (dout[i * C + c] * w[c] - x[i * C + c] * r[i] * r[i] * m));
      wantDw[c] += dout[i * C + c] * x[i * C + c] * r[i];
    }
  }
  close(t, dx, wantDx, 1e-5, 'dx');
  close(t, dw, wantDw, 1e-5, 'dw');
});

test('rope rotates halves by pos * theta^(-2i/D) and its backward is the transpose', (t) => {
  const T = 3,
    H = 2,
    D = 4,
    theta = 10000;
  const x = randn(T * H * D, 8),
    pos = Int32Array.from([0, 5, 17]);
  const rot = (v: ArrayLike<number>, sign: number) => {
    const o = new Array<number>(v.length);
    for (let i = 0; i < T; i++)
      for (let h = 0; h < H; h++)
        for (let j = 0; j < D / 2; j++) {
          const a = (sign * pos[i]) / theta ** ((2 * j) / D),
            b = (i * H + h) * D;
          o[b + j] = v[b + j] * Math.cos(a) - v[b + j + D / 2] * Math.sin(a);
          o[b + j + D / 2] = v[b + j + D / 2] * Math.cos(a) + v[b + j] * Math.sin(a);
        }
    return o;
  };
  const out = new Float32Array(x.length);
  k.ropeForward(out, x, pos, T, H, D, theta);
  close(t, out, rot(x, 1), 1e-6, 'out');
  const d0 = randn(x.length, 9),
    dx = d0.slice();
  k.ropeBackward(dx, x, pos, T, H, D, theta);
  close(t, dx, plus(d0, rot(x, -1)), 1e-6, 'dx');
});

// Naive causal GQA attention in double.
function attention(
  q: Float32Array,
  kk: Float32Array,
  v: Float32Array,
  cu: Int32Array,
  Hq: number,
  Hkv: number,
  D: number,
) {
  const T = cu[cu.length - 1];
  const out = new Float64Array(T * Hq * D),
    lse = new Float64Array(T * Hq);
  for (let s = 0; s + 1 < cu.length; s++)
    for (let i = cu[s]; i < cu[s + 1]; i++)
      for (let h = 0; h < Hq; h++) {
        const g = Math.floor(h / (Hq / Hkv)),
          sc: number[] = [];
        for (let j = cu[s]; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < D; c++) d += q[(i * Hq + h) * D + c] * kk[(j * Hkv + g) * D + c];
          sc.push(d / Math.sqrt(D));
        }
        const mx = Math.max(...sc),
          sum = sc.reduce((a, x) => a + Math.exp(x - mx), 0);
        lse[i * Hq + h] = mx + Math.log(sum);
        for (let j = cu[s]; j <= i; j++)
          for (let c = 0; c < D; c++)
            out[(i * Hq + h) * D + c] += (Math.exp(sc[j - cu[s]] - mx) / sum) * v[(j * Hkv + g) * D + c];
      }
  return { out, lse };
}

test('attention forward, backward (finite differences of the JS reference) and decode', async (t) => {
  const Hq = 4,
    Hkv = 2,
    D = 4,
    cu = Int32Array.from([0, 3, 3, 7]),
    T = 7,
    ns = 3;
  const q = randn(T * Hq * D, 10),
    kk = randn(T * Hkv * D, 11),
    v = randn(T * Hkv * D, 12);
  const out = new Float32Array(T * Hq * D),
    lse = new Float32Array(T * Hq);
  k.attentionForward(out, lse, q, kk, v, cu, ns, T, Hq, Hkv, D);
  const ref = attention(q, kk, v, cu, Hq, Hkv, D);
  close(t, out, ref.out, 1e-5, 'out');
  close(t, lse, ref.lse, 1e-5, 'lse');

  const r = randn(T * Hq * D, 13);
  const loss = () => attention(q, kk, v, cu, Hq, Hkv, D).out.reduce((a, x, i) => a + x * r[i], 0);
  const numeric = (x: Float32Array) =>
    Array.from(x, (_, i) => {
      const o = x[i],
        h = 1e-3;
      x[i] = o + h;
      const lp = loss();
      x[i] = o - h;
      const lm = loss();
      x[i] = o;
      return (lp - lm) / (Math.fround(o + h) - Math.fround(o - h));
    });
  const dq0 = randn(q.length, 14),
    dq = dq0.slice(),
    dk = new Float32Array(kk.length),
    dv = new Float32Array(v.length);
  k.attentionBackward(dq, dk, dv, r, q, kk, v, out, lse, cu, ns, T, Hq, Hkv, D);
  close(t, dq, plus(dq0, numeric(q)), 1e-3, 'dq');
  close(t, dk, numeric(kk), 1e-3, 'dk');
  close(t, dv, numeric(v), 1e-3, 'dv');

  // Async twins: same bits
  const outA = new Float32Array(out.length),
    lseA = new Float32Array(lse.length);
  await k.attentionForwardAsync(outA, lseA, q, kk, v, cu, ns, T, Hq, Hkv, D);
  t.deepEqual(outA, out);
  t.deepEqual(lseA, lse);
  const dqA = dq0.slice(),
    dkA = new Float32Array(kk.length),
    dvA = new Float32Array(v.length);
  await k.attentionBackwardAsync(dqA, dkA, dvA, r, q, kk, v, out, lse, cu, ns, T, Hq, Hkv, D);
  t.deepEqual([dqA, dkA, dvA], [dq, dk, dv]);

  // decode: the last token of sequences 0 and 2 against caches of length maxLen = 5
  const maxLen = 5,
    B = 2,
    last = [2, 6],
    starts = [0, 3],
    lens = Int32Array.from([3, 4]);
  const kc = new Float32Array(B * maxLen * Hkv * D).fill(1e30),
    vc = kc.slice(),
    qd = new Float32Array(B * Hq * D);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < lens[b]; j++)
      for (let c = 0; c < Hkv * D; c++) {
        kc[(b * maxLen + j) * Hkv * D + c] = kk[(starts[b] + j) * Hkv * D + c];
        vc[(b * maxLen + j) * Hkv * D + c] = v[(starts[b] + j) * Hkv * D + c];
      }
    qd.set(q.subarray(last[b] * Hq * D, (last[b] + 1) * Hq * D), b * Hq * D);
  }
  const od = new Float32Array(B * Hq * D);
  k.attentionDecode(od, qd, kc, vc, lens, B, maxLen, Hq, Hkv, D);
  const want = [...ref.out.subarray(2 * Hq * D, 3 * Hq * D), ...ref.out.subarray(6 * Hq * D, 7 * Hq * D)];
  close(t, od, want, 1e-5, 'decode');
  const odA = new Float32Array(od.length);
  await k.attentionDecodeAsync(odA, qd, kc, vc, lens, B, maxLen, Hq, Hkv, D);
  t.deepEqual(odA, od);
});

test('an engine error inside an Async call rejects the Promise with a RangeError', async (t) => {
  const T = 1,
    D = 300; // the binding accepts any D; the op limits it to 256
  const a = new Float32Array(T * D);
  await t.throwsAsync(k.attentionForwardAsync(a, null, a, a, a, Int32Array.from([0, 1]), 1, T, 1, 1, D), {
    instanceOf: RangeError,
    message: /kernels\.attentionForwardAsync: .*D must be/,
  });
});

test('swiglu forward and backward', (t) => {
  const N = 21,
    g = randn(N, 15, 3),
    u = randn(N, 16),
    dout = randn(N, 17);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const out = new Float32Array(N);
  k.swigluForward(out, g, u, N);
  close(
    t,
    out,
    Array.from(g, (x, i) => x * sig(x) * u[i]),
    1e-6,
    'out',
  );
  const dg0 = randn(N, 18),
    dg = dg0.slice(),
    du = new Float32Array(N);
  k.swigluBackward(dg, du, dout, g, u, N);
  close(
    t,
    dg,
    plus(
      dg0,
      Array.from(g, (x, i) => dout[i] * u[i] * sig(x) * (1 + x * (1 - sig(x)))),
    ),
    1e-6,
    'dgate',
  );
  close(
    t,
    du,
    Array.from(g, (x, i) => dout[i] * x * sig(x)),
    1e-6,
    'dup',
  );
  const du2 = new Float32Array(N);
  k.swigluBackward(null, du2, dout, g, u, N);
  t.deepEqual(du2, du);
});

function linear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  M: number,
  K: number,
  N: number,
) {
  const o = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let i = 0; i < K; i++) s += x[m * K + i] * w[n * K + i];
      o[m * N + n] = s;
    }
  return o;
}

test('matmul forward and backward (sync and Async)', async (t) => {
  const M = 3,
    K = 4,
    N = 5;
  const x = randn(M * K, 19),
    w = randn(N * K, 20),
    b = randn(N, 21),
    dout = randn(M * N, 22);
  const out = new Float32Array(M * N);
  k.matmulForward(out, x, w, b, M, K, N);
  close(t, out, linear(x, w, b, M, K, N), 1e-5, 'out');
  const outA = new Float32Array(M * N);
  await k.matmulForwardAsync(outA, x, w, b, M, K, N);
  t.deepEqual(outA, out);
  const dx = new Float32Array(M * K),
    dw = new Float32Array(N * K),
    db = new Float32Array(N);
  k.matmulBackward(dx, dw, db, dout, x, w, M, K, N);
  const wT = Array.from({ length: K * N }, (_, i) => w[(i % N) * K + Math.floor(i / N)]); // [K, N]
  close(t, dx, linear(dout, wT, null, M, N, K), 1e-5, 'dx');
  const doutT = Array.from({ length: N * M }, (_, i) => dout[(i % M) * N + Math.floor(i / M)]);
  const xT = Array.from({ length: K * M }, (_, i) => x[(i % M) * K + Math.floor(i / M)]);
  close(t, dw, linear(doutT, xT, null, N, M, K), 1e-5, 'dw');
  close(
    t,
    db,
    Array.from({ length: N }, (_, n) => [0, 1, 2].reduce((s, m) => s + dout[m * N + n], 0)),
    1e-5,
    'dbias',
  );
  const dxA = new Float32Array(M * K);
  await k.matmulBackwardAsync(dxA, null, null, dout, x, w, M, K, N);
  t.deepEqual(dxA, dx);
});

test('sgemm, sgemmOurs and (where built) sgemmBlas handle transposes and leading dims', (t) => {
  const M = 3,
    N = 4,
    K = 5,
    alpha = 0.5,
    beta = -2;
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const lda = (ta ? M : K) + 2,
      ldb = (tb ? K : N) + 1,
      ldc = N + 3;
    const A = randn((ta ? K : M) * lda, 23),
      B = randn((tb ? N : K) * ldb, 24),
      C0 = randn(M * ldc, 25);
    const want = Array.from(C0);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let i = 0; i < K; i++)
          s += (ta ? A[i * lda + m] : A[m * lda + i]) * (tb ? B[n * ldb + i] : B[i * ldb + n]);
        want[m * ldc + n] = alpha * s + beta * C0[m * ldc + n];
      }
    const fns = [k.sgemm, k.sgemmOurs, ...(k.haveBlas() ? [k.sgemmBlas] : [])];
    for (const f of fns) {
      const C = C0.slice();
      f(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      close(t, C, want, 1e-5, `C (transA ${ta}, transB ${tb})`);
    }
  }
  if (!k.haveBlas()) {
    const a = new Float32Array(1);
    t.throws(() => k.sgemmBlas(false, false, 1, 1, 1, 1, a, 1, a, 1, 0, a, 1), { message: /BLAS/ });
    t.throws(() => k.setSgemmBackend(2), { instanceOf: RangeError });
  }
  k.setSgemmBackend(1);
  k.setSgemmBackend(0);
});

test('fusedHead agrees with full logits, log_softmax and gather (SFT case), sync and Async', async (t) => {
  const T = 4,
    C = 3,
    V = 7,
    temperature = 0.7;
  const h = randn(T * C, 26),
    W = randn(V * C, 27),
    targets = Int32Array.from([1, -1, 6, 0]);
  const weights = Float32Array.from([1, 1, 0.5, 1]);
  const z = linear(h, W, null, T, C, V).map((x) => x / temperature);
  const logp: number[] = [];
  let loss = 0;
  for (let i = 0; i < T; i++) {
    const row = z.subarray(i * V, (i + 1) * V),
      mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
    logp.push(targets[i] < 0 ? 0 : row[targets[i]] - lse);
    if (targets[i] >= 0) loss -= weights[i] * logp[i];
  }
  const objective = { weights, temperature, normaliser: 2.5 };
  const lp = new Float32Array(T),
    dh = new Float32Array(T * C);
  const res = k.fusedHead(lp, dh, null, h, W, targets, T, C, V, objective, 2, null);
  close(t, lp, logp, 1e-5, 'logp');
  t.true(Math.abs(res.loss - loss / 2.5) < 1e-5, `loss ${res.loss} vs ${loss / 2.5}`);
  t.is(res.clipped, 0);
  const lpA = new Float32Array(T),
    dhA = new Float32Array(T * C);
  const resA = await k.fusedHeadAsync(lpA, dhA, null, h, W, targets, T, C, V, objective, 3, new Float32Array(3 * V));
  close(t, lpA, lp, 1e-6, 'logp async');
  close(t, dhA, dh, 1e-6, 'dh async');
  t.true(Math.abs(resA.loss - res.loss) < 1e-6);
});

test('adamwStep, gradNormSq, clipScale, sampleToken', (t) => {
  const n = 5,
    p = randn(n, 28),
    g = randn(n, 29),
    m = new Float32Array(n),
    v = new Float32Array(n);
  const lr = 0.01,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    wd = 0.1,
    scale = 0.5;
  const want = Array.from(p, (x, i) => {
    const gi = g[i] * scale,
      mi = (1 - b1) * gi,
      vi = (1 - b2) * gi * gi;
    return x * (1 - lr * wd) - (lr * (mi / (1 - b1))) / (Math.sqrt(vi / (1 - b2)) + eps);
  });
  k.adamwStep(p, g, m, v, n, lr, b1, b2, eps, wd, 1, scale);
  close(t, p, want, 1e-5, 'param');
  t.true(Math.abs(k.gradNormSq(g, n) - g.reduce((s, x) => s + x * x, 0)) < 1e-5);
  t.true(Math.abs(k.clipScale(10, 1) - 1 / (10 + 1e-6)) < 1e-7);
  t.is(k.clipScale(0.5, 1), 1);
  const logits = Float32Array.from([0.1, 3, -1, 2.5]);
  const greedy = k.sampleToken(logits, 4, 0, 0, 1, 0.3, null);
  t.is(greedy.token, 1);
  const lse = Math.log(Array.from(logits).reduce((s, x) => s + Math.exp(x), 0));
  t.true(Math.abs(greedy.logprob - (3 - lse)) < 1e-5);
  // top-k 2 at temperature 1: tokens 1 and 3 only; u near 1 picks the second
  t.is(k.sampleToken(logits, 4, 1, 2, 1, 0.999, new Float32Array(8)).token, 3);
});
