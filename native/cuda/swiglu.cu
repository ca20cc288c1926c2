// SwiGLU: out = silu(g)·u, silu(g) = g·s, s = 1/(1+e^-g).
// Backward: dgate += dout·u·s·(1 + g·(1-s)),  dup += dout·silu(g)  (either may be null).
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

__global__ void swiglu_forward_kernel(bf16* out, const bf16* gate, const bf16* up, int64_t N) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = to_f(gate[i]);
    out[i] = to_bf(g / (1.0f + expf(-g)) * to_f(up[i]));
  }
}
__global__ void swiglu_backward_kernel(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up,
                                       int64_t N) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = to_f(gate[i]), u = to_f(up[i]), d = to_f(dout[i]);
    const float s = 1.0f / (1.0f + expf(-g));
    if (dgate) dgate[i] = to_bf(to_f(dgate[i]) + d * u * s * (1.0f + g * (1.0f - s)));
    if (dup) dup[i] = to_bf(to_f(dup[i]) + d * g * s);
  }
}
int grid_for(int64_t n) { return (int)std::min<int64_t>((n + 255) / 256, 65535); }

}  // namespace

void swiglu_forward(bf16* out, const bf16* gate, const bf16* up, int64_t N, cudaStream_t stream) {
  WS_CHECK_RANGE(N >= 0, "swiglu_forward: N must be >= 0, got ", N);
  if (N == 0) return;
  swiglu_forward_kernel<<<grid_for(N), 256, 0, stream>>>(out, gate, up, N);
  WS_CUDA_LAUNCH_CHECK();
}
void swiglu_backward(bf16* dgate, bf16* dup, const bf16* dout, const bf16* gate, const bf16* up, int64_t N,
                     cudaStream_t stream) {
  WS_CHECK_RANGE(N >= 0, "swiglu_backward: N must be >= 0, got ", N);
  if (N == 0 || (!dgate && !dup)) return;
  swiglu_backward_kernel<<<grid_for(N), 256, 0, stream>>>(dgate, dup, dout, gate, up, N);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
