// Bias gradient of the Linear layer: dbias[n] += sum_m dout[m, n], fp32, deterministic: blocks of
// 64 rows write partial column sums, then one pass adds them in row-block order.
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kRows = 64;

__global__ void colsum_partial_kernel(float* part, const bf16* dout, int M, int N) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= N) return;
  const int m0 = blockIdx.y * kRows, m1 = min(M, m0 + kRows);
  float s = 0.0f;
  for (int m = m0; m < m1; ++m) s += to_f(dout[(int64_t)m * N + n]);
  part[(int64_t)blockIdx.y * N + n] = s;
}
__global__ void colsum_add_kernel(float* dbias, const float* part, int parts, int N) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= N) return;
  float s = 0.0f;
  for (int p = 0; p < parts; ++p) s += part[(int64_t)p * N + n];
  dbias[n] += s;
}

}  // namespace

void bias_grad(float* dbias, const bf16* dout, int M, int N, cudaStream_t stream) {
  WS_CHECK_RANGE(M >= 0 && N > 0, "bias_grad: need M >= 0, N > 0");
  if (M == 0) return;
  const int parts = ceil_div(M, kRows);
  WS_CHECK_RANGE(parts <= 65535, "bias_grad: M too large");
  float* part = static_cast<float*>(workspace(kWsReduce, sizeof(float) * (size_t)parts * N));
  colsum_partial_kernel<<<dim3(ceil_div(N, 128), parts), 128, 0, stream>>>(part, dout, M, N);
  WS_CUDA_LAUNCH_CHECK();
  colsum_add_kernel<<<ceil_div(N, 128), 128, 0, stream>>>(dbias, part, parts, N);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
