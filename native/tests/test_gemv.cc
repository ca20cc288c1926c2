// gemv_rows (matmul_forward for M <= 16) against a double loop for every M from 1 to 16 and odd
// K, N (partial 4-column blocks, K tails under one vector, K = 0), with and without bias, every
// output written (NaN-poisoned first); a row's result is bitwise the same whatever M, the row's
// position and the thread count; matmul_forward takes it up to 16 rows and sgemm beyond.
// CMake also builds this file with gemv.cc compiled for AVX2 only (test_gemv_avx2).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

namespace {

std::vector<float> linear_ref(const float* x, const float* w, const float* bias, int M, int K, int N) {
  std::vector<float> out((size_t)M * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; ++k) s += (double)x[(size_t)m * K + k] * w[(size_t)n * K + k];
      out[(size_t)m * N + n] = (float)s;
    }
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST(matches_reference_for_every_row_count_and_odd_shapes) {
  const int Ks[] = {1, 5, 16, 17, 64, 100, 896};
  const int Ns[] = {1, 3, 4, 7, 37, 130};
  uint64_t seed = 10;
  for (int M = 1; M <= 16; ++M)
    for (int K : Ks)
      for (int N : Ns)
        for (bool with_bias : {false, true}) {
          auto x = wstest::randn((size_t)M * K, ++seed), w = wstest::randn((size_t)N * K, ++seed);
          auto b = wstest::randn(N, ++seed);
          const float* bias = with_bias ? b.data() : nullptr;
          std::vector<float> out((size_t)M * N, kNaN);
          gemv_rows(out.data(), x.data(), w.data(), bias, M, K, N);
          auto ref = linear_ref(x.data(), w.data(), bias, M, K, N);
          char what[96];
          std::snprintf(what, sizeof what, "M=%d K=%d N=%d bias=%d", M, K, N, (int)with_bias);
          CHECK(wstest::allclose(out.data(), ref.data(), out.size(), 2e-4f, 1e-5f, what));
        }
}

TEST(k_zero_gives_the_bias) {
  const int M = 3, N = 6;
  auto b = wstest::randn(N, 1);
  std::vector<float> out((size_t)M * N, kNaN);
  gemv_rows(out.data(), nullptr, nullptr, b.data(), M, 0, N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) CHECK(out[(size_t)m * N + n] == b[n]);
  gemv_rows(out.data(), nullptr, nullptr, nullptr, M, 0, N);
  for (float v : out) CHECK(v == 0.0f);
}

TEST(a_row_is_bitwise_the_same_for_any_m_position_and_thread_count) {
  const int K = 83, N = 1031, M = 16;  // several threads' worth of columns, a K tail
  auto x = wstest::randn((size_t)M * K, 1), w = wstest::randn((size_t)N * K, 2), b = wstest::randn(N, 3);
  const int saved = ws::num_threads();
  ws::set_num_threads(1);
  std::vector<float> one_thread((size_t)M * N);
  gemv_rows(one_thread.data(), x.data(), w.data(), b.data(), M, K, N);
  for (int threads : {2, 3}) {
    ws::set_num_threads(threads);
    std::vector<float> out((size_t)M * N);
    gemv_rows(out.data(), x.data(), w.data(), b.data(), M, K, N);
    CHECK(same_bits(out, one_thread));
  }
  ws::set_num_threads(saved);
  for (int rows : {1, 3, 5, 9}) {  // rows [first, first + rows) alone: the same bits as inside M = 16
    const int first = M - rows;
    std::vector<float> out((size_t)rows * N);
    gemv_rows(out.data(), x.data() + (size_t)first * K, w.data(), b.data(), rows, K, N);
    CHECK(same_bits(out, std::vector<float>(one_thread.begin() + (size_t)first * N, one_thread.end())));
  }
}

TEST(matmul_forward_uses_it_up_to_16_rows) {
  const int K = 70, N = 45;
  for (int M : {1, 16, 17}) {
    auto x = wstest::randn((size_t)M * K, 1), w = wstest::randn((size_t)N * K, 2), b = wstest::randn(N, 3);
    std::vector<float> mm((size_t)M * N, kNaN), gv((size_t)M * N, kNaN);
    matmul_forward(mm.data(), x.data(), w.data(), b.data(), M, K, N);
    gemv_rows(gv.data(), x.data(), w.data(), b.data(), M, K, N);
    auto ref = linear_ref(x.data(), w.data(), b.data(), M, K, N);
    CHECK(wstest::allclose(mm.data(), ref.data(), mm.size(), 1e-4f, 1e-5f, "matmul_forward"));
    if (M <= 16) CHECK(same_bits(mm, gv));
  }
}

TEST(bad_arguments_throw) {
  std::vector<float> out(4), x(4), w(4);
  CHECK_THROWS(gemv_rows(out.data(), x.data(), w.data(), nullptr, -1, 2, 2));
  CHECK_THROWS(gemv_rows(out.data(), nullptr, w.data(), nullptr, 2, 2, 2));
  CHECK_THROWS(gemv_rows(nullptr, x.data(), w.data(), nullptr, 2, 2, 2));
}

int main() { return wstest::run_tests(); }
