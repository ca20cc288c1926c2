// rmsnorm: forward against a double reference, finite-difference gradients for x and w,
// accumulation (+=), null gradients, in-place forward.
#include "../core/threadpool.h"
#include "../cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

static std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& w, int T, int C,
                                    double eps) {
  std::vector<float> out(T * C);
  for (int t = 0; t < T; ++t) {
    double ss = 0;
    for (int c = 0; c < C; ++c) ss += (double)x[t * C + c] * x[t * C + c];
    double r = 1.0 / std::sqrt(ss / C + eps);
    for (int c = 0; c < C; ++c) out[t * C + c] = (float)(x[t * C + c] * r * w[c]);
  }
  return out;
}

TEST(forward_matches_double_reference) {
  const int T = 13, C = 96;
  auto x = wstest::randn(T * C, 1, 3.0f), w = wstest::randn(C, 2);
  std::vector<float> out(T * C), rstd(T);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, 1e-6f);
  auto ref = reference(x, w, T, C, 1e-6);
  CHECK(wstest::allclose(out.data(), ref.data(), out.size(), 1e-6f, 1e-5f, "out"));
  // in place, no rstd
  std::vector<float> y = x;
  rmsnorm_forward(y.data(), nullptr, y.data(), w.data(), T, C, 1e-6f);
  CHECK(y == out);
}

TEST(backward_gradcheck_accumulates) {
  const int T = 6, C = 80;  // C > 64: dw columns split across threads
  auto x = wstest::randn(T * C, 3), w = wstest::randn(C, 4), r = wstest::randn(T * C, 5);
  std::vector<float> out(T * C), rstd(T);
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, 1e-5f);
    return wstest::dot(out.data(), r.data(), out.size());
  };
  loss();
  auto dx0 = wstest::randn(T * C, 6), dw0 = wstest::randn(C, 7);
  auto dx = dx0, dw = dw0;
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), T, C);
  std::vector<float> gx(T * C), gw(C);
  for (size_t i = 0; i < gx.size(); ++i) gx[i] = dx[i] - dx0[i];
  for (size_t i = 0; i < gw.size(); ++i) gw[i] = dw[i] - dw0[i];
  CHECK(wstest::gradcheck(x, gx, loss, "dx", 1e-2, 3e-4, 3e-3, 1 << 20));
  CHECK(wstest::gradcheck(w, gw, loss, "dw", 1e-2, 3e-4, 3e-3, 1 << 20));
  // null gradients are skipped; each one alone gives the same values
  auto dx2 = dx0;
  rmsnorm_backward(dx2.data(), nullptr, r.data(), x.data(), w.data(), rstd.data(), T, C);
  CHECK(dx2 == dx);
  auto dw2 = dw0;
  rmsnorm_backward(nullptr, dw2.data(), r.data(), x.data(), w.data(), rstd.data(), T, C);
  CHECK(dw2 == dw);
}

TEST(same_bits_for_any_thread_count) {
  const int T = 64, C = 896;
  auto x = wstest::randn(T * C, 8), w = wstest::randn(C, 9), g = wstest::randn(T * C, 10);
  std::vector<float> out(T * C), rstd(T);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, 1e-6f);
  int before = ws::num_threads();
  std::vector<float> dw1(C, 0.0f), dw3(C, 0.0f), dx1(T * C, 0.0f), dx3(T * C, 0.0f);
  ws::set_num_threads(1);
  rmsnorm_backward(dx1.data(), dw1.data(), g.data(), x.data(), w.data(), rstd.data(), T, C);
  ws::set_num_threads(3);
  rmsnorm_backward(dx3.data(), dw3.data(), g.data(), x.data(), w.data(), rstd.data(), T, C);
  ws::set_num_threads(before);
  CHECK(dw1 == dw3);
  CHECK(dx1 == dx3);
}

TEST(bad_shapes_throw) {
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1}, out[4];
  CHECK_THROWS(rmsnorm_forward(out, nullptr, x, w, 1, 0, 1e-6f));
  CHECK_THROWS(rmsnorm_forward(out, nullptr, x, w, -1, 4, 1e-6f));
  CHECK_THROWS(rmsnorm_forward(out, nullptr, x, w, 1, 4, -1.0f));
}

int main() { return wstest::run_tests(); }
