// AdamW with PyTorch semantics (torch.optim.AdamW, single-tensor path), step t >= 1,
// g = grad * grad_scale:
//   p *= 1 - lr·wd                                 (decoupled weight decay)
//   m = b1·m + (1-b1)·g;   v = b2·v + (1-b2)·g²
//   p -= (lr / (1 - b1^t)) · m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Scalars are formed in double as Python does, then used in float as PyTorch's kernels do.
#include <cmath>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"

namespace ws::cpu::WS_CPU_ISA {

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int step, float grad_scale) {
  WS_CHECK_RANGE(n >= 0, "adamw_step: n must be >= 0, got ", n);
  WS_CHECK_RANGE(step >= 1, "adamw_step: step must be >= 1, got ", step);
  WS_CHECK_RANGE(beta1 >= 0 && beta1 < 1, "adamw_step: beta1 must be in [0, 1), got ", beta1);
  WS_CHECK_RANGE(beta2 >= 0 && beta2 < 1, "adamw_step: beta2 must be in [0, 1), got ", beta2);
  WS_CHECK_RANGE(lr >= 0 && eps >= 0 && weight_decay >= 0, "adamw_step: lr, eps and weight_decay must be >= 0");
  const float decay = float(1.0 - (double)lr * weight_decay);
  const float a1 = float(1.0 - beta1), a2 = float(1.0 - beta2);
  const float step_size = float(lr / (1.0 - std::pow((double)beta1, step)));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow((double)beta2, step)));
  parallel_for(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float g = grad[i] * grad_scale;
      param[i] *= decay;
      m[i] = m[i] * beta1 + g * a1;
      v[i] = v[i] * beta2 + g * g * a2;
      param[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps));
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
