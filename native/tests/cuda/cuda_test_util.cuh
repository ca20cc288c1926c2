// Helpers for the CUDA-vs-CPU parity tests: device buffers, bf16 rounding on the host (so the
// CPU reference sees exactly the values the GPU reads), NaN poisoning of outputs, and the
// tol + |ref|·eps comparison of test_util.h on downloaded results.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "../../cuda/common.cuh"
#include "../../cuda/ops.cuh"
#include "../test_util.h"

namespace wstest {

using bf16 = __nv_bfloat16;
constexpr float kEps = 0.08f;  // bf16 relative tolerance (issue 7)

template <typename T>
struct Buf {
  T* p = nullptr;
  size_t n = 0;
  explicit Buf(size_t count) : n(count) { WS_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(1, n) * sizeof(T))); }
  Buf(const Buf&) = delete;
  ~Buf() { cudaFree(p); }
  void poison() { WS_CUDA_CHECK(cudaMemset(p, 0xFF, n * sizeof(T))); }  // NaN in bf16 and fp32
  void upload(const std::vector<T>& h) {
    WS_CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    WS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> h(n);
    WS_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

inline std::vector<float> round_bf16(std::vector<float> v) {
  for (auto& x : v) x = __bfloat162float(__float2bfloat16_rn(x));
  return v;
}
inline std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = __float2bfloat16_rn(v[i]);
  return o;
}
inline std::vector<float> to_f32(const std::vector<bf16>& v) {
  std::vector<float> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = __bfloat162float(v[i]);
  return o;
}
// Random values rounded to bf16, uploaded as bf16; the host copy is what the CPU reference uses.
struct BfInput {
  std::vector<float> host;
  Buf<bf16> dev;
  BfInput(size_t n, uint64_t seed, float scale = 1.0f) : host(round_bf16(randn(n, seed, scale))), dev(n) {
    dev.upload(to_bf16(host));
  }
};
struct F32Input {
  std::vector<float> host;
  Buf<float> dev;
  F32Input(size_t n, uint64_t seed, float scale = 1.0f) : host(randn(n, seed, scale)), dev(n) { dev.upload(host); }
};
template <typename T>
Buf<T>* upload_new(const std::vector<T>& h) {
  auto* b = new Buf<T>(h.size());
  b->upload(h);
  return b;
}

inline float max_abs(const std::vector<float>& v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}
// Compares a bf16 device result with the fp32 reference: |got - ref| <= tol + |ref|·kEps, where
// tol = rel_tol · max|ref| (bf16 rounding of intermediates scales with the output's range).
inline bool close_bf16(const Buf<bf16>& got, const std::vector<float>& ref, float rel_tol, const char* what) {
  const auto g = to_f32(got.download());
  return allclose(g.data(), ref.data(), ref.size(), rel_tol * std::max(max_abs(ref), 1e-6f), kEps, what);
}
inline bool close_f32(const Buf<float>& got, const std::vector<float>& ref, float rel_tol, float eps,
                      const char* what) {
  const auto g = got.download();
  return allclose(g.data(), ref.data(), ref.size(), rel_tol * std::max(max_abs(ref), 1e-6f), eps, what);
}
template <typename T>
bool bitwise_equal(const Buf<T>& a, const std::vector<T>& b) {
  const auto h = a.download();
  return std::memcmp(h.data(), b.data(), b.size() * sizeof(T)) == 0;
}

// Packed cu_seqlens for the given lengths (host vector).
inline std::vector<int32_t> cu_seqlens(const std::vector<int>& lens) {
  std::vector<int32_t> cu{0};
  for (int l : lens) cu.push_back(cu.back() + l);
  return cu;
}

}  // namespace wstest
