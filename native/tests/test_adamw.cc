// AdamW against torch.optim.AdamW (PyTorch 1.13, foreach=False, float32): three steps with
// different gradients, with decay (lr 1e-2, wd 0.1) and without (lr 3e-3, wd 0, grad_scale 0.5,
// compared with torch stepping on grad * 0.5), betas (0.9, 0.999), eps 1e-8. The expected
// parameters and moments were printed by torch (script in the comment at the end).
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using ws::cpu::adamw_step;

namespace {

const std::vector<float> p0 = {0.5f, -1.25f, 2.0f, 0.0f, -0.03125f, 3.0f};
const float grads[3][6] = {{0.1f, -0.2f, 0.3f, 0.05f, -1.5f, 0.0f},
                           {-0.4f, 0.25f, 0.3f, -0.05f, 2.0f, 1e-3f},
                           {0.2f, 0.2f, -0.6f, 0.5f, -0.25f, -2.0f}};

struct Expected {
  float lr, wd, scale;
  float p[3][6];
  float m[6], v[6];
};
const Expected cases[] = {
    {1e-2f,
     0.1f,
     1.0f,
     {{4.895000160e-01f, -1.238749981e+00f, 1.988000035e+00f, -9.999996983e-03f, -2.121875063e-02f, 2.996999979e+00f},
      {4.946055412e-01f, -1.239138603e+00f, 1.976012111e+00f, -9.463681839e-03f, -2.313263528e-02f, 2.986561775e+00f},
      {4.952126741e-01f, -1.242352247e+00f, 1.974792600e+00f, -1.572258025e-02f, -2.396183833e-02f, 2.989960670e+00f}},
     {-0.0078999996f, 0.026300006f, -0.0087000048f, 0.049550012f, 0.033500005f, -0.19991004f},
     {2.0981733e-4f, 1.4235571e-4f, 5.3972320e-4f, 2.5498922e-4f, 6.3039209e-3f, 3.9999494e-3f}},
    {3e-3f,
     0.0f,
     0.5f,
     {{4.970000088e-01f, -1.246999979e+00f, 1.996999979e+00f, -2.999999095e-03f, -2.824999951e-02f, 3.000000000e+00f},
      {4.986785054e-01f, -1.247488141e+00f, 1.993999958e+00f, -2.842104528e-03f, -2.883053012e-02f, 2.997767687e+00f},
      {4.990090132e-01f, -1.248824000e+00f, 1.994226933e+00f, -4.722612910e-03f, -2.908623032e-02f, 2.999683380e+00f}},
     {-0.0039499998f, 0.013150003f, -0.0043500024f, 0.024775006f, 0.016750002f, -0.099955022f},
     {5.2454332e-5f, 3.5588928e-5f, 1.3493080e-4f, 6.3747306e-5f, 1.5759802e-3f, 9.9998736e-4f}},
};

}  // namespace

TEST(matches_pytorch_three_steps) {
  for (const Expected& e : cases) {
    std::vector<float> p = p0, m(6, 0.0f), v(6, 0.0f);
    for (int step = 1; step <= 3; ++step) {
      adamw_step(p.data(), grads[step - 1], m.data(), v.data(), 6, e.lr, 0.9f, 0.999f, 1e-8f, e.wd, step, e.scale);
      CHECK(wstest::allclose(p.data(), e.p[step - 1], 6, 1e-7f, 1e-6f, "param"));
    }
    CHECK(wstest::allclose(m.data(), e.m, 6, 1e-9f, 1e-6f, "exp_avg"));
    CHECK(wstest::allclose(v.data(), e.v, 6, 1e-12f, 1e-6f, "exp_avg_sq"));
  }
}

// The first step moves every parameter with a non-zero gradient by about lr (m/sqrt(v) = sign(g)
// after bias correction), plus the decay: a hand check independent of the torch numbers.
TEST(first_step_is_sign_times_lr) {
  std::vector<float> p = {1.0f, -2.0f, 0.5f}, m(3, 0.0f), v(3, 0.0f);
  const float g[3] = {3.0f, -1e-2f, 0.25f};
  adamw_step(p.data(), g, m.data(), v.data(), 3, 0.1f, 0.9f, 0.95f, 0.0f, 0.5f, 1, 1.0f);
  CHECK_NEAR(p[0], 1.0 * (1 - 0.05) - 0.1, 1e-6);
  CHECK_NEAR(p[1], -2.0 * (1 - 0.05) + 0.1, 1e-6);
  CHECK_NEAR(p[2], 0.5 * (1 - 0.05) - 0.1, 1e-6);
}

TEST(large_tensor_is_elementwise_and_thread_independent) {
  const int64_t n = 100003;
  auto g = wstest::randn(n, 1), p_init = wstest::randn(n, 2);
  std::vector<float> ref;
  for (int threads : {1, 2, 3}) {
    ws::set_num_threads(threads);
    std::vector<float> p = p_init, m(n, 0.0f), v(n, 0.0f);
    for (int step = 1; step <= 2; ++step)
      adamw_step(p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step, 1.0f);
    if (ref.empty())
      ref = p;
    else
      CHECK(p == ref);
  }
}

TEST(bad_arguments_throw) {
  float p = 1, g = 1, m = 0, v = 0;
  CHECK_THROWS(adamw_step(&p, &g, &m, &v, 1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, 1.0f));
  CHECK_THROWS(adamw_step(&p, &g, &m, &v, -1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1.0f));
  CHECK_THROWS(adamw_step(&p, &g, &m, &v, 1, 1e-3f, 1.0f, 0.999f, 1e-8f, 0.0f, 1, 1.0f));
  CHECK(p == 1.0f);
}

int main() { return wstest::run_tests(); }

// The expected values come from:
//   p = torch.tensor(p0, requires_grad=True)
//   opt = torch.optim.AdamW([p], lr=f32(lr), betas=(f32(0.9), f32(0.999)), eps=f32(1e-8),
//                           weight_decay=f32(wd), foreach=False)
//   for g in grads: p.grad = torch.tensor(g) * scale; opt.step(); print(p)
// with f32(x) rounding each hyperparameter to float32 as the engine receives it.
