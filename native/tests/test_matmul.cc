// Linear layer: forward against a double loop; backward by finite differences of the scalar
// loss sum(out * r) for x, w and bias; backward accumulates into the gradients it is given.
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

namespace {

std::vector<double> linear_ref(const std::vector<float>& x, const std::vector<float>& w, const float* bias, int M,
                               int K, int N) {
  std::vector<double> out((size_t)M * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; ++k) s += (double)x[(size_t)m * K + k] * w[(size_t)n * K + k];
      out[(size_t)m * N + n] = s;
    }
  return out;
}

}  // namespace

TEST(forward_matches_reference) {
  for (int backend : {1, 2}) {
    if (backend == 2 && !have_blas()) continue;
    set_sgemm_backend(backend);
    for (bool with_bias : {false, true}) {
      const int M = 37, K = 70, N = 45;
      auto x = wstest::randn((size_t)M * K, 1), w = wstest::randn((size_t)N * K, 2), b = wstest::randn(N, 3);
      std::vector<float> out((size_t)M * N, 123.0f);
      matmul_forward(out.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, M, K, N);
      auto ref = linear_ref(x, w, with_bias ? b.data() : nullptr, M, K, N);
      std::vector<float> reff(ref.begin(), ref.end());
      CHECK(wstest::allclose(out.data(), reff.data(), out.size(), 1e-4f, 1e-5f, "out"));
    }
  }
  set_sgemm_backend(0);
}

TEST(backward_gradcheck) {
  for (int backend : {1, 2}) {
    if (backend == 2 && !have_blas()) continue;
    set_sgemm_backend(backend);
    const int M = 9, K = 13, N = 11;
    auto x = wstest::randn((size_t)M * K, 4), w = wstest::randn((size_t)N * K, 5), b = wstest::randn(N, 6);
    auto r = wstest::randn((size_t)M * N, 7);  // loss = sum(out * r), so dout = r
    auto loss_d = [&] {
      auto out = linear_ref(x, w, b.data(), M, K, N);
      double s = 0;
      for (size_t i = 0; i < out.size(); ++i) s += out[i] * r[i];
      return s;
    };
    // Gradients start non-zero: backward must add to them.
    auto dx0 = wstest::randn(x.size(), 8), dw0 = wstest::randn(w.size(), 9), db0 = wstest::randn(b.size(), 10);
    auto dx = dx0, dw = dw0, db = db0;
    matmul_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), M, K, N);
    for (size_t i = 0; i < dx.size(); ++i) dx[i] -= dx0[i];
    for (size_t i = 0; i < dw.size(); ++i) dw[i] -= dw0[i];
    for (size_t i = 0; i < db.size(); ++i) db[i] -= db0[i];
    CHECK(wstest::gradcheck(x, dx, loss_d, "dx", 1e-2, 1e-4, 1e-4, 1000));
    CHECK(wstest::gradcheck(w, dw, loss_d, "dw", 1e-2, 1e-4, 1e-4, 1000));
    CHECK(wstest::gradcheck(b, db, loss_d, "dbias", 1e-2, 1e-4, 1e-4, 1000));
    // Null gradients are skipped.
    matmul_backward(nullptr, dw.data(), nullptr, r.data(), x.data(), w.data(), M, K, N);
  }
  set_sgemm_backend(0);
}

TEST(bad_shapes_throw) {
  float a = 1;
  CHECK_THROWS(matmul_forward(&a, &a, &a, nullptr, -1, 1, 1));
  CHECK_THROWS(matmul_backward(&a, &a, &a, &a, &a, &a, 1, -2, 1));
}

int main() { return wstest::run_tests(); }
