// SwiGLU gate of the MLP, elementwise over N values:
//   out = silu(g) * u,   silu(g) = g * s,  s = sigmoid(g) = 1 / (1 + e^-g)
//   dg += dout * u * s * (1 + g * (1 - s)),   du += dout * silu(g)
// 16 lanes at a time with the vectorised exp of simd.h; dgate / dup may be null.
#include <cmath>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {

using namespace simd;

static constexpr int64_t kGrain = 1 << 15;

void swiglu_forward(float* out, const float* gate, const float* up, int64_t N) {
  WS_CHECK_RANGE(N >= 0, "swiglu: N must be >= 0, got ", N);
  parallel_for((N + W - 1) / W, kGrain / W, [&](int64_t b0, int64_t b1) {
    int64_t i = b0 * W, end = std::min(N, b1 * W);
    for (; i + W <= end; i += W) {
      vf g = load(gate + i);
      vf s = 1.0f / (1.0f + simd::exp(-g));
      store(out + i, g * s * load(up + i));
    }
    for (; i < end; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  });
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t N) {
  WS_CHECK_RANGE(N >= 0, "swiglu: N must be >= 0, got ", N);
  parallel_for((N + W - 1) / W, kGrain / W, [&](int64_t b0, int64_t b1) {
    int64_t i = b0 * W, end = std::min(N, b1 * W);
    for (; i + W <= end; i += W) {
      vf g = load(gate + i), d = load(dout + i);
      vf s = 1.0f / (1.0f + simd::exp(-g));
      if (dgate) store(dgate + i, load(dgate + i) + d * load(up + i) * s * (1.0f + g * (1.0f - s)));
      if (dup) store(dup + i, load(dup + i) + d * g * s);
    }
    for (; i < end; ++i) {
      float g = gate[i], s = 1.0f / (1.0f + std::exp(-g));
      if (dgate) dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
      if (dup) dup[i] += dout[i] * g * s;
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
