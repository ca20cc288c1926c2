// The Linear layer on top of sgemm (gemv_rows for few rows: decode, where packing w would cost
// more than the product):
//   forward   out[M,N] = x[M,K] · w[N,K]^T + bias[N]
//   backward  dx[M,K] += dout · w,  dw[N,K] += dout^T · x,  dbias[N] += sum_m dout[m,:]
#include <algorithm>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"

namespace ws::cpu::WS_CPU_ISA {

constexpr int kGemvMaxRows = 16;  // still 1.1-1.7x ahead of OpenBLAS at 16 rows (bench/native/decode.cc)

void matmul_forward(float* out, const float* x, const float* w, const float* bias, int M, int K, int N) {
  WS_CHECK_RANGE(M >= 0 && K >= 0 && N >= 0, "matmul_forward: M, K, N must be >= 0, got ", M, ", ", K, ", ", N);
  if (M == 0 || N == 0) return;
  if (M <= kGemvMaxRows) return gemv_rows(out, x, w, bias, M, K, N);
  if (bias)
    for (int m = 0; m < M; ++m) std::copy(bias, bias + N, out + (size_t)m * N);
  sgemm(false, true, M, N, K, 1.0f, x, std::max(K, 1), w, std::max(K, 1), bias ? 1.0f : 0.0f, out, N);
}

void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int M,
                     int K, int N) {
  WS_CHECK_RANGE(M >= 0 && K >= 0 && N >= 0, "matmul_backward: M, K, N must be >= 0, got ", M, ", ", K, ", ", N);
  if (dx && M > 0 && K > 0) sgemm(false, false, M, K, N, 1.0f, dout, std::max(N, 1), w, K, 1.0f, dx, K);
  if (dw && N > 0 && K > 0) sgemm(true, false, N, K, M, 1.0f, dout, std::max(N, 1), x, K, 1.0f, dw, K);
  if (dbias) {
    // Column sums, each column block owned by one thread, rows in order: deterministic.
    parallel_for(N, 256, [&](int64_t j0, int64_t j1) {
      for (int m = 0; m < M; ++m) {
        const float* d = dout + (size_t)m * N;
        for (int64_t j = j0; j < j1; ++j) dbias[j] += d[j];
      }
    });
  }
}

}  // namespace ws::cpu::WS_CPU_ISA
