// The CPU reference ops: fp32, row-major, one .cc file per op in native/cpu/.
// This header is the op contract. native/cuda/ops.cuh mirrors it with bf16 activations, and
// native/model/ dispatches to one or the other by device.
//
// Conventions
// - Shapes are given in brackets; T = tokens in the packed batch, C = hidden size,
//   Hq / Hkv = query / key-value heads, D = head dim, V = vocab, F = FFN size.
// - Packed batches: cu_seqlens[num_seqs + 1] with cu_seqlens[0] = 0 and cu_seqlens[num_seqs] = T;
//   sequence s owns tokens [cu_seqlens[s], cu_seqlens[s+1]).
// - Every *_backward ACCUMULATES (+=) into each gradient it is given, so gradients of shared
//   inputs (residual stream, tied embeddings) and micro-batches add up. A null gradient pointer
//   means "not needed" wherever the signature says "may be null".
// - Forward outputs are overwritten. In-place use (out == x) is allowed only where noted.
// - Ops do not allocate in the hot path except where a scratch buffer is noted as optional.
// - Bad shapes throw ws::RangeError (native/core/error.h); ops never abort.
// - Every op below except the sgemm backend's functions is compiled once per instruction-set
//   level and dispatched at run time (isa.h, dispatch.cc); the levels give the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ws::cpu {

// ---- embedding.cc --------------------------------------------------------------------------
// out[t, :] = wte[tokens[t], :]                          tokens[T] in [0, V), wte[V, C]
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int T, int C, int V);
// dwte[tokens[t], :] += dout[t, :]
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int T, int C, int V);

// ---- rmsnorm.cc ----------------------------------------------------------------------------
// rstd[t] = 1 / sqrt(mean_c x[t,c]^2 + eps);  out[t,c] = x[t,c] * rstd[t] * w[c]
// rstd may be null (inference). out == x allowed.
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int T, int C, float eps);
// dx may be null; dw may be null.
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, int T,
                      int C);

// ---- rope.cc -------------------------------------------------------------------------------
// Hugging Face "rotate half": for head vector x[D], i < D/2, angle = pos * theta^(-2i/D):
//   out[i]       = x[i] cos - x[i + D/2] sin
//   out[i + D/2] = x[i + D/2] cos + x[i] sin
// x[T, H, D], positions[T]. out == x allowed.
void rope_forward(float* out, const float* x, const int32_t* positions, int T, int H, int D, float theta);
// dx += R(pos)^T dout
void rope_backward(float* dx, const float* dout, const int32_t* positions, int T, int H, int D, float theta);

// ---- attention.cc --------------------------------------------------------------------------
// Causal attention over packed sequences with grouped-query heads (query head h reads KV head
// h / (Hq / Hkv)), scale 1/sqrt(D). A token attends to earlier tokens of its own sequence only.
//   q[T, Hq, D], k[T, Hkv, D], v[T, Hkv, D] -> out[T, Hq, D], lse[T, Hq] (log-sum-exp of scaled
//   scores, saved for backward; may be null).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int num_seqs, int T, int Hq, int Hkv, int D);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const int32_t* cu_seqlens, int num_seqs,
                        int T, int Hq, int Hkv, int D);
// One new query token per sequence against its KV cache (generation).
//   q[B, Hq, D]; k_cache, v_cache [B, max_len, Hkv, D]; lens[B] = number of valid cache rows
//   for sequence b (the new token's own k/v already written at row lens[b] - 1) -> out[B, Hq, D].
void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* lens,
                      int B, int max_len, int Hq, int Hkv, int D);

// ---- swiglu.cc -----------------------------------------------------------------------------
// out[i] = silu(gate[i]) * up[i],  silu(g) = g / (1 + e^-g);  N elements.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t N);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t N);

// ---- matmul.cc -----------------------------------------------------------------------------
// The Linear layer of PyTorch: out[M, N] = x[M, K] · w[N, K]^T + bias[N] (bias may be null).
void matmul_forward(float* out, const float* x, const float* w, const float* bias, int M, int K, int N);
// dx[M,K] += dout·w ; dw[N,K] += dout^T·x ; dbias[N] += sum_m dout[m,:]. Any may be null.
void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int M,
                     int K, int N);

// ---- gemv.cc -------------------------------------------------------------------------------
// matmul_forward for few rows (decode, M <= 16; matmul_forward picks it): the same product,
// streaming w once instead of packing it. Bitwise the same for any M, row position or threads.
void gemv_rows(float* out, const float* x, const float* w, const float* bias, int M, int K, int N);

// ---- sgemm.cc ------------------------------------------------------------------------------
// C[M,N] = alpha * op(A) · op(B) + beta * C, row-major, op(X) = X or X^T, leading dims given.
// sgemm() uses BLAS when the build found one (have_blas()), else sgemm_ours().
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc);
void sgemm_ours(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc);
bool have_blas();
// Only when have_blas(); throws otherwise.
void sgemm_blas(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc);
// Force one path for tests/benchmarks: 0 = auto, 1 = ours, 2 = BLAS.
void set_sgemm_backend(int backend);

// ---- fused_head.cc -------------------------------------------------------------------------
// The language-model head and the one objective (docs/ARCHITECTURE.md "The objective"), chunk by chunk over tokens:
//   z[t, :] = h[t, :] · W^T / temperature,  logp[t] = z[t, y_t] - logsumexp(z[t, :])
//   rho = exp(logp - old_logp)
//   L_t = -min(rho·A_t, clip(rho, 1-clip_low, 1+clip_high)·A_t) · w_t
//         + beta · (exp(ref_t - logp) - (ref_t - logp) - 1) · w_t        (k3 KL, when ref_logp)
//   old_logp null: the on-policy case old = logp.detach() (rho = 1, never clipped); the first
//   term is then reported as -A_t·logp_t·w_t, which has the same gradient and is a useful value
//   (for A = 1 it is the cross-entropy; rho·A would report the constant -A).
//   loss = sum_t L_t / normaliser
// SFT cross-entropy: A = 1, old_logp = null, w = completion mask, normaliser = sum(w).
// Targets < 0 are ignored (logp[t] = 0, no loss). Never holds more than chunk x V logits.
struct HeadObjective {
  const float* weights = nullptr;     // [T] per-token loss weight; null = all 1
  const float* advantages = nullptr;  // [T]; null = all 1
  const float* old_logp = nullptr;    // [T]; null = on-policy (rho 1, see above)
  const float* ref_logp = nullptr;    // [T]; null = no KL term
  float beta = 0.0f;
  float clip_low = 0.2f, clip_high = 0.2f;
  float normaliser = 1.0f;
  float temperature = 1.0f;
};
struct HeadResult {
  double loss = 0.0;    // sum_t L_t / normaliser
  int64_t clipped = 0;  // tokens (weight != 0) whose gradient was cut by the clip
};
// h[T, C], W[V, C], targets[T] -> logp[T] (may be null). If dh/dW are non-null, also
// dh[T, C] += dloss/dh and dW[V, C] += dloss/dW (one pass, no second forward).
// scratch: chunk * V floats, or null to allocate one chunk internally.
HeadResult fused_head(float* logp, float* dh, float* dW, const float* h, const float* W, const int32_t* targets, int T,
                      int C, int V, const HeadObjective& obj, int chunk, float* scratch);

// ---- adamw.cc ------------------------------------------------------------------------------
// PyTorch AdamW, step t >= 1, g = grad * grad_scale:
//   p -= lr·wd·p;  m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²
//   p -= lr · (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int step, float grad_scale);

// ---- grad_norm.cc --------------------------------------------------------------------------
// Sum of squares of g[n], accumulated in double.
double grad_norm_sq(const float* g, int64_t n);
// torch.nn.utils.clip_grad_norm_: scale = min(1, max_norm / (total_norm + 1e-6)).
float clip_scale(double total_norm, float max_norm);

// ---- sampling.cc ---------------------------------------------------------------------------
// Draws one token from logits[V]: z = logits / temperature, keep the top_k largest (top_k <= 0:
// all), then the smallest set whose probability reaches top_p (nucleus; 1 = all), renormalise,
// and pick with the uniform number u in [0, 1). temperature <= 0 means greedy (argmax).
// *logprob = log_softmax(z)[token] over the whole vocab (the distribution the trainer
// recomputes with the same temperature; greedy: temperature 1). scratch: 2*V floats or null.
// vocab_limit n in (0, V): only ids < n are drawn (as from logits[0, n) alone: ids without a
// token in a tokenizer smaller than the model's embedding); the logprob stays over all V. 0: V.
int sample_token(const float* logits, int V, float temperature, int top_k, float top_p, float u, float* logprob,
                 float* scratch, int vocab_limit = 0);

// ---- dispatch.cc ---------------------------------------------------------------------------
// The instruction-set level the ops run: "avx512" (x86-64-v4 kernels, where the CPU and the OS
// support AVX-512 F/BW/CD/DQ/VL), "avx2" (the x86-64-v3 baseline) or "generic" (not x86-64).
// Chosen at the first call: the best the CPU has, or $WARMSTART_ISA (avx2 | avx512) when set;
// throws if $WARMSTART_ISA names a level this CPU or build lacks, or is not one of those.
const char* cpu_isa();
// The levels this build carries and this CPU can run, best first, comma-separated.
const char* cpu_isas_available();

}  // namespace ws::cpu
