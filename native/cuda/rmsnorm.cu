// RMSNorm: rstd_t = 1/sqrt(mean_c x_tc² + eps), out_tc = x_tc·rstd_t·w_c.
// Backward, with n_tc = x_tc·rstd_t and g_tc = dout_tc·w_c:
//   dx_tc += rstd_t·(g_tc - n_tc·mean_c(g_tc·n_tc)),   dw_c += sum_t dout_tc·n_tc
// One block per row, fp32 sums. dw: per-block partial sums over a fixed set of rows into a
// workspace, then a column sum in row-block order (deterministic, no atomics).
#include <algorithm>

#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerPart = 32;  // rows summed by one block of the dw pass

__global__ void rmsnorm_forward_kernel(bf16* out, float* rstd, const bf16* x, const bf16* w, int C, float eps) {
  __shared__ float red[32];
  const int64_t t = blockIdx.x;
  const bf16* xr = x + t * C;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float v = to_f(xr[c]);
    ss += v * v;
  }
  ss = block_sum(ss, red);
  const float r = rsqrtf(ss / C + eps);
  if (rstd && threadIdx.x == 0) rstd[t] = r;
  // Every thread has read its own x values above; out == x is safe because each thread
  // rewrites only the elements it read.
  for (int c = threadIdx.x; c < C; c += blockDim.x) out[t * C + c] = to_bf(to_f(xr[c]) * r * to_f(w[c]));
}

__global__ void rmsnorm_dx_kernel(bf16* dx, const bf16* dout, const bf16* x, const bf16* w, const float* rstd, int C) {
  __shared__ float red[32];
  const int64_t t = blockIdx.x;
  const float r = rstd[t];
  float dot = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dot += to_f(dout[t * C + c]) * to_f(w[c]) * to_f(x[t * C + c]) * r;
  dot = block_sum(dot, red) / C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float n = to_f(x[t * C + c]) * r;
    const float g = to_f(dout[t * C + c]) * to_f(w[c]);
    dx[t * C + c] = to_bf(to_f(dx[t * C + c]) + r * (g - n * dot));
  }
}

// part[p, c] = sum over rows [p·rows, (p+1)·rows) of dout·x·rstd
__global__ void rmsnorm_dw_partial_kernel(float* part, const bf16* dout, const bf16* x, const float* rstd, int T, int C,
                                          int rows) {
  const int p = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int t0 = p * rows, t1 = min(T, t0 + rows);
  float s = 0.0f;
  for (int t = t0; t < t1; ++t) s += to_f(dout[(int64_t)t * C + c]) * to_f(x[(int64_t)t * C + c]) * rstd[t];
  part[(int64_t)p * C + c] = s;
}
__global__ void column_sum_add_kernel(float* dw, const float* part, int parts, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.0f;
  for (int p = 0; p < parts; ++p) s += part[(int64_t)p * C + c];
  dw[c] += s;
}

}  // namespace

void rmsnorm_forward(bf16* out, float* rstd, const bf16* x, const bf16* w, int T, int C, float eps,
                     cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && C > 0, "rmsnorm_forward: need T >= 0, C > 0, got ", T, ", ", C);
  if (T == 0) return;
  rmsnorm_forward_kernel<<<T, kThreads, 0, stream>>>(out, rstd, x, w, C, eps);
  WS_CUDA_LAUNCH_CHECK();
}

void rmsnorm_backward(bf16* dx, float* dw, const bf16* dout, const bf16* x, const bf16* w, const float* rstd, int T,
                      int C, cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && C > 0, "rmsnorm_backward: need T >= 0, C > 0, got ", T, ", ", C);
  WS_CHECK_RANGE(rstd, "rmsnorm_backward: rstd must not be null");
  if (T == 0) return;
  if (dx) {
    rmsnorm_dx_kernel<<<T, kThreads, 0, stream>>>(dx, dout, x, w, rstd, C);
    WS_CUDA_LAUNCH_CHECK();
  }
  if (dw) {
    // grid.y is at most 65535: past 65535·kRowsPerPart tokens each part takes more rows.
    const int rows = std::max(kRowsPerPart, ceil_div(T, 65535));
    const int parts = ceil_div(T, rows);
    float* part = static_cast<float*>(workspace(kWsReduce, sizeof(float) * (size_t)parts * C));
    rmsnorm_dw_partial_kernel<<<dim3(ceil_div(C, 128), parts), 128, 0, stream>>>(part, dout, x, rstd, T, C, rows);
    WS_CUDA_LAUNCH_CHECK();
    column_sum_add_kernel<<<ceil_div(C, 128), 128, 0, stream>>>(dw, part, parts, C);
    WS_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace ws::cuda
