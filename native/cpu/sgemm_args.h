// Argument checks and the degenerate case shared by sgemm_ours (sgemm.cc) and sgemm_blas
// (sgemm_backend.cc): C = beta * C when there is no product to add.
#pragma once
#include <algorithm>

#include "../core/error.h"
#include "isa.h"

namespace ws::cpu::WS_CPU_ISA {

// C[M,N] *= beta (beta == 0: set to zero, C not read): the whole product when K == 0 or alpha == 0.
inline void scale_c(float* C, int ldc, int M, int N, float beta) {
  for (int i = 0; i < M; ++i) {
    float* c = C + (size_t)i * ldc;
    for (int j = 0; j < N; ++j) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
  }
}

inline void check_args(bool ta, bool tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                       const float* C, int ldc) {
  WS_CHECK_RANGE(M >= 0 && N >= 0 && K >= 0, "sgemm: M, N, K must be >= 0, got ", M, ", ", N, ", ", K);
  WS_CHECK_RANGE(lda >= std::max(1, ta ? M : K), "sgemm: lda ", lda, " is less than ", ta ? "M " : "K ", ta ? M : K);
  WS_CHECK_RANGE(ldb >= std::max(1, tb ? K : N), "sgemm: ldb ", ldb, " is less than ", tb ? "K " : "N ", tb ? K : N);
  WS_CHECK_RANGE(ldc >= std::max(1, N), "sgemm: ldc ", ldc, " is less than N ", N);
  bool product = M > 0 && N > 0 && K > 0;
  WS_CHECK_RANGE(!product || (A && B), "sgemm: A and B must not be null");
  WS_CHECK_RANGE(M == 0 || N == 0 || C, "sgemm: C must not be null");
}

}  // namespace ws::cpu::WS_CPU_ISA
