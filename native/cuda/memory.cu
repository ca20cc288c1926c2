// Device memory for the model graph (native/model): allocation, host<->device and strided
// device copies, zero fill, and the residual add y[i] = bf16(float(y[i]) + float(x[i])).
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

__global__ void add_inplace_kernel(bf16* y, const bf16* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = to_bf(to_f(y[i]) + to_f(x[i]));
}

__global__ void copy_rows_indexed_kernel(bf16* dst, int64_t dst_stride, const int32_t* dst_rows, const bf16* src,
                                         int64_t src_stride, const int32_t* src_rows, int64_t cols) {
  const int i = blockIdx.x;
  bf16* d = dst + (dst_rows ? dst_rows[i] : i) * dst_stride;
  const bf16* s = src + (src_rows ? src_rows[i] : i) * src_stride;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
}

}  // namespace

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes == 0) return nullptr;
  WS_CUDA_CHECK(cudaMalloc(&p, bytes));
  cudaError_t err = cudaMemset(p, 0, bytes);
  if (err != cudaSuccess) {
    cudaFree(p);
    WS_CUDA_CHECK(err);
  }
  return p;
}
void device_free(void* p) {
  if (p) cudaFree(p);  // in destructors: never throws
}
void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) WS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) WS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_device(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  if (bytes) WS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}
void copy_rows_device(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, size_t rows,
                      cudaStream_t stream) {
  if (row_bytes && rows)
    WS_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, rows, cudaMemcpyDeviceToDevice, stream));
}
void zero_device(void* p, size_t bytes, cudaStream_t stream) {
  if (bytes) WS_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream));
}

void copy_rows_indexed(bf16* dst, int64_t dst_stride, const int32_t* dst_rows, const bf16* src, int64_t src_stride,
                       const int32_t* src_rows, int n, int64_t cols, cudaStream_t stream) {
  WS_CHECK_RANGE(n >= 0 && cols >= 0, "copy_rows_indexed: n and cols must be >= 0, got ", n, ", ", cols);
  if (n == 0 || cols == 0) return;
  copy_rows_indexed_kernel<<<n, 128, 0, stream>>>(dst, dst_stride, dst_rows, src, src_stride, src_rows, cols);
  WS_CUDA_LAUNCH_CHECK();
}

void add_inplace(bf16* y, const bf16* x, int64_t n, cudaStream_t stream) {
  WS_CHECK_RANGE(n >= 0, "add_inplace: n must be >= 0, got ", n);
  if (n == 0) return;
  add_inplace_kernel<<<(int)std::min<int64_t>((n + 255) / 256, 65535), 256, 0, stream>>>(y, x, n);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
