// CUDA-vs-CPU parity: casts, embedding, RMSNorm, RoPE, SwiGLU, GRPO advantages. Random inputs
// (rounded to bf16 so both sides read the same values), outputs poisoned with NaN before each
// run, several shapes, and a bitwise rerun check for the deterministic ops.
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

TEST(cast_round_trip) {
  for (size_t n : {1u, 1000u, 1u << 20}) {
    F32Input x(n, 1 + n);
    Buf<bf16> b(n);
    Buf<float> back(n);
    b.poison();
    back.poison();
    cu::cast_f32_to_bf16(b.p, x.dev.p, n);
    cu::cast_bf16_to_f32(back.p, b.p, n);
    const auto got = back.download();
    const auto want = round_bf16(x.host);  // host RNE
    CHECK(std::memcmp(got.data(), want.data(), n * sizeof(float)) == 0);
  }
}

TEST(embedding_forward_backward) {
  struct S {
    int T, C, V;
  };
  for (S s : {S{1, 8, 5}, S{37, 96, 50}, S{512, 896, 1000}}) {
    BfInput wte((size_t)s.V * s.C, 2);
    std::vector<int32_t> tok(s.T);
    ws::Rng r(3);
    for (auto& t : tok) t = (int32_t)(r.uniform() * s.V) % s.V;
    Buf<int32_t> dtok(s.T);
    dtok.upload(tok);
    Buf<bf16> out((size_t)s.T * s.C);
    out.poison();
    cu::embedding_forward(out.p, dtok.p, wte.dev.p, s.T, s.C, s.V);
    std::vector<float> ref((size_t)s.T * s.C);
    ws::cpu::embedding_forward(ref.data(), tok.data(), wte.host.data(), s.T, s.C, s.V);
    CHECK(close_bf16(out, ref, 0.0f, "embedding out"));  // a copy: exact
    // backward accumulates into a random fp32 gradient
    BfInput dout((size_t)s.T * s.C, 4);
    F32Input dw((size_t)s.V * s.C, 5);
    std::vector<float> dw_ref = dw.host;
    cu::embedding_backward(dw.dev.p, dout.dev.p, dtok.p, s.T, s.C, s.V);
    ws::cpu::embedding_backward(dw_ref.data(), dout.host.data(), tok.data(), s.T, s.C, s.V);
    CHECK(close_f32(dw.dev, dw_ref, 1e-5f, 1e-5f, "embedding dwte"));
  }
}

TEST(rmsnorm_forward_backward) {
  struct S {
    int T, C;
  };
  for (S s : {S{1, 64}, S{33, 896}, S{300, 1536}, S{7, 4000}}) {
    const float eps = 1e-6f;
    BfInput x((size_t)s.T * s.C, 10), w(s.C, 11), dout((size_t)s.T * s.C, 12), dx0((size_t)s.T * s.C, 13);
    Buf<bf16> out((size_t)s.T * s.C);
    Buf<float> rstd(s.T);
    out.poison();
    rstd.poison();
    cu::rmsnorm_forward(out.p, rstd.p, x.dev.p, w.dev.p, s.T, s.C, eps);
    std::vector<float> out_ref((size_t)s.T * s.C), rstd_ref(s.T);
    ws::cpu::rmsnorm_forward(out_ref.data(), rstd_ref.data(), x.host.data(), w.host.data(), s.T, s.C, eps);
    CHECK(close_bf16(out, out_ref, 1e-3f, "rmsnorm out"));
    CHECK(close_f32(rstd, rstd_ref, 0.0f, 1e-4f, "rmsnorm rstd"));
    const auto out1 = out.download();
    cu::rmsnorm_forward(out.p, rstd.p, x.dev.p, w.dev.p, s.T, s.C, eps);
    CHECK(bitwise_equal(out, out1));

    F32Input dw(s.C, 14);
    std::vector<float> dx_ref = dx0.host, dw_ref = dw.host;
    cu::rmsnorm_backward(dx0.dev.p, dw.dev.p, dout.dev.p, x.dev.p, w.dev.p, rstd.p, s.T, s.C);
    ws::cpu::rmsnorm_backward(dx_ref.data(), dw_ref.data(), dout.host.data(), x.host.data(), w.host.data(),
                              rstd_ref.data(), s.T, s.C);
    CHECK(close_bf16(dx0.dev, dx_ref, 1e-2f, "rmsnorm dx"));
    CHECK(close_f32(dw.dev, dw_ref, 1e-3f, 1e-3f, "rmsnorm dw"));
    // rerun from the same start: bitwise equal
    const auto dw1 = dw.dev.download();
    dw.dev.upload(dw.host);
    cu::rmsnorm_backward(nullptr, dw.dev.p, dout.dev.p, x.dev.p, w.dev.p, rstd.p, s.T, s.C);
    CHECK(bitwise_equal(dw.dev, dw1));
  }
}

TEST(rope_forward_backward) {
  struct S {
    int T, H, D;
  };
  for (S s : {S{1, 1, 64}, S{40, 14, 64}, S{129, 2, 128}, S{5, 3, 6}}) {
    const size_t n = (size_t)s.T * s.H * s.D;
    BfInput x(n, 20), dout(n, 21), dx(n, 22);
    std::vector<int32_t> pos(s.T);
    for (int t = 0; t < s.T; ++t) pos[t] = (t * 37) % 20000;  // positions up to the long-context range
    Buf<int32_t> dpos(s.T);
    dpos.upload(pos);
    const float theta = 1000000.0f;
    Buf<bf16> out(n);
    out.poison();
    cu::rope_forward(out.p, x.dev.p, dpos.p, s.T, s.H, s.D, theta);
    std::vector<float> ref(n);
    ws::cpu::rope_forward(ref.data(), x.host.data(), pos.data(), s.T, s.H, s.D, theta);
    CHECK(close_bf16(out, ref, 1e-3f, "rope out"));
    std::vector<float> dx_ref = dx.host;
    cu::rope_backward(dx.dev.p, dout.dev.p, dpos.p, s.T, s.H, s.D, theta);
    ws::cpu::rope_backward(dx_ref.data(), dout.host.data(), pos.data(), s.T, s.H, s.D, theta);
    CHECK(close_bf16(dx.dev, dx_ref, 1e-2f, "rope dx"));
  }
}

TEST(swiglu_forward_backward) {
  for (int64_t n : {1LL, 1000LL, 4864LL * 37}) {
    BfInput g(n, 30, 2.0f), u(n, 31), dout(n, 32), dg(n, 33), du(n, 34);
    Buf<bf16> out(n);
    out.poison();
    cu::swiglu_forward(out.p, g.dev.p, u.dev.p, n);
    std::vector<float> ref(n), dg_ref = dg.host, du_ref = du.host;
    ws::cpu::swiglu_forward(ref.data(), g.host.data(), u.host.data(), n);
    CHECK(close_bf16(out, ref, 1e-3f, "swiglu out"));
    cu::swiglu_backward(dg.dev.p, du.dev.p, dout.dev.p, g.dev.p, u.dev.p, n);
    ws::cpu::swiglu_backward(dg_ref.data(), du_ref.data(), dout.host.data(), g.host.data(), u.host.data(), n);
    CHECK(close_bf16(dg.dev, dg_ref, 1e-2f, "swiglu dgate"));
    CHECK(close_bf16(du.dev, du_ref, 1e-2f, "swiglu dup"));
  }
}

TEST(grpo_advantages_mean_and_std) {
  struct S {
    int groups, G;
  };
  for (S s : {S{1, 1}, S{3, 8}, S{64, 16}, S{5, 100}}) {
    const size_t n = (size_t)s.groups * s.G;
    auto rewards = uniform(n, 40 + n, 0.0f, 2.0f);
    for (size_t i = 0; i < n; i += 3) rewards[i] = std::round(rewards[i]);  // 0/1/2 rewards, as verifiers give
    for (int i = 0; i < s.G; ++i) rewards[i] = 1.0f;                        // group 0: all equal, no signal
    Buf<float> r(n), adv(n);
    r.upload(rewards);
    for (bool scale : {false, true}) {
      adv.poison();
      cu::grpo_advantages(adv.p, r.p, s.groups, s.G, scale);
      std::vector<float> ref(n);
      for (int g = 0; g < s.groups; ++g) {
        double mean = 0, var = 0;
        bool equal = true;
        for (int i = 0; i < s.G; ++i) mean += rewards[g * s.G + i];
        mean /= s.G;
        for (int i = 0; i < s.G; ++i) {
          var += (rewards[g * s.G + i] - mean) * (rewards[g * s.G + i] - mean);
          equal &= rewards[g * s.G + i] == rewards[g * s.G];
        }
        const double sd = s.G > 1 ? std::sqrt(var / (s.G - 1)) : 0.0;  // sample std, as TRL
        for (int i = 0; i < s.G; ++i)
          ref[g * s.G + i] = equal   ? 0.0f
                             : scale ? float((rewards[g * s.G + i] - mean) / (sd + 1e-4))
                                     : float(rewards[g * s.G + i] - mean);
      }
      CHECK(close_f32(adv, ref, 1e-5f, 1e-4f, scale ? "grpo adv (std)" : "grpo adv"));
    }
  }
}

TEST(bad_shapes_throw) {
  CHECK_THROWS(cu::rmsnorm_forward(nullptr, nullptr, nullptr, nullptr, 1, 0, 1e-6f));
  CHECK_THROWS(cu::rope_forward(nullptr, nullptr, nullptr, 1, 1, 7, 10000.0f));
  CHECK_THROWS(cu::grpo_advantages(nullptr, nullptr, 1, 0, false));
}

int main() { return run_tests(); }
