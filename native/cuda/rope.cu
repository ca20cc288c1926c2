// RoPE, Hugging Face "rotate half": for i < D/2, a_i = pos·theta^(-2i/D) (in double, as the CPU
// reference does), out[i] = x[i] cos a_i - x[i+D/2] sin a_i, out[i+D/2] = x[i+D/2] cos a_i + x[i] sin a_i.
// Backward: dx += R(a)^T dout. One block per token: the D/2 angles go to shared memory once and
// serve all H heads.
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

template <bool Backward>
__global__ void rope_kernel(bf16* out, const bf16* x, const int32_t* positions, int H, int D, float theta) {
  extern __shared__ float cs[];  // cos[D/2], sin[D/2]
  const int half = D / 2;
  const int64_t t = blockIdx.x;
  const double pos = positions[t];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const double a = pos * pow((double)theta, -2.0 * i / D);
    double s, c;
    sincos(a, &s, &c);
    cs[i] = (float)c;
    cs[half + i] = (float)s;
  }
  __syncthreads();
  for (int j = threadIdx.x; j < H * half; j += blockDim.x) {
    const int h = j / half, i = j % half;
    const int64_t o = (t * H + h) * D;
    const float a = to_f(x[o + i]), b = to_f(x[o + half + i]);
    const float c = cs[i], s = cs[half + i];
    if (Backward) {
      out[o + i] = to_bf(to_f(out[o + i]) + (a * c + b * s));
      out[o + half + i] = to_bf(to_f(out[o + half + i]) + (b * c - a * s));
    } else {
      out[o + i] = to_bf(a * c - b * s);
      out[o + half + i] = to_bf(b * c + a * s);
    }
  }
}

void check(int T, int H, int D, float theta) {
  WS_CHECK_RANGE(T >= 0, "rope: T must be >= 0, got ", T);
  WS_CHECK_RANGE(H > 0, "rope: H must be > 0, got ", H);
  WS_CHECK_RANGE(D > 0 && D % 2 == 0, "rope: D must be even and > 0, got ", D);
  WS_CHECK_RANGE(theta > 1.0f && std::isfinite(theta), "rope: theta must be finite and > 1, got ", theta);
}

}  // namespace

void rope_forward(bf16* out, const bf16* x, const int32_t* positions, int T, int H, int D, float theta,
                  cudaStream_t stream) {
  check(T, H, D, theta);
  if (T == 0) return;
  rope_kernel<false><<<T, 128, D * sizeof(float), stream>>>(out, x, positions, H, D, theta);
  WS_CUDA_LAUNCH_CHECK();
}

void rope_backward(bf16* dx, const bf16* dout, const int32_t* positions, int T, int H, int D, float theta,
                   cudaStream_t stream) {
  check(T, H, D, theta);
  if (T == 0) return;
  rope_kernel<true><<<T, 128, D * sizeof(float), stream>>>(dx, dout, positions, H, D, theta);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
