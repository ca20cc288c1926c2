// Portable 16-lane float vectors (GCC/Clang vector extensions: one AVX-512 register, or split
// into AVX2/SSE/NEON registers by the compiler) and a vectorised exp for the CPU ops.
#pragma once
#include <cstdint>
#include <cstring>

#include "isa.h"

namespace ws::cpu::WS_CPU_ISA::simd {

constexpr int W = 16;  // lanes
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));

inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf splat(float x) { return vf{} + x; }

// e^x, Cephes-style: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial, 2^n through
// the exponent bits. Relative error ~2 ulp; x < -87.3 (including -inf) gives exactly 0, x is
// clamped at 88.3 above.
inline vf exp(vf x) {
  const vf lo = splat(-87.3f), hi = splat(88.3f);
  vi underflow = x < lo;
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  vf n = x * 1.44269504088896341f + 12582912.0f;  // round to nearest via the 1.5*2^23 trick
  n = n - 12582912.0f;
  vf r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  vf scale = (vf)e;
  vf y = p * scale;
  return underflow ? vf{} : y;
}

// sum_i a[i] * b[i] in float, 16 lanes then a fixed-order tail (same bits on every call).
inline float dot(const float* a, const float* b, int64_t n) {
  vf acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += load(a + i) * load(b + i);
  float s = 0;
  for (int l = 0; l < W; ++l) s += acc[l];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < W; ++i) m = v[i] > m ? v[i] : m;
  return m;
}
inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
}

}  // namespace ws::cpu::WS_CPU_ISA::simd
