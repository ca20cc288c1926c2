// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_ with the 2-norm):
//   grad_norm_sq(g) = sum_i g_i^2 in double; the caller sums over tensors and takes the sqrt;
//   clip_scale = min(1, max_norm / (total_norm + 1e-6)), by which every gradient is multiplied.
// The sum runs over fixed blocks of 2^14 elements in order, so it does not depend on the thread
// count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"

namespace ws::cpu::WS_CPU_ISA {

double grad_norm_sq(const float* g, int64_t n) {
  WS_CHECK_RANGE(n >= 0, "grad_norm_sq: n must be >= 0, got ", n);
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(blocks);
  parallel_for(blocks, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double s = 0;
      for (int64_t i = b * kBlock, e = std::min(n, i + kBlock); i < e; ++i) s += (double)g[i] * g[i];
      part[b] = s;
    }
  });
  double total = 0;
  for (double s : part) total += s;
  return total;
}

float clip_scale(double total_norm, float max_norm) {
  WS_CHECK_RANGE(max_norm > 0, "clip_scale: max_norm must be > 0, got ", max_norm);
  return (float)std::min(1.0, (double)max_norm / (total_norm + 1e-6));
}

}  // namespace ws::cpu::WS_CPU_ISA
