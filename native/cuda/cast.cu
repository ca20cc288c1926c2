// Casts between fp32 and bf16: out[i] = bf16_rne(x[i]) and out[i] = float(x[i]) (exact).
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

__global__ void f32_to_bf16_kernel(bf16* out, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = to_bf(x[i]);
}
__global__ void bf16_to_f32_kernel(float* out, const bf16* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = to_f(x[i]);
}
int grid_for(int64_t n) { return (int)std::min<int64_t>((n + 255) / 256, 65535); }

}  // namespace

void cast_f32_to_bf16(bf16* out, const float* x, int64_t n, cudaStream_t stream) {
  WS_CHECK_RANGE(n >= 0, "cast_f32_to_bf16: n must be >= 0, got ", n);
  if (n == 0) return;
  f32_to_bf16_kernel<<<grid_for(n), 256, 0, stream>>>(out, x, n);
  WS_CUDA_LAUNCH_CHECK();
}
void cast_bf16_to_f32(float* out, const bf16* x, int64_t n, cudaStream_t stream) {
  WS_CHECK_RANGE(n >= 0, "cast_bf16_to_f32: n must be >= 0, got ", n);
  if (n == 0) return;
  bf16_to_f32_kernel<<<grid_for(n), 256, 0, stream>>>(out, x, n);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
