// Helpers shared by the CUDA kernels: error checks that throw ws::Error (never abort), bf16
// load/store in fp32, warp and block reductions in fp32, and a grow-only device workspace.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "../core/error.h"

namespace ws::cuda {

using bf16 = __nv_bfloat16;

#define WS_CUDA_CHECK(expr)                                                                                           \
  do {                                                                                                                \
    cudaError_t err_ = (expr);                                                                                        \
    if (err_ != cudaSuccess)                                                                                          \
      throw ::ws::Error(::ws::str(#expr, " failed: ", cudaGetErrorString(err_), " (", __FILE__, ":", __LINE__, ")")); \
  } while (0)
// After every launch: a bad configuration shows here, not three kernels later.
#define WS_CUDA_LAUNCH_CHECK() WS_CUDA_CHECK(cudaGetLastError())

inline int ceil_div(int64_t a, int64_t b) { return int((a + b - 1) / b); }

__device__ __forceinline__ float to_f(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ bf16 to_bf(float x) { return __float2bfloat16_rn(x); }

__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}
__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ double warp_sum(double x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `shared` holds 32 values. Fixed order, so the result is deterministic.
template <typename T>
__device__ __forceinline__ T block_sum(T x, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  x = warp_sum(x);
  __syncthreads();
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  T r = lane < warps ? shared[lane] : T(0);
  return warp_sum(r);
}
__device__ __forceinline__ float block_max(float x, float* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  x = warp_max(x);
  __syncthreads();
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  float r = lane < warps ? shared[lane] : -INFINITY;
  return warp_max(r);
}

// A device buffer that only grows, one per slot (ops use distinct slots so that two live
// workspaces never alias). Allocation happens the first time a size is seen, not every step.
void* workspace(int slot, size_t bytes);
enum WorkspaceSlot {
  kWsReduce = 0,
  kWsAttention = 1,
  kWsHead = 2,
  kWsDecode = 3,
  kWsBlas = 4,
  kWsHeadVec = 5,
  kWsSlots = 6
};

}  // namespace ws::cuda
