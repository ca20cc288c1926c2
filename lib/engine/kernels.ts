// The CPU ops of native/cpu/ops.h as typed functions on TypedArrays (the addon's `kernels`
// object), for tests and microbenchmarks. The model and trainers do not call these one by one:
// they run whole steps inside the engine.
//
// Conventions (same as ops.h): row-major; shapes in brackets, flattened into one TypedArray;
// outputs come first and are overwritten by forwards; every *Backward ADDS into the gradients it
// is given (zero them first for a plain gradient); a `| null` argument may be left out to skip
// that output. Sizes are integers; every array's length must equal the product its shape names.
// T = tokens in the packed batch, C = hidden size, V = vocab, Hq / Hkv = query / key-value heads,
// D = head dim, N = element count. Packed sequences: cuSeqlens[numSeqs + 1], 0 = cuSeqlens[0]
// <= ... <= cuSeqlens[numSeqs] = T.
//
// Errors: a wrong type or TypedArray kind throws TypeError, a wrong length or value RangeError,
// each naming the argument, prefixed with the function's name. `...Async` variants run on a
// worker thread and resolve when the outputs are written. Arrays on a SharedArrayBuffer are used
// in place (changing them meanwhile changes the result); any other array is copied at the call
// and its output written back at the end, so JavaScript may detach, shrink or overwrite it
// meanwhile (an output that is gone by then rejects the Promise).
import { cpu } from './addon.js';

type F32 = Float32Array;
type I32 = Int32Array;
type OptF32 = Float32Array | null | undefined;

/** The objective of the fused head (docs/ARCHITECTURE.md "The objective"); every field is optional. */
export interface HeadObjective {
  /** [T] per-token loss weight (default all 1; SFT: the completion mask) */
  weights?: F32 | null;
  /** [T] advantages (default all 1) */
  advantages?: F32 | null;
  /** [T] logprobs under the sampling policy; absent: rho = 1 */
  oldLogp?: F32 | null;
  /** [T] logprobs under the reference policy; absent: no KL term */
  refLogp?: F32 | null;
  /** KL coefficient (default 0) */
  beta?: number;
  /** clip range [1 - clipLow, 1 + clipHigh] (defaults 0.2, 0.2) */
  clipLow?: number;
  clipHigh?: number;
  /** loss = sum_t L_t / normaliser (default 1) */
  normaliser?: number;
  /** logits are divided by it (default 1) */
  temperature?: number;
}

export interface HeadResult {
  /** sum_t L_t / normaliser */
  loss: number;
  /** tokens (weight != 0) whose gradient the clip cut */
  clipped: number;
}

export interface SampleResult {
  token: number;
  /** log_softmax(logits / temperature)[token] over the whole vocab (greedy: temperature 1) */
  logprob: number;
}

export interface Kernels {
  /** out[T, C] = wte[tokens[t], :]; tokens[T] in [0, V), wte[V, C] */
  embeddingForward(out: F32, tokens: I32, wte: F32, T: number, C: number, V: number): void;
  /** dwte[V, C] += scatter of dout[T, C] by tokens[T] */
  embeddingBackward(dwte: F32, dout: F32, tokens: I32, T: number, C: number, V: number): void;

  /** out[T, C] = x * rstd * w, rstd[T] = 1 / sqrt(mean(x^2) + eps) (rstd may be null); out may be x */
  rmsnormForward(out: F32, rstd: OptF32, x: F32, w: F32, T: number, C: number, eps: number): void;
  /** dx[T, C] += ..., dw[C] += ... (either may be null) */
  rmsnormBackward(dx: OptF32, dw: OptF32, dout: F32, x: F32, w: F32, rstd: F32, T: number, C: number): void;

  /** rotate-half RoPE of x[T, H, D] at positions[T] >= 0 with base theta; out may be x */
  ropeForward(out: F32, x: F32, positions: I32, T: number, H: number, D: number, theta: number): void;
  /** dx[T, H, D] += R(pos)^T dout */
  ropeBackward(dx: F32, dout: F32, positions: I32, T: number, H: number, D: number, theta: number): void;

  /**
   * Causal GQA attention over packed sequences: q[T, Hq, D], k/v[T, Hkv, D] -> out[T, Hq, D] and
   * lse[T, Hq] (log-sum-exp of the scaled scores; null to skip). Hq % Hkv == 0, D <= 256.
   */
  attentionForward(
    out: F32,
    lse: OptF32,
    q: F32,
    k: F32,
    v: F32,
    cuSeqlens: I32,
    numSeqs: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): void;
  attentionForwardAsync(
    out: F32,
    lse: OptF32,
    q: F32,
    k: F32,
    v: F32,
    cuSeqlens: I32,
    numSeqs: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): Promise<void>;
  /** dq, dk, dv += gradients (each may be null), from the forward's out and lse */
  attentionBackward(
    dq: OptF32,
    dk: OptF32,
    dv: OptF32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    out: F32,
    lse: F32,
    cuSeqlens: I32,
    numSeqs: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): void;
  attentionBackwardAsync(
    dq: OptF32,
    dk: OptF32,
    dv: OptF32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    out: F32,
    lse: F32,
    cuSeqlens: I32,
    numSeqs: number,
    T: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): Promise<void>;
  /** one query token per sequence: q[B, Hq, D] against kCache/vCache[B, maxLen, Hkv, D], lens[B] in [1, maxLen] */
  attentionDecode(
    out: F32,
    q: F32,
    kCache: F32,
    vCache: F32,
    lens: I32,
    B: number,
    maxLen: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): void;
  attentionDecodeAsync(
    out: F32,
    q: F32,
    kCache: F32,
    vCache: F32,
    lens: I32,
    B: number,
    maxLen: number,
    Hq: number,
    Hkv: number,
    D: number,
  ): Promise<void>;

  /** out[N] = silu(gate) * up */
  swigluForward(out: F32, gate: F32, up: F32, N: number): void;
  /** dgate[N], dup[N] += ... (either may be null) */
  swigluBackward(dgate: OptF32, dup: OptF32, dout: F32, gate: F32, up: F32, N: number): void;

  /** PyTorch Linear: out[M, N] = x[M, K] · w[N, K]^T + bias[N] (bias may be null) */
  matmulForward(out: F32, x: F32, w: F32, bias: OptF32, M: number, K: number, N: number): void;
  matmulForwardAsync(out: F32, x: F32, w: F32, bias: OptF32, M: number, K: number, N: number): Promise<void>;
  /** dx[M, K] += dout·w, dw[N, K] += dout^T·x, dbias[N] += column sums of dout (each may be null) */
  matmulBackward(
    dx: OptF32,
    dw: OptF32,
    dbias: OptF32,
    dout: F32,
    x: F32,
    w: F32,
    M: number,
    K: number,
    N: number,
  ): void;
  matmulBackwardAsync(
    dx: OptF32,
    dw: OptF32,
    dbias: OptF32,
    dout: F32,
    x: F32,
    w: F32,
    M: number,
    K: number,
    N: number,
  ): Promise<void>;

  /**
   * C[M, N] = alpha op(A) op(B) + beta C (row-major, leading dims given): A holds
   * (transA ? K : M) rows of lda floats, B (transB ? N : K) rows of ldb, C M rows of ldc.
   * sgemm picks BLAS when the build has one (see setSgemmBackend), sgemmOurs / sgemmBlas force one.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: F32,
    lda: number,
    B: F32,
    ldb: number,
    beta: number,
    C: F32,
    ldc: number,
  ): void;
  sgemmOurs(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: F32,
    lda: number,
    B: F32,
    ldb: number,
    beta: number,
    C: F32,
    ldc: number,
  ): void;
  /** throws where haveBlas() is false */
  sgemmBlas(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: F32,
    lda: number,
    B: F32,
    ldb: number,
    beta: number,
    C: F32,
    ldc: number,
  ): void;
  /** 0 = auto, 1 = ours, 2 = BLAS (only where haveBlas()) */
  setSgemmBackend(backend: 0 | 1 | 2): void;
  haveBlas(): boolean;
  /**
   * The instruction-set level the CPU ops run ("avx512", "avx2" or "generic") and the levels
   * this build and CPU offer, best first ("avx512,avx2"). $WARMSTART_ISA=avx2|avx512 forces one;
   * throws if it names a level that is not available.
   */
  cpuIsa(): { isa: string; available: string };

  /**
   * LM head + objective, chunk rows at a time: h[T, C], W[V, C], targets[T] (< 0 ignored, < V)
   * -> logp[T]; dh[T, C] += dloss/dh and dW[V, C] += dloss/dW when given. scratch[chunk * V] or null.
   */
  fusedHead(
    logp: OptF32,
    dh: OptF32,
    dW: OptF32,
    h: F32,
    W: F32,
    targets: I32,
    T: number,
    C: number,
    V: number,
    objective: HeadObjective | undefined,
    chunk: number,
    scratch: OptF32,
  ): HeadResult;
  fusedHeadAsync(
    logp: OptF32,
    dh: OptF32,
    dW: OptF32,
    h: F32,
    W: F32,
    targets: I32,
    T: number,
    C: number,
    V: number,
    objective: HeadObjective | undefined,
    chunk: number,
    scratch: OptF32,
  ): Promise<HeadResult>;

  /** PyTorch AdamW on param[n] with grad[n] * gradScale, moments m[n], v[n], step >= 1 */
  adamwStep(
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    gradScale: number,
  ): void;
  /** sum of squares of g[n], accumulated in double */
  gradNormSq(g: F32, n: number): number;
  /** min(1, maxNorm / (totalNorm + 1e-6)) */
  clipScale(totalNorm: number, maxNorm: number): number;

  /** one token from logits[V]: temperature (<= 0 greedy), topK (<= 0 all), topP in (0, 1], u in [0, 1) */
  sampleToken(
    logits: F32,
    V: number,
    temperature: number,
    topK: number,
    topP: number,
    u: number,
    scratch: OptF32,
  ): SampleResult;
}

// Prefixes the function's name to an error from the addon, keeping its class.
function named(name: string, e: unknown): unknown {
  if (e instanceof Error) e.message = `kernels.${name}: ${e.message}`;
  return e;
}

let wrapped: Kernels | undefined;

/** The CPU kernels, loaded on first use. */
export function kernels(): Kernels {
  if (wrapped) return wrapped;
  const raw = cpu().kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [name, f] of Object.entries(raw)) {
    out[name] = name.endsWith('Async')
      ? (...args) => {
          try {
            return (f(...args) as Promise<unknown>).catch((e: unknown) => Promise.reject(named(name, e)));
          } catch (e) {
            return Promise.reject(named(name, e));
          }
        }
      : (...args) => {
          try {
            return f(...args);
          } catch (e) {
            throw named(name, e);
          }
        };
  }
  wrapped = out as unknown as Kernels;
  return wrapped;
}
