// Multi-tensor AdamW with PyTorch semantics (ops.h adamw_step), g = grad·grad_scale:
//   p *= 1 - lr·wd;  m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²
//   p -= (lr/(1-b1^t)) · m / (sqrt(v)/sqrt(1-b2^t) + eps);  p_bf16 = bf16(p)
// Scalars are formed on the host in double and used in float, as on the CPU. Up to 32 tensors
// travel in one launch's parameter block; blocks find their tensor from a prefix of block counts.
#include <cmath>

#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kMaxTensors = 32;
constexpr int kThreads = 256;
constexpr int kPerBlock = kThreads * 8;  // elements per block

struct Batch {
  float* param[kMaxTensors];
  const float* grad[kMaxTensors];
  float* m[kMaxTensors];
  float* v[kMaxTensors];
  bf16* param_bf16[kMaxTensors];
  int64_t n[kMaxTensors];
  float decay[kMaxTensors];
  int block_start[kMaxTensors + 1];
  int count;
};

__global__ void adamw_kernel(const __grid_constant__ Batch b, float beta1, float beta2, float a1, float a2,
                             float step_size, float bc2_sqrt, float eps, float grad_scale) {
  int k = 0;
  while (k + 1 < b.count && (int)blockIdx.x >= b.block_start[k + 1]) ++k;
  const int64_t base = (int64_t)(blockIdx.x - b.block_start[k]) * kPerBlock;
  const int64_t end = min(b.n[k], base + kPerBlock);
  float* p = b.param[k];
  float* m = b.m[k];
  float* v = b.v[k];
  for (int64_t i = base + threadIdx.x; i < end; i += kThreads) {
    const float g = b.grad[k][i] * grad_scale;
    float pi = p[i] * b.decay[k];
    const float mi = m[i] * beta1 + g * a1;
    const float vi = v[i] * beta2 + g * g * a2;
    pi -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    if (b.param_bf16[k]) b.param_bf16[k][i] = to_bf(pi);
  }
}

}  // namespace

void adamw_step(const AdamWTensor* tensors, int count, float lr, float beta1, float beta2, float eps, int step,
                float grad_scale, cudaStream_t stream) {
  WS_CHECK_RANGE(count >= 0, "adamw_step: count must be >= 0, got ", count);
  WS_CHECK_RANGE(step >= 1, "adamw_step: step must be >= 1, got ", step);
  WS_CHECK_RANGE(beta1 >= 0 && beta1 < 1, "adamw_step: beta1 must be in [0, 1), got ", beta1);
  WS_CHECK_RANGE(beta2 >= 0 && beta2 < 1, "adamw_step: beta2 must be in [0, 1), got ", beta2);
  WS_CHECK_RANGE(lr >= 0 && eps >= 0, "adamw_step: lr and eps must be >= 0");
  const float a1 = float(1.0 - beta1), a2 = float(1.0 - beta2);
  const float step_size = float(lr / (1.0 - std::pow((double)beta1, step)));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow((double)beta2, step)));
  Batch b{};
  auto flush = [&]() {
    if (b.count == 0) return;
    const int blocks = b.block_start[b.count];
    if (blocks > 0) {
      adamw_kernel<<<blocks, kThreads, 0, stream>>>(b, beta1, beta2, a1, a2, step_size, bc2_sqrt, eps, grad_scale);
      WS_CUDA_LAUNCH_CHECK();
    }
    b = Batch{};
  };
  for (int i = 0; i < count; ++i) {
    const AdamWTensor& t = tensors[i];
    WS_CHECK_RANGE(t.n >= 0, "adamw_step: tensors[", i, "].n must be >= 0");
    WS_CHECK_RANGE(t.weight_decay >= 0, "adamw_step: tensors[", i, "].weight_decay must be >= 0");
    WS_CHECK_RANGE(t.n == 0 || (t.param && t.grad && t.m && t.v), "adamw_step: tensors[", i, "] has a null pointer");
    const int blocks = ceil_div(t.n, kPerBlock);
    WS_CHECK_RANGE(blocks < (1 << 30), "adamw_step: tensors[", i, "] is too large");
    if (b.count == kMaxTensors || (int64_t)b.block_start[b.count] + blocks >= (1 << 30)) flush();
    const int k = b.count++;
    b.param[k] = t.param;
    b.grad[k] = t.grad;
    b.m[k] = t.m;
    b.v[k] = t.v;
    b.param_bf16[k] = t.param_bf16;
    b.n[k] = t.n;
    b.decay[k] = float(1.0 - (double)lr * t.weight_decay);
    b.block_start[k + 1] = b.block_start[k] + blocks;
  }
  flush();
}

}  // namespace ws::cuda
