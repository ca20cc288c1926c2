// The model's op interface: one inline function per op of native/cpu/ops.h, keyed by the device
// the model lives on. The Qwen2 graph (qwen2.cc) calls only these, so the CUDA ops of
// native/cuda/ slot in by adding a case here. Besides the contract's ops it holds the two
// element-wise helpers the graph needs (residual add, strided row copy).
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/error.h"
#include "../cpu/ops.h"

namespace ws::model {

enum class Device { CPU };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "?"; }

namespace op {

#define WS_DISPATCH(dev, call) \
  do { switch (dev) { case Device::CPU: ws::cpu::call; return; } throw ws::Error("unsupported device"); } while (0)

inline void embedding_forward(Device d, float* out, const int32_t* tok, const float* wte, int T, int C, int V) {
  WS_DISPATCH(d, embedding_forward(out, tok, wte, T, C, V));
}
inline void embedding_backward(Device d, float* dwte, const float* dout, const int32_t* tok, int T, int C, int V) {
  WS_DISPATCH(d, embedding_backward(dwte, dout, tok, T, C, V));
}
inline void rmsnorm_forward(Device d, float* out, float* rstd, const float* x, const float* w, int T, int C, float eps) {
  WS_DISPATCH(d, rmsnorm_forward(out, rstd, x, w, T, C, eps));
}
inline void rmsnorm_backward(Device d, float* dx, float* dw, const float* dout, const float* x, const float* w,
                             const float* rstd, int T, int C) {
  WS_DISPATCH(d, rmsnorm_backward(dx, dw, dout, x, w, rstd, T, C));
}
inline void rope_forward(Device d, float* out, const float* x, const int32_t* pos, int T, int H, int D, float theta) {
  WS_DISPATCH(d, rope_forward(out, x, pos, T, H, D, theta));
}
inline void rope_backward(Device d, float* dx, const float* dout, const int32_t* pos, int T, int H, int D, float theta) {
  WS_DISPATCH(d, rope_backward(dx, dout, pos, T, H, D, theta));
}
inline void attention_forward(Device d, float* out, float* lse, const float* q, const float* k, const float* v,
                              const int32_t* cu, int S, int T, int Hq, int Hkv, int D) {
  WS_DISPATCH(d, attention_forward(out, lse, q, k, v, cu, S, T, Hq, Hkv, D));
}
inline void attention_backward(Device d, float* dq, float* dk, float* dv, const float* dout, const float* q,
                               const float* k, const float* v, const float* out, const float* lse,
                               const int32_t* cu, int S, int T, int Hq, int Hkv, int D) {
  WS_DISPATCH(d, attention_backward(dq, dk, dv, dout, q, k, v, out, lse, cu, S, T, Hq, Hkv, D));
}
inline void attention_decode(Device d, float* out, const float* q, const float* kc, const float* vc,
                             const int32_t* lens, int B, int max_len, int Hq, int Hkv, int D) {
  WS_DISPATCH(d, attention_decode(out, q, kc, vc, lens, B, max_len, Hq, Hkv, D));
}
inline void swiglu_forward(Device d, float* out, const float* gate, const float* up, int64_t N) {
  WS_DISPATCH(d, swiglu_forward(out, gate, up, N));
}
inline void swiglu_backward(Device d, float* dgate, float* dup, const float* dout, const float* gate,
                            const float* up, int64_t N) {
  WS_DISPATCH(d, swiglu_backward(dgate, dup, dout, gate, up, N));
}
inline void matmul_forward(Device d, float* out, const float* x, const float* w, const float* b, int M, int K, int N) {
  WS_DISPATCH(d, matmul_forward(out, x, w, b, M, K, N));
}
inline void matmul_backward(Device d, float* dx, float* dw, float* db, const float* dout, const float* x,
                            const float* w, int M, int K, int N) {
  WS_DISPATCH(d, matmul_backward(dx, dw, db, dout, x, w, M, K, N));
}
inline ws::cpu::HeadResult fused_head(Device d, float* logp, float* dh, float* dW, const float* h, const float* W,
                                      const int32_t* targets, int T, int C, int V,
                                      const ws::cpu::HeadObjective& obj, int chunk, float* scratch) {
  switch (d) { case Device::CPU: return ws::cpu::fused_head(logp, dh, dW, h, W, targets, T, C, V, obj, chunk, scratch); }
  throw ws::Error("unsupported device");
}
inline void adamw_step(Device d, float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1,
                       float b2, float eps, float wd, int step, float grad_scale) {
  WS_DISPATCH(d, adamw_step(p, g, m, v, n, lr, b1, b2, eps, wd, step, grad_scale));
}
inline double grad_norm_sq(Device d, const float* g, int64_t n) {
  switch (d) { case Device::CPU: return ws::cpu::grad_norm_sq(g, n); }
  throw ws::Error("unsupported device");
}
inline int sample_token(Device d, const float* logits, int V, float temperature, int top_k, float top_p, float u,
                        float* logprob, float* scratch) {
  switch (d) { case Device::CPU: return ws::cpu::sample_token(logits, V, temperature, top_k, top_p, u, logprob, scratch); }
  throw ws::Error("unsupported device");
}

// y[i] += x[i]
inline void add_inplace(Device, float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
// dst[r, 0:cols] = src[r, 0:cols] for rows r; row strides in floats.
inline void copy_rows(Device, float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                      int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_stride, src + r * src_stride, cols * sizeof(float));
}
inline void zero(Device, float* x, int64_t n) { std::memset(x, 0, n * sizeof(float)); }

#undef WS_DISPATCH

}  // namespace op
}  // namespace ws::model
