// rope: forward against a direct double evaluation of the rotate-half formula (two thetas),
// norm preservation, relative-position property, gradient check, accumulation, in-place use.
#include "../cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

static std::vector<float> reference(const std::vector<float>& x, const std::vector<int32_t>& pos, int T, int H, int D,
                                    double theta) {
  std::vector<float> out(x.size());
  int half = D / 2;
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < half; ++i) {
        double a = pos[t] / std::pow(theta, (2.0 * i) / D);
        const float* xv = &x[(t * H + h) * D];
        float* ov = &out[(t * H + h) * D];
        ov[i] = (float)(xv[i] * std::cos(a) - xv[i + half] * std::sin(a));
        ov[i + half] = (float)(xv[i + half] * std::cos(a) + xv[i] * std::sin(a));
      }
  return out;
}

TEST(forward_matches_reference) {
  const int T = 6, H = 3, D = 16;
  std::vector<int32_t> pos = {0, 1, 2, 0, 7, 4095};
  auto x = wstest::randn(T * H * D, 1);
  for (float theta : {10000.0f, 1000000.0f}) {
    std::vector<float> out(x.size());
    rope_forward(out.data(), x.data(), pos.data(), T, H, D, theta);
    auto ref = reference(x, pos, T, H, D, theta);
    CHECK(wstest::allclose(out.data(), ref.data(), out.size(), 1e-6f, 1e-5f, "out"));
    // position 0 is the identity
    for (int j = 0; j < H * D; ++j) CHECK(out[j] == x[j]);
  }
  // in place
  std::vector<float> y = x, out(x.size());
  rope_forward(out.data(), x.data(), pos.data(), T, H, D, 10000.0f);
  rope_forward(y.data(), y.data(), pos.data(), T, H, D, 10000.0f);
  CHECK(y == out);
}

TEST(dot_products_depend_on_relative_position_only) {
  const int D = 32;
  auto q = wstest::randn(D, 2), k = wstest::randn(D, 3);
  auto score = [&](int pq, int pk) {
    std::vector<float> rq(D), rk(D);
    int32_t a = pq, b = pk;
    rope_forward(rq.data(), q.data(), &a, 1, 1, D, 10000.0f);
    rope_forward(rk.data(), k.data(), &b, 1, 1, D, 10000.0f);
    return wstest::dot(rq.data(), rk.data(), D);
  };
  CHECK_NEAR(score(5, 2), score(103, 100), 1e-4);
  CHECK_NEAR(score(9, 9), score(0, 0), 1e-4);
}

TEST(backward_gradcheck_accumulates) {
  const int T = 5, H = 2, D = 12;
  std::vector<int32_t> pos = {3, 0, 1, 2, 50};
  auto x = wstest::randn(T * H * D, 4), r = wstest::randn(T * H * D, 5);
  std::vector<float> out(x.size());
  auto loss = [&] {
    rope_forward(out.data(), x.data(), pos.data(), T, H, D, 10000.0f);
    return wstest::dot(out.data(), r.data(), out.size());
  };
  auto dx0 = wstest::randn(x.size(), 6), dx = dx0;
  rope_backward(dx.data(), r.data(), pos.data(), T, H, D, 10000.0f);
  std::vector<float> g(x.size());
  for (size_t i = 0; i < g.size(); ++i) g[i] = dx[i] - dx0[i];
  CHECK(wstest::gradcheck(x, g, loss, "dx", 1e-2, 1e-4, 1e-3, 1 << 20));
}

TEST(bad_arguments_throw) {
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
  int32_t pos = 0, neg = -1;
  CHECK_THROWS(rope_forward(out, x, &pos, 1, 1, 7, 10000.0f));
  CHECK_THROWS(rope_forward(out, x, &neg, 1, 1, 8, 10000.0f));
  CHECK_THROWS(rope_forward(out, x, &pos, 1, 1, 8, 0.5f));
  CHECK_THROWS(rope_backward(out, x, &pos, 1, 0, 8, 10000.0f));
}

int main() { return wstest::run_tests(); }
