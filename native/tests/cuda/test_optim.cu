// CUDA-vs-CPU parity for multi-tensor AdamW (several tensors of odd sizes, per-tensor weight
// decay, more tensors than one launch carries, the bf16 copy) and the gradient norm (double,
// bitwise reproducible).
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

TEST(adamw_multi_tensor) {
  const std::vector<int64_t> sizes = {1, 7, 896, 4864 * 3 + 5, 100000};
  const int count = 40;  // > 32: two launches
  std::vector<std::unique_ptr<F32Input>> p, g, m, v;
  std::vector<std::unique_ptr<Buf<bf16>>> pb;
  std::vector<std::vector<float>> p_ref, m_ref, v_ref;
  std::vector<cu::AdamWTensor> ts;
  for (int i = 0; i < count; ++i) {
    const int64_t n = sizes[i % sizes.size()];
    p.emplace_back(new F32Input(n, 700 + i));
    g.emplace_back(new F32Input(n, 800 + i, 0.1f));
    m.emplace_back(new F32Input(n, 900 + i, 0.01f));
    auto vv = uniform(n, 1000 + i, 0.0f, 1e-3f);
    v.emplace_back(new F32Input(n, 1, 1.0f));
    v.back()->host = vv;
    v.back()->dev.upload(vv);
    pb.emplace_back(new Buf<bf16>(n));
    pb.back()->poison();
    p_ref.push_back(p.back()->host);
    m_ref.push_back(m.back()->host);
    v_ref.push_back(vv);
    cu::AdamWTensor t;
    t.param = p.back()->dev.p;
    t.grad = g.back()->dev.p;
    t.m = m.back()->dev.p;
    t.v = v.back()->dev.p;
    t.param_bf16 = pb.back()->p;
    t.n = n;
    t.weight_decay = i % 2 ? 0.0f : 0.1f;
    ts.push_back(t);
  }
  const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, scale = 0.7f;
  const int step = 3;
  cu::adamw_step(ts.data(), count, lr, b1, b2, eps, step, scale);
  for (int i = 0; i < count; ++i) {
    ws::cpu::adamw_step(p_ref[i].data(), g[i]->host.data(), m_ref[i].data(), v_ref[i].data(), ts[i].n, lr, b1, b2, eps,
                        ts[i].weight_decay, step, scale);
    CHECK(close_f32(p[i]->dev, p_ref[i], 1e-6f, 1e-6f, "adamw param"));
    CHECK(close_f32(m[i]->dev, m_ref[i], 1e-6f, 1e-6f, "adamw m"));
    CHECK(close_f32(v[i]->dev, v_ref[i], 1e-6f, 1e-6f, "adamw v"));
    CHECK(close_bf16(*pb[i], p_ref[i], 0.0f, "adamw bf16 copy"));
  }
}

TEST(grad_norm_several_tensors) {
  const std::vector<int64_t> sizes = {1, 1000, 4096 * 16 + 3, 3000000};
  std::vector<std::unique_ptr<F32Input>> gs;
  std::vector<const float*> ptrs;
  double ref = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    gs.emplace_back(new F32Input(sizes[i], 1100 + i));
    ptrs.push_back(gs.back()->dev.p);
    ref += ws::cpu::grad_norm_sq(gs.back()->host.data(), sizes[i]);
  }
  const double got = cu::grad_norm_sq(ptrs.data(), sizes.data(), (int)sizes.size());
  CHECK_NEAR(got, ref, 1e-9 * ref);
  const double again = cu::grad_norm_sq(ptrs.data(), sizes.data(), (int)sizes.size());
  CHECK(got == again);
  Buf<float>& g0 = gs[1]->dev;
  cu::scale_inplace(g0.p, sizes[1], 0.5f);
  std::vector<float> half = gs[1]->host;
  for (auto& x : half) x *= 0.5f;
  CHECK(close_f32(g0, half, 0.0f, 0.0f, "scale_inplace"));
}

int main() { return run_tests(); }
