// swiglu: forward against double silu (wide range of gates, so the vectorised exp is covered
// including its clamps), gradient check, accumulation, null gradients.
#include "../cpu/ops.h"
#include "../cpu/simd.h"
#include "test_util.h"

using namespace ws::cpu;

TEST(forward_matches_double_reference) {
  const int64_t N = 1000;  // not a multiple of 16: the scalar tail runs too
  auto g = wstest::uniform(N, 1, -30.0f, 30.0f), u = wstest::randn(N, 2);
  g[0] = -200.0f;
  g[1] = 200.0f;
  g[2] = -88.0f;
  g[3] = 0.0f;
  std::vector<float> out(N), ref(N);
  swiglu_forward(out.data(), g.data(), u.data(), N);
  for (int64_t i = 0; i < N; ++i) ref[i] = (float)(g[i] / (1.0 + std::exp(-(double)g[i])) * u[i]);
  CHECK(wstest::allclose(out.data(), ref.data(), N, 1e-30f, 1e-6f, "out"));
}

TEST(vectorised_exp_matches_libm) {
  auto x = wstest::uniform(4096, 3, -87.0f, 88.0f);
  double worst = 0;
  for (size_t i = 0; i < x.size(); i += ws::cpu::base::simd::W) {
    auto y = ws::cpu::base::simd::exp(ws::cpu::base::simd::load(&x[i]));
    for (int l = 0; l < ws::cpu::base::simd::W; ++l) {
      double ref = std::exp((double)x[i + l]);
      worst = std::max(worst, std::fabs(y[l] - ref) / ref);
    }
  }
  CHECK(worst < 5e-7);
  float edge[16] = {-INFINITY, -1000.0f, -87.5f, 89.0f, 0.0f, 1.0f, -1.0f, 10.0f};
  auto y = ws::cpu::base::simd::exp(ws::cpu::base::simd::load(edge));
  CHECK(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f);
  CHECK(std::isfinite(y[3]) && y[3] > 1e38f);
  CHECK(y[4] == 1.0f);
}

TEST(backward_gradcheck_accumulates) {
  const int64_t N = 37;
  auto g = wstest::randn(N, 4, 2.0f), u = wstest::randn(N, 5), r = wstest::randn(N, 6);
  std::vector<float> out(N);
  auto loss = [&] {
    swiglu_forward(out.data(), g.data(), u.data(), N);
    return wstest::dot(out.data(), r.data(), N);
  };
  auto dg0 = wstest::randn(N, 7), du0 = wstest::randn(N, 8), dg = dg0, du = du0;
  swiglu_backward(dg.data(), du.data(), r.data(), g.data(), u.data(), N);
  std::vector<float> gg(N), gu(N);
  for (int64_t i = 0; i < N; ++i) {
    gg[i] = dg[i] - dg0[i];
    gu[i] = du[i] - du0[i];
  }
  CHECK(wstest::gradcheck(g, gg, loss, "dgate", 1e-2, 3e-4, 3e-3, 1 << 20));
  CHECK(wstest::gradcheck(u, gu, loss, "dup", 1e-2, 3e-4, 3e-3, 1 << 20));
  auto dg2 = dg0;
  swiglu_backward(dg2.data(), nullptr, r.data(), g.data(), u.data(), N);
  CHECK(dg2 == dg);
  auto du2 = du0;
  swiglu_backward(nullptr, du2.data(), r.data(), g.data(), u.data(), N);
  CHECK(du2 == du);
}

TEST(negative_n_throws) {
  float x = 1;
  CHECK_THROWS(swiglu_forward(&x, &x, &x, -1));
}

int main() { return wstest::run_tests(); }
