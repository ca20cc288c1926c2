// The CUDA ops: the contract of native/cpu/ops.h on the GPU, one .cu file per op.
//
// Precision (docs/ARCHITECTURE.md "Precision"): activations and the weights used in compute are bf16; master weights,
// Adam moments, weight gradients and the small per-token/per-row vectors (lse, rstd, logp) are
// fp32; every reduction (dot products, norms, softmax, log-sum-exp, column sums) accumulates in
// fp32 (grad norm and the head's loss in double).
//
// Conventions, as in ops.h:
// - Every pointer is a device pointer (cu_seqlens, lens, targets and the HeadObjective vectors
//   included) unless a comment says host. Shapes are row-major, names as in ops.h.
// - Every *_backward ACCUMULATES into its gradients: bf16 activation gradients are read, summed in
//   fp32 with the new term and rounded once; fp32 weight gradients are added to.
// - Ops run on `stream` and do not synchronise, except the few that return a host value
//   (fused_head, grad_norm_sq), which say so.
// - Deterministic (bitwise identical on a rerun) unless marked "atomic".
// - Bad shapes throw ws::RangeError, CUDA failures ws::Error; ops never abort.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../cpu/ops.h"

namespace ws::cuda {

using bf16 = __nv_bfloat16;

// ---- cast.cu -------------------------------------------------------------------------------
// out[i] = round_to_nearest_even_bf16(x[i])  /  out[i] = float(x[i])
void cast_f32_to_bf16(bf16* out, const float* x, int64_t n, cudaStream_t stream = 0);
void cast_bf16_to_f32(float* out, const bf16* x, int64_t n, cudaStream_t stream = 0);

// ---- embedding.cu --------------------------------------------------------------------------
// out[t, :] = wte[tokens[t], :]
void embedding_forward(bf16* out, const int32_t* tokens, const bf16* wte, int T, int C, int V, cudaStream_t stream = 0);
// dwte[tokens[t], :] += dout[t, :]   (fp32 weight gradient; atomic where tokens repeat)
void embedding_backward(float* dwte, const bf16* dout, const int32_t* tokens, int T, int C, int V,
                        cudaStream_t stream = 0);

// ---- rmsnorm.cu ----------------------------------------------------------------------------
// rstd[t] = 1/sqrt(mean_c x² + eps); out = x·rstd·w. rstd may be null. out == x allowed.
void rmsnorm_forward(bf16* out, float* rstd, const bf16* x, const bf16* w, int T, int C, float eps,
                     cudaStream_t stream = 0);
// dx (bf16, may be null) += ...; dw (fp32, may be null) += sum_t dout·x·rstd.
void rmsnorm_backward(bf16* dx, float* dw, const bf16* dout, const bf16* x, const bf16* w, const float* rstd, int T,
                      int C, cudaStream_t stream = 0);

// ---- rope.cu -------------------------------------------------------------------------------
// Rotate-half RoPE, angle = pos·theta^(-2i/D). x[T, H, D]. out == x allowed.
void rope_forward(bf16* out, const bf16* x, const int32_t* positions, int T, int H, int D, float theta,
                  cudaStream_t stream = 0);
// dx += R(pos)^T dout
void rope_backward(bf16* dx, const bf16* dout, const int32_t* positions, int T, int H, int D, float theta,
                   cudaStream_t stream = 0);

// ---- attention_forward.cu / attention_backward.cu ------------------------------------------
// FlashAttention-2 style causal GQA attention over packed sequences (ops.h semantics), head dim
// D in {64, 128}. q[T, Hq, D], k/v[T, Hkv, D] -> out[T, Hq, D] (bf16), lse[T, Hq] (fp32, may be
// null). cu_seqlens[num_seqs + 1] on the device.
void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* cu_seqlens,
                       int num_seqs, int T, int Hq, int Hkv, int D, cudaStream_t stream = 0);
// dq, dk, dv (bf16) += the gradients; lse from the forward (not null). Two passes (key tiles
// produce dk/dv, query tiles produce dq), so nothing is atomic.
void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                        const bf16* out, const float* lse, const int32_t* cu_seqlens, int num_seqs, int T, int Hq,
                        int Hkv, int D, cudaStream_t stream = 0);

// ---- attention_decode.cu -------------------------------------------------------------------
// One query token per sequence against its KV cache (ops.h attention_decode). q[B, Hq, D],
// caches [B, max_len, Hkv, D], lens[B] on the device. Split over the key length when B·Hq is too
// small to fill the GPU; the splits are combined in a fixed order.
void attention_decode(bf16* out, const bf16* q, const bf16* k_cache, const bf16* v_cache, const int32_t* lens, int B,
                      int max_len, int Hq, int Hkv, int D, cudaStream_t stream = 0);

// ---- swiglu.cu -----------------------------------------------------------------------------
void swiglu_forward(bf16* out, const bf16* gate, const bf16* up, int64_t N, cudaStream_t stream = 0);
void swiglu_backward(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up, int64_t N,
                     cudaStream_t stream = 0);

// ---- matmul_cublaslt.cu (compiled only where cuBLASLt is found) ----------------------------
// Row-major GEMM on bf16 operands with fp32 accumulation:
//   C[M, N] = alpha · op(A) · op(B) + beta · C,  C bf16 or fp32 (c_fp32).
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
          float beta, void* C, bool c_fp32, int ldc, cudaStream_t stream = 0);
// out[M, N] = x[M, K] · w[N, K]^T + bias[N] (bias may be null).
void matmul_forward(bf16* out, const bf16* x, const bf16* w, const bf16* bias, int M, int K, int N,
                    cudaStream_t stream = 0);
// dx[M,K] (bf16) += dout·w; dw[N,K] (fp32) += dout^T·x; dbias[N] (fp32) += sum_m dout. Any may be null.
void matmul_backward(bf16* dx, float* dw, float* dbias, const bf16* dout, const bf16* x, const bf16* w, int M, int K,
                     int N, cudaStream_t stream = 0);
// dbias[N] += sum_m dout[m, :] (matmul_bias_grad.cu; used by matmul_backward).
void bias_grad(float* dbias, const bf16* dout, int M, int N, cudaStream_t stream = 0);

// ---- fused_head.cu -------------------------------------------------------------------------
// ops.h fused_head on the GPU: h[T, C] and W[V, C] bf16, targets[T] and the objective's vectors
// on the device, logp[T] fp32 (may be null), dh bf16 (+=), dW fp32 (+=). Chunks of `chunk`
// tokens: the chunk's logits live in scratch (chunk·V floats plus chunk·V bf16, or null for an
// internal workspace). Synchronises the stream to return the loss and the clip count.
using HeadObjective = ws::cpu::HeadObjective;
using HeadResult = ws::cpu::HeadResult;
size_t fused_head_scratch_bytes(int chunk, int V);
HeadResult fused_head(float* logp, bf16* dh, float* dW, const bf16* h, const bf16* W, const int32_t* targets, int T,
                      int C, int V, const HeadObjective& obj, int chunk, void* scratch, cudaStream_t stream = 0);

// ---- grpo_advantages.cu --------------------------------------------------------------------
// rewards[num_groups · G] -> adv[i] = r_i - mean(group)  (Dr. GRPO), or, with scale_std,
// (r_i - mean) / (std + 1e-4) (sample std, plain GRPO as TRL); 0 where a group's rewards are all
// equal. Group sums in fp32, fixed order. (lib/train/advantages.ts computes the same on the host.)
void grpo_advantages(float* adv, const float* rewards, int num_groups, int G, bool scale_std, cudaStream_t stream = 0);

// ---- adamw.cu ------------------------------------------------------------------------------
// Multi-tensor AdamW (ops.h adamw_step per tensor, each with its own weight decay) in one launch
// per 32 tensors. param/m/v fp32 master state; param_bf16 (may be null) receives the rounded new
// weights for the next forward in the same pass. `tensors` is a host array.
struct AdamWTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  bf16* param_bf16 = nullptr;
  int64_t n = 0;
  float weight_decay = 0.0f;
};
void adamw_step(const AdamWTensor* tensors, int count, float lr, float beta1, float beta2, float eps, int step,
                float grad_scale, cudaStream_t stream = 0);

// ---- grad_norm.cu --------------------------------------------------------------------------
// Sum of squares over several fp32 gradients (host arrays of device pointers and lengths), in
// double, fixed order. Synchronises the stream to return it. Pair with ws::cpu::clip_scale.
double grad_norm_sq(const float* const* grads, const int64_t* sizes, int count, cudaStream_t stream = 0);
// x[i] *= scale (the clip step when AdamW's grad_scale is not used).
void scale_inplace(float* x, int64_t n, float scale, cudaStream_t stream = 0);

// ---- sampling.cu ---------------------------------------------------------------------------
// ops.h sample_token for B rows at once: logits[B, V] fp32, u[B] uniforms in [0, 1) ->
// tokens[B], logprobs[B] (may be null). Same rules (temperature, top-k, then top-p over the
// renormalised top-k, draw by u in descending probability, ties to the lower id), found by
// bisection over the logits' ordered bit patterns instead of a sort. vocab_limit: as ops.h's.
void sample_tokens(int32_t* tokens, float* logprobs, const float* logits, int B, int V, float temperature, int top_k,
                   float top_p, const float* u, int vocab_limit = 0, cudaStream_t stream = 0);

// ---- memory.cu -----------------------------------------------------------------------------
// Device memory for the model graph. device_alloc returns zero-filled memory (null for 0 bytes);
// device_free never throws. Host<->device copies synchronise; device copies and zero_device run
// on `stream`. copy_rows_device copies `rows` rows of row_bytes between pitched buffers.
void* device_alloc(size_t bytes);
void device_free(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes, cudaStream_t stream = 0);
void copy_rows_device(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, size_t rows,
                      cudaStream_t stream = 0);
void zero_device(void* p, size_t bytes, cudaStream_t stream = 0);
// dst[dst_rows[i], 0:cols] = src[src_rows[i], 0:cols] for i < n, bf16 rows (strides in
// elements); a null index array means row i. Index arrays on the device. One launch for the
// scatter/gather of a decode step's rows (KV cache rows, query slots).
void copy_rows_indexed(bf16* dst, int64_t dst_stride, const int32_t* dst_rows, const bf16* src, int64_t src_stride,
                       const int32_t* src_rows, int n, int64_t cols, cudaStream_t stream = 0);
// y[i] = bf16(float(y[i]) + float(x[i])): the residual add.
void add_inplace(bf16* y, const bf16* x, int64_t n, cudaStream_t stream = 0);

}  // namespace ws::cuda
