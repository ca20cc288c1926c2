// RMSNorm over the last axis of x[T, C]:
//   rstd[t] = 1 / sqrt(mean_c x[t,c]^2 + eps),   out[t,c] = x[t,c] * rstd[t] * w[c]
// Backward, with g[c] = dout[t,c] * w[c] and m[t] = mean_c g[c] x[t,c]:
//   dx[t,c] += rstd[t] * (g[c] - x[t,c] * rstd[t]^2 * m[t])
//   dw[c]   += sum_t dout[t,c] * x[t,c] * rstd[t]
// Rows run in parallel; dw is split by columns (each thread sums all rows of its columns in
// order), so the result does not depend on the thread count.
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {

static void check_rmsnorm(int T, int C) {
  WS_CHECK_RANGE(T >= 0, "rmsnorm: T must be >= 0, got ", T);
  WS_CHECK_RANGE(C > 0, "rmsnorm: C must be > 0, got ", C);
}

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int T, int C, float eps) {
  check_rmsnorm(T, C);
  WS_CHECK_RANGE(eps >= 0.0f, "rmsnorm: eps must be >= 0, got ", eps);
  parallel_for(T, 1 + 16384 / C, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + t * C;
      float* ot = out + t * C;
      float r = 1.0f / std::sqrt(simd::dot(xt, xt, C) / C + eps);
      if (rstd) rstd[t] = r;
      for (int c = 0; c < C; ++c) ot[c] = xt[c] * r * w[c];
    }
  });
}

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, int T,
                      int C) {
  check_rmsnorm(T, C);
  if (dx) {
    parallel_for(T, 1 + 8192 / C, [&](int64_t t0, int64_t t1) {
      std::vector<float> scratch(C);
      for (int64_t t = t0; t < t1; ++t) {
        const float* xt = x + t * C;
        const float* gt = dout + t * C;
        float* dxt = dx + t * C;
        float r = rstd[t];
        float* gw = scratch.data();  // dout * w of this row
        for (int c = 0; c < C; ++c) gw[c] = gt[c] * w[c];
        const float k = r * r * simd::dot(gw, xt, C) / C;
        for (int c = 0; c < C; ++c) dxt[c] += r * (gw[c] - xt[c] * k);
      }
    });
  }
  if (dw) {
    parallel_for(C, 64, [&](int64_t c0, int64_t c1) {
      for (int t = 0; t < T; ++t) {
        const float* xt = x + (int64_t)t * C;
        const float* gt = dout + (int64_t)t * C;
        float r = rstd[t];
        for (int64_t c = c0; c < c1; ++c) dw[c] += gt[c] * xt[c] * r;
      }
    });
  }
}

}  // namespace ws::cpu::WS_CPU_ISA
