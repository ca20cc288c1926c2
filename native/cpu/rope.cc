// Rotary position embedding, Hugging Face "rotate half" convention. For a head vector x[D] at
// position p and i < D/2, with angle a_i = p * theta^(-2i/D) (computed in double):
//   out[i]       = x[i] cos a_i - x[i + D/2] sin a_i
//   out[i + D/2] = x[i + D/2] cos a_i + x[i] sin a_i
// The backward applies the transposed rotation (angle -a_i) and accumulates into dx.
// x[T, H, D], positions[T] >= 0; out == x allowed.
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"

namespace ws::cpu::WS_CPU_ISA {

static void check_rope(const int32_t* positions, int T, int H, int D, float theta) {
  WS_CHECK_RANGE(T >= 0, "rope: T must be >= 0, got ", T);
  WS_CHECK_RANGE(H > 0, "rope: H must be > 0, got ", H);
  WS_CHECK_RANGE(D > 0 && D % 2 == 0, "rope: D must be even and > 0, got ", D);
  WS_CHECK_RANGE(theta > 1.0f && std::isfinite(theta), "rope: theta must be finite and > 1, got ", theta);
  for (int t = 0; t < T; ++t)
    WS_CHECK_RANGE(positions[t] >= 0, "rope: positions[", t, "] = ", positions[t], " is negative");
}

// Forward: out = R(a) x (overwrite). Backward: out += R(-a) x = R(a)^T x.
template <bool Backward>
static void rotate(float* out, const float* x, const int32_t* positions, int T, int H, int D, float theta) {
  const int half = D / 2;
  parallel_for(T, 1 + 4096 / (H * D), [&](int64_t t0, int64_t t1) {
    std::vector<float> cs(D);  // cos[half], sin[half] of this token's angles
    std::vector<double> inv_freq(half);
    for (int i = 0; i < half; ++i) inv_freq[i] = std::pow((double)theta, -2.0 * i / D);
    for (int64_t t = t0; t < t1; ++t) {
      for (int i = 0; i < half; ++i) {
        double a = positions[t] * inv_freq[i];
        cs[i] = (float)std::cos(a);
        cs[half + i] = (float)std::sin(a);
      }
      const float* c = cs.data();
      const float* s = cs.data() + half;
      for (int h = 0; h < H; ++h) {
        const int64_t o = (t * H + h) * D;
        const float* x1 = x + o;
        const float* x2 = x + o + half;
        float* o1 = out + o;
        float* o2 = out + o + half;
        for (int i = 0; i < half; ++i) {
          float a = x1[i], b = x2[i];
          if (Backward) {
            o1[i] += a * c[i] + b * s[i];
            o2[i] += b * c[i] - a * s[i];
          } else {
            o1[i] = a * c[i] - b * s[i];
            o2[i] = b * c[i] + a * s[i];
          }
        }
      }
    }
  });
}

void rope_forward(float* out, const float* x, const int32_t* positions, int T, int H, int D, float theta) {
  check_rope(positions, T, H, D, theta);
  rotate<false>(out, x, positions, T, H, D, theta);
}

void rope_backward(float* dx, const float* dout, const int32_t* positions, int T, int H, int D, float theta) {
  check_rope(positions, T, H, D, theta);
  rotate<true>(dx, dout, positions, T, H, D, theta);
}

}  // namespace ws::cpu::WS_CPU_ISA
