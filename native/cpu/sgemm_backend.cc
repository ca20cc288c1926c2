// sgemm: our SGEMM (sgemm.cc, through the ISA dispatch) or cblas_sgemm where the build found
// OpenBLAS, with OpenBLAS's thread count following ws::num_threads(). Compiled once (not per
// instruction-set level): it holds the process-wide choice of backend.
#include <atomic>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "ops.h"
#include "sgemm_args.h"

#ifdef WS_HAVE_BLAS
#include <cblas.h>
#endif

namespace ws::cpu {
namespace {
std::atomic<int> g_backend{0};
}  // namespace

bool have_blas() {
#ifdef WS_HAVE_BLAS
  return true;
#else
  return false;
#endif
}

void sgemm_blas(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc) {
#ifdef WS_HAVE_BLAS
  base::check_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS allows it, but keep beta == 0 meaning "C not read" explicit
    base::scale_c(C, ldc, M, N, beta);
    return;
  }
  if (openblas_get_num_threads() != num_threads()) openblas_set_num_threads(num_threads());
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              A, lda, B, ldb, beta, C, ldc);
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda;
  (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
  throw Error("sgemm_blas: this build has no BLAS (have_blas() is false)");
#endif
}

void set_sgemm_backend(int backend) {
  WS_CHECK_RANGE(backend >= 0 && backend <= 2,
                 "set_sgemm_backend: backend must be 0 (auto), 1 (ours) or 2 (BLAS), got ", backend);
  WS_CHECK_RANGE(backend != 2 || have_blas(), "set_sgemm_backend: BLAS requested but this build has none");
  g_backend = backend;
}

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  int backend = g_backend.load(std::memory_order_relaxed);
  if (backend == 2 || (backend == 0 && have_blas()))
    sgemm_blas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    sgemm_ours(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace ws::cpu
