// The model's op interface: one inline function per op of native/cpu/ops.h, keyed by the device
// the model lives on. The Qwen2 graph (qwen2.cc) calls only these. Besides the contract's ops it
// holds the memory helpers the graph needs (device buffers, copies, residual add).
//
// Element types: on the CPU everything is fp32. On CUDA (the CUDA addon, built with WS_CUDA) the
// activations and the weights used in compute are bf16 (ops.cuh), while master weights, weight
// gradients, Adam moments and the small per-token vectors (rstd, lse, logp, logits for sampling)
// stay fp32. The graph keeps `float*` for both kinds and never dereferences a device pointer on
// the host; offsets into activation/compute-weight buffers go through at(), which steps by the
// device's activation element size. Every pointer handed to an op points into device memory
// (batch tokens, positions and cu_seqlens included); the model stages host inputs with to_device.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../core/host_memory.h"
#include "../cpu/ops.h"
#ifdef WS_CUDA
#include "../cuda/ops.cuh"
#endif

namespace ws::model {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

inline bool device_available([[maybe_unused]] Device d) {
#ifdef WS_CUDA
  return true;
#else
  return d == Device::CPU;
#endif
}

// Bytes per activation / compute-weight element: fp32 on the CPU, bf16 on CUDA.
inline int64_t act_bytes(Device d) { return d == Device::CPU ? 4 : 2; }
// p + i activation elements.
inline float* at(Device d, float* p, int64_t i) {
  return reinterpret_cast<float*>(reinterpret_cast<char*>(p) + i * act_bytes(d));
}
inline const float* at(Device d, const float* p, int64_t i) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + i * act_bytes(d));
}

// Zero-filled memory on a device, owned; moves only. On the host, large blocks are zero pages
// that cost nothing until touched (core/host_memory.h).
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }
  // Replaces the contents with `bytes` zero bytes on device d.
  void reset(Device d, size_t bytes) {
    release();
    if (bytes == 0) return;
#ifdef WS_CUDA
    if (d == Device::CUDA) {
      p_ = ws::cuda::device_alloc(bytes);
      d_ = d;
      bytes_ = bytes;
      return;
    }
#endif
    WS_CHECK(d == Device::CPU, "no ", device_name(d), " support in this build");
    p_ = ws::host_alloc_zeroed(bytes);  // large blocks: zero pages the first user touches, no memset
    d_ = d;
    bytes_ = bytes;
  }
  void release() {
#ifdef WS_CUDA
    if (d_ == Device::CUDA)
      ws::cuda::device_free(p_);
    else
#endif
      ws::host_free(p_, bytes_);
    p_ = nullptr;
    bytes_ = 0;
  }
  float* f32() const { return static_cast<float*>(p_); }
  size_t bytes() const { return bytes_; }
  void swap(Buffer& o) noexcept {
    std::swap(d_, o.d_);
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
  }

 private:
  Device d_ = Device::CPU;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

namespace op {

namespace host {
inline void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
inline void copy_rows(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t row_bytes,
                      int64_t rows) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, row_bytes);
}
}  // namespace host

#ifdef WS_CUDA
using ws::cuda::bf16;
inline bf16* B(float* p) { return reinterpret_cast<bf16*>(p); }
inline const bf16* B(const float* p) { return reinterpret_cast<const bf16*>(p); }
#define WS_DISPATCH(dev, cpu_call, cuda_call) \
  do {                                        \
    switch (dev) {                            \
      case Device::CPU:                       \
        cpu_call;                             \
        return;                               \
      case Device::CUDA:                      \
        cuda_call;                            \
        return;                               \
    }                                         \
  } while (0)
#else
#define WS_DISPATCH(dev, cpu_call, cuda_call)                                   \
  do {                                                                          \
    if (dev == Device::CPU) {                                                   \
      cpu_call;                                                                 \
      return;                                                                   \
    }                                                                           \
    throw ws::Error("device 'cuda' needs the CUDA addon (npm run build:cuda)"); \
  } while (0)
#endif

inline void embedding_forward(Device d, float* out, const int32_t* tok, const float* wte, int T, int C, int V) {
  WS_DISPATCH(d, cpu::embedding_forward(out, tok, wte, T, C, V), cuda::embedding_forward(B(out), tok, B(wte), T, C, V));
}
inline void embedding_backward(Device d, float* dwte, const float* dout, const int32_t* tok, int T, int C, int V) {
  WS_DISPATCH(d, cpu::embedding_backward(dwte, dout, tok, T, C, V),
              cuda::embedding_backward(dwte, B(dout), tok, T, C, V));
}
inline void rmsnorm_forward(Device d, float* out, float* rstd, const float* x, const float* w, int T, int C,
                            float eps) {
  WS_DISPATCH(d, cpu::rmsnorm_forward(out, rstd, x, w, T, C, eps),
              cuda::rmsnorm_forward(B(out), rstd, B(x), B(w), T, C, eps));
}
inline void rmsnorm_backward(Device d, float* dx, float* dw, const float* dout, const float* x, const float* w,
                             const float* rstd, int T, int C) {
  WS_DISPATCH(d, cpu::rmsnorm_backward(dx, dw, dout, x, w, rstd, T, C),
              cuda::rmsnorm_backward(B(dx), dw, B(dout), B(x), B(w), rstd, T, C));
}
inline void rope_forward(Device d, float* out, const float* x, const int32_t* pos, int T, int H, int D, float theta) {
  WS_DISPATCH(d, cpu::rope_forward(out, x, pos, T, H, D, theta), cuda::rope_forward(B(out), B(x), pos, T, H, D, theta));
}
inline void rope_backward(Device d, float* dx, const float* dout, const int32_t* pos, int T, int H, int D,
                          float theta) {
  WS_DISPATCH(d, cpu::rope_backward(dx, dout, pos, T, H, D, theta),
              cuda::rope_backward(B(dx), B(dout), pos, T, H, D, theta));
}
inline void attention_forward(Device d, float* out, float* lse, const float* q, const float* k, const float* v,
                              const int32_t* cu, int S, int T, int Hq, int Hkv, int D) {
  WS_DISPATCH(d, cpu::attention_forward(out, lse, q, k, v, cu, S, T, Hq, Hkv, D),
              cuda::attention_forward(B(out), lse, B(q), B(k), B(v), cu, S, T, Hq, Hkv, D));
}
inline void attention_backward(Device d, float* dq, float* dk, float* dv, const float* dout, const float* q,
                               const float* k, const float* v, const float* out, const float* lse, const int32_t* cu,
                               int S, int T, int Hq, int Hkv, int D) {
  WS_DISPATCH(
      d, cpu::attention_backward(dq, dk, dv, dout, q, k, v, out, lse, cu, S, T, Hq, Hkv, D),
      cuda::attention_backward(B(dq), B(dk), B(dv), B(dout), B(q), B(k), B(v), B(out), lse, cu, S, T, Hq, Hkv, D));
}
inline void attention_decode(Device d, float* out, const float* q, const float* kc, const float* vc,
                             const int32_t* lens, int B_, int max_len, int Hq, int Hkv, int D) {
  WS_DISPATCH(d, cpu::attention_decode(out, q, kc, vc, lens, B_, max_len, Hq, Hkv, D),
              cuda::attention_decode(B(out), B(q), B(kc), B(vc), lens, B_, max_len, Hq, Hkv, D));
}
inline void swiglu_forward(Device d, float* out, const float* gate, const float* up, int64_t N) {
  WS_DISPATCH(d, cpu::swiglu_forward(out, gate, up, N), cuda::swiglu_forward(B(out), B(gate), B(up), N));
}
inline void swiglu_backward(Device d, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                            int64_t N) {
  WS_DISPATCH(d, cpu::swiglu_backward(dgate, dup, dout, gate, up, N),
              cuda::swiglu_backward(B(dgate), B(dup), B(dout), B(gate), B(up), N));
}
inline void matmul_forward(Device d, float* out, const float* x, const float* w, const float* b, int M, int K, int N) {
  WS_DISPATCH(d, cpu::matmul_forward(out, x, w, b, M, K, N), cuda::matmul_forward(B(out), B(x), B(w), B(b), M, K, N));
}
inline void matmul_backward(Device d, float* dx, float* dw, float* db, const float* dout, const float* x,
                            const float* w, int M, int K, int N) {
  WS_DISPATCH(d, cpu::matmul_backward(dx, dw, db, dout, x, w, M, K, N),
              cuda::matmul_backward(B(dx), dw, db, B(dout), B(x), B(w), M, K, N));
}
// logits[M, V] (fp32, for sampling) = x[M, C] · W[V, C]^T
inline void logits_forward(Device d, float* logits, const float* x, const float* W, int M, int C, int V) {
  WS_DISPATCH(d, cpu::matmul_forward(logits, x, W, nullptr, M, C, V),
              cuda::gemm(false, true, M, V, C, 1.0f, B(x), C, B(W), C, 0.0f, logits, true, V));
}
// On CUDA: h, dh, W activations; logp, dW, targets and obj's vectors on the device; scratch
// unused (the kernel's own workspace).
inline ws::cpu::HeadResult fused_head(Device d, float* logp, float* dh, float* dW, const float* h, const float* W,
                                      const int32_t* targets, int T, int C, int V, const ws::cpu::HeadObjective& obj,
                                      int chunk, float* scratch) {
#ifdef WS_CUDA
  if (d == Device::CUDA)
    return ws::cuda::fused_head(logp, B(dh), dW, B(h), B(W), targets, T, C, V, obj, chunk, nullptr);
#endif
  WS_CHECK(d == Device::CPU, "no ", device_name(d), " support in this build");
  return ws::cpu::fused_head(logp, dh, dW, h, W, targets, T, C, V, obj, chunk, scratch);
}
// AdamW on fp32 master weights p, for every tensor of the list; on CUDA also writes the rounded
// weights to p_compute (bf16), in one launch per 32 tensors.
struct AdamWSlice {
  float* p;
  float* p_compute;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  float wd;
};
inline void adamw_step(Device d, const std::vector<AdamWSlice>& ts, float lr, float b1, float b2, float eps, int step,
                       float grad_scale) {
#ifdef WS_CUDA
  if (d == Device::CUDA) {
    std::vector<ws::cuda::AdamWTensor> t;
    t.reserve(ts.size());
    for (const auto& s : ts) t.push_back({s.p, s.g, s.m, s.v, B(s.p_compute), s.n, s.wd});
    return ws::cuda::adamw_step(t.data(), (int)t.size(), lr, b1, b2, eps, step, grad_scale);
  }
#endif
  WS_CHECK(d == Device::CPU, "no ", device_name(d), " support in this build");
  for (const auto& s : ts)  // the CPU computes with its master weights (no p_compute)
    ws::cpu::adamw_step(s.p, s.g, s.m, s.v, s.n, lr, b1, b2, eps, s.wd, step, grad_scale);
}
inline double grad_norm_sq(Device d, const float* g, int64_t n) {
#ifdef WS_CUDA
  if (d == Device::CUDA) return ws::cuda::grad_norm_sq(&g, &n, 1);
#endif
  WS_CHECK(d == Device::CPU, "no ", device_name(d), " support in this build");
  return ws::cpu::grad_norm_sq(g, n);
}
// One token per row of logits[n, V] (fp32) with uniforms u[n]: tokens[n], logprobs[n]; only ids
// below vocab_limit are drawn (0: all). scratch: 2·V floats (CPU only).
inline void sample_tokens(Device d, int32_t* tokens, float* logprobs, const float* logits, int n, int V,
                          float temperature, int top_k, float top_p, const float* u, float* scratch, int vocab_limit) {
#ifdef WS_CUDA
  if (d == Device::CUDA)
    return ws::cuda::sample_tokens(tokens, logprobs, logits, n, V, temperature, top_k, top_p, u, vocab_limit);
#endif
  WS_CHECK(d == Device::CPU, "no ", device_name(d), " support in this build");
  for (int i = 0; i < n; ++i)
    tokens[i] = ws::cpu::sample_token(logits + (size_t)i * V, V, temperature, top_k, top_p, u[i], logprobs + i, scratch,
                                      vocab_limit);
}

// y[i] += x[i] (activations)
inline void add_inplace(Device d, float* y, const float* x, int64_t n) {
  WS_DISPATCH(d, host::add(y, x, n), cuda::add_inplace(B(y), B(x), n));
}
// dst[r, 0:cols] = src[r, 0:cols] for rows r (activations); strides in elements.
inline void copy_rows(Device d, float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                      int64_t cols) {
  const int64_t e = act_bytes(d);
  WS_DISPATCH(d, host::copy_rows(dst, dst_stride * e, src, src_stride * e, cols * e, rows),
              cuda::copy_rows_device(dst, dst_stride * e, src, src_stride * e, cols * e, rows));
}
// dst[dst_rows[i], 0:cols] = src[src_rows[i], 0:cols] for i < n (activations; strides in
// elements; a null index array means row i; index arrays on the device).
inline void copy_rows_indexed(Device d, float* dst, int64_t dst_stride, const int32_t* dst_rows, const float* src,
                              int64_t src_stride, const int32_t* src_rows, int n, int64_t cols) {
  WS_DISPATCH(d,
              for (int i = 0; i < n; ++i)
                  std::memcpy(at(d, dst, (dst_rows ? dst_rows[i] : i) * dst_stride),
                              at(d, src, (src_rows ? src_rows[i] : i) * src_stride), cols * sizeof(float)),
              cuda::copy_rows_indexed(B(dst), dst_stride, dst_rows, B(src), src_stride, src_rows, n, cols));
}
// dst[0:n] = src[0:n] (activations)
inline void copy(Device d, float* dst, const float* src, int64_t n) { copy_rows(d, dst, n, src, n, 1, n); }
// x[0:n] = 0, n elements of `elem_bytes` each
inline void zero(Device d, float* x, int64_t n, int64_t elem_bytes) {
  WS_DISPATCH(d, std::memset(x, 0, n * elem_bytes), cuda::zero_device(x, n * elem_bytes));
}
inline void zero(Device d, float* x, int64_t n) { zero(d, x, n, act_bytes(d)); }
// dst (compute weights) = src (fp32 master weights), n elements: bf16 rounding on CUDA; on the
// CPU the two are one buffer.
inline void to_compute(Device d, float* dst, const float* src, int64_t n) {
  WS_DISPATCH(d, if (dst != src) std::memcpy(dst, src, n * sizeof(float)), cuda::cast_f32_to_bf16(B(dst), src, n));
}
// Host <-> device copies of raw bytes (memcpy on the CPU).
inline void to_device(Device d, void* dst, const void* src, size_t bytes) {
  WS_DISPATCH(d, std::memcpy(dst, src, bytes), cuda::copy_to_device(dst, src, bytes));
}
inline void to_host(Device d, void* dst, const void* src, size_t bytes) {
  WS_DISPATCH(d, std::memcpy(dst, src, bytes), cuda::copy_to_host(dst, src, bytes));
}

#undef WS_DISPATCH

}  // namespace op
}  // namespace ws::model
