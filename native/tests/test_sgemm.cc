// SGEMM: our kernel and the BLAS path against a naive triple loop accumulated in double, for
// every transpose case, odd sizes (partial micro-tiles, K split over several KC slices, N over
// several NC panels), padded leading dimensions, alpha/beta, and beta == 0 never reading C.
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using ws::cpu::sgemm_blas;
using ws::cpu::sgemm_ours;

namespace {

using Gemm = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*, int);

// C = alpha op(A) op(B) + beta C in double (beta == 0: C ignored).
void naive(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k)
        s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
             (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
      float& c = C[(size_t)i * ldc + j];
      c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c));
    }
}

struct Case {
  int M, N, K;
};

// Runs every transpose case, with padded leading dims, for several alpha/beta; returns false on
// the first mismatch.
bool check_gemm(Gemm gemm, const char* name) {
  const Case cases[] = {{1, 1, 1},     {7, 13, 5},   {13, 37, 300}, {50, 33, 17}, {200, 70, 260},
                        {25, 4200, 3}, {1, 200, 64}, {97, 1, 33},   {12, 32, 256}};
  const float ab[][2] = {{1.0f, 0.0f}, {1.5f, 1.0f}, {-0.7f, 0.3f}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  uint64_t seed = 1;
  for (const Case& c : cases)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (auto [alpha, beta] : ab) {
          int lda = (ta ? c.M : c.K) + 3, ldb = (tb ? c.K : c.N) + 5, ldc = c.N + 2;
          auto A = wstest::randn((size_t)(ta ? c.K : c.M) * lda, ++seed);
          auto B = wstest::randn((size_t)(tb ? c.N : c.K) * ldb, ++seed);
          auto C = wstest::randn((size_t)c.M * ldc, ++seed);
          if (beta == 0.0f)  // C must not be read: NaN would leak through
            for (int i = 0; i < c.M; ++i)
              for (int j = 0; j < c.N; ++j) C[(size_t)i * ldc + j] = nan;
          auto want = C;
          naive(ta, tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
          gemm(ta, tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          char what[160];
          std::snprintf(what, sizeof what, "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g", name, ta, tb, c.M, c.N,
                        c.K, alpha, beta);
          // C includes the ldc padding: the padding must come back untouched (want == C there).
          if (!wstest::allclose(C.data(), want.data(), C.size(), 1e-6f * c.K + 1e-6f, 1e-5f, what)) return false;
        }
  return true;
}

}  // namespace

TEST(ours_matches_naive_every_case) {
  for (int threads : {1, 2}) {
    ws::set_num_threads(threads);
    CHECK(check_gemm(sgemm_ours, "ours"));
  }
}

TEST(blas_matches_naive_every_case) {
  if (!ws::cpu::have_blas()) {
    std::printf("  note: built without BLAS, BLAS cases skipped\n");
    CHECK_THROWS(sgemm_blas(false, false, 1, 1, 1, 1.0f, nullptr, 1, nullptr, 1, 0.0f, nullptr, 1));
    CHECK_THROWS(ws::cpu::set_sgemm_backend(2));
    return;
  }
  for (int threads : {1, 2}) {
    ws::set_num_threads(threads);
    CHECK(check_gemm(sgemm_blas, "blas"));
  }
}

TEST(ours_is_bitwise_identical_for_any_thread_count) {
  // Tall C is split by rows among threads, wide C by columns.
  for (Case c : {Case{301, 157, 530}, Case{7, 1001, 300}}) {
    auto A = wstest::randn((size_t)c.K * c.M, 11), B = wstest::randn((size_t)c.N * c.K, 12);
    std::vector<float> ref;
    for (int threads : {1, 2, 3, 5}) {
      ws::set_num_threads(threads);
      std::vector<float> C((size_t)c.M * c.N, 0.5f);
      sgemm_ours(true, true, c.M, c.N, c.K, 0.9f, A.data(), c.M, B.data(), c.K, 0.25f, C.data(), c.N);
      if (ref.empty())
        ref = C;
      else
        CHECK(C == ref);
    }
  }
  ws::set_num_threads(2);
}

TEST(empty_and_degenerate_products) {
  std::vector<float> C = {1, 2, 3, 4}, A = {1, 2}, B = {3, 4};
  sgemm_ours(false, false, 2, 2, 0, 1.0f, A.data(), 1, B.data(), 2, 0.5f, C.data(), 2);  // K = 0: C *= beta
  CHECK(C == (std::vector<float>{0.5f, 1, 1.5f, 2}));
  sgemm_ours(false, false, 2, 2, 1, 0.0f, A.data(), 1, B.data(), 2, 0.0f, C.data(), 2);  // alpha = 0, beta = 0
  CHECK(C == (std::vector<float>{0, 0, 0, 0}));
  sgemm_ours(false, false, 0, 2, 1, 1.0f, nullptr, 1, B.data(), 2, 0.0f, nullptr, 2);  // M = 0: nothing
}

TEST(dispatch_follows_backend) {
  const int M = 40, N = 50, K = 60;
  auto A = wstest::randn((size_t)M * K, 21), B = wstest::randn((size_t)K * N, 22);
  std::vector<float> ours((size_t)M * N), got((size_t)M * N);
  sgemm_ours(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ours.data(), N);
  ws::cpu::set_sgemm_backend(1);
  ws::cpu::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, got.data(), N);
  CHECK(got == ours);
  if (ws::cpu::have_blas()) {
    std::vector<float> blas((size_t)M * N);
    sgemm_blas(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, blas.data(), N);
    ws::cpu::set_sgemm_backend(2);
    ws::cpu::sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, got.data(), N);
    CHECK(got == blas);
  }
  ws::cpu::set_sgemm_backend(0);
  CHECK_THROWS(ws::cpu::set_sgemm_backend(3));
  CHECK_THROWS(ws::cpu::set_sgemm_backend(-1));
}

TEST(bad_arguments_throw) {
  std::vector<float> A(64, 1.0f), B(64, 1.0f), C(64);
  for (Gemm g : {sgemm_ours, ws::cpu::sgemm}) {
    CHECK_THROWS(g(false, false, -1, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2));
    CHECK_THROWS(g(false, false, 2, 2, 4, 1.0f, A.data(), 3, B.data(), 2, 0.0f, C.data(), 2));  // lda < K
    CHECK_THROWS(g(true, false, 4, 2, 2, 1.0f, A.data(), 3, B.data(), 2, 0.0f, C.data(), 2));   // lda < M
    CHECK_THROWS(g(false, true, 2, 2, 4, 1.0f, A.data(), 4, B.data(), 3, 0.0f, C.data(), 2));   // ldb < K
    CHECK_THROWS(g(false, false, 2, 3, 2, 1.0f, A.data(), 2, B.data(), 3, 0.0f, C.data(), 2));  // ldc < N
    CHECK_THROWS(g(false, false, 2, 2, 2, 1.0f, nullptr, 2, B.data(), 2, 0.0f, C.data(), 2));
  }
}

int main() { return wstest::run_tests(); }
