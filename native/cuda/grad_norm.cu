// Gradient norm: sum_k sum_i g_k[i]² in double, over several tensors. Pass 1: each block writes
// the double sum of a fixed slice to a workspace; pass 2: one block sums the partials in a fixed
// order, so the result is bitwise reproducible. Also x *= scale for clipping.
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerBlock = kThreads * 16;

__global__ void sumsq_partial_kernel(double* part, const float* g, int64_t n) {
  __shared__ double red[32];
  const int64_t base = (int64_t)blockIdx.x * kPerBlock;
  const int64_t end = min(n, base + kPerBlock);
  double s = 0.0;
  for (int64_t i = base + threadIdx.x; i < end; i += kThreads) s += (double)g[i] * g[i];
  s = block_sum(s, red);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}
__global__ void sum_kernel(double* out, const double* part, int n) {
  __shared__ double red[32];
  double s = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += part[i];
  s = block_sum(s, red);
  if (threadIdx.x == 0) *out = s;
}
__global__ void scale_kernel(float* x, int64_t n, float scale) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    x[i] *= scale;
}

}  // namespace

double grad_norm_sq(const float* const* grads, const int64_t* sizes, int count, cudaStream_t stream) {
  WS_CHECK_RANGE(count >= 0, "grad_norm_sq: count must be >= 0");
  int64_t blocks = 0;
  for (int k = 0; k < count; ++k) {
    WS_CHECK_RANGE(sizes[k] >= 0, "grad_norm_sq: sizes[", k, "] must be >= 0");
    blocks += ceil_div(sizes[k], kPerBlock);
  }
  if (blocks == 0) return 0.0;
  WS_CHECK_RANGE(blocks < (1 << 30), "grad_norm_sq: too many elements");
  double* part = static_cast<double*>(workspace(kWsReduce, sizeof(double) * (blocks + 1)));
  int64_t at = 0;
  for (int k = 0; k < count; ++k) {
    const int nb = ceil_div(sizes[k], kPerBlock);
    if (nb == 0) continue;
    sumsq_partial_kernel<<<nb, kThreads, 0, stream>>>(part + at, grads[k], sizes[k]);
    WS_CUDA_LAUNCH_CHECK();
    at += nb;
  }
  sum_kernel<<<1, 1024, 0, stream>>>(part + blocks, part, (int)blocks);
  WS_CUDA_LAUNCH_CHECK();
  double result = 0.0;
  WS_CUDA_CHECK(cudaMemcpyAsync(&result, part + blocks, sizeof(double), cudaMemcpyDeviceToHost, stream));
  WS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return result;
}

void scale_inplace(float* x, int64_t n, float scale, cudaStream_t stream) {
  WS_CHECK_RANGE(n >= 0, "scale_inplace: n must be >= 0");
  if (n == 0) return;
  scale_kernel<<<(int)std::min<int64_t>((n + 255) / 256, 65535), 256, 0, stream>>>(x, n, scale);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
