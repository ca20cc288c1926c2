// CUDA-vs-CPU parity for the cuBLASLt matmuls (Linear forward/backward, bias epilogue and bias
// gradient) and the fused head with the objective of docs/ARCHITECTURE.md "The objective" (SFT and clipped Dr. GRPO
// with KL), at several shapes up to the real Qwen2.5 vocabulary (151936), outputs poisoned, bitwise reruns.
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

TEST(matmul_forward_backward) {
  struct S {
    int M, K, N;
    bool bias;
  };
  for (S s : {S{1, 64, 32, true}, S{5, 64, 8, false}, S{37, 896, 136, true}, S{512, 896, 4864, false},
              S{300, 4864, 896, true}}) {
    BfInput x((size_t)s.M * s.K, 500), w((size_t)s.N * s.K, 501, 0.05f), b(s.N, 502);
    Buf<bf16> out((size_t)s.M * s.N);
    out.poison();
    cu::matmul_forward(out.p, x.dev.p, w.dev.p, s.bias ? b.dev.p : nullptr, s.M, s.K, s.N);
    std::vector<float> ref((size_t)s.M * s.N);
    ws::cpu::matmul_forward(ref.data(), x.host.data(), w.host.data(), s.bias ? b.host.data() : nullptr, s.M, s.K, s.N);
    CHECK(close_bf16(out, ref, 1e-2f, "matmul out"));

    BfInput dout((size_t)s.M * s.N, 503), dx((size_t)s.M * s.K, 504, 0.1f);
    F32Input dw((size_t)s.N * s.K, 505, 0.1f), db(s.N, 506, 0.1f);
    std::vector<float> dx_ref = dx.host, dw_ref = dw.host, db_ref = db.host;
    cu::matmul_backward(dx.dev.p, dw.dev.p, db.dev.p, dout.dev.p, x.dev.p, w.dev.p, s.M, s.K, s.N);
    ws::cpu::matmul_backward(dx_ref.data(), dw_ref.data(), db_ref.data(), dout.host.data(), x.host.data(),
                             w.host.data(), s.M, s.K, s.N);
    CHECK(close_bf16(dx.dev, dx_ref, 1e-2f, "matmul dx"));
    CHECK(close_f32(dw.dev, dw_ref, 1e-3f, 1e-3f, "matmul dw"));
    CHECK(close_f32(db.dev, db_ref, 1e-4f, 1e-4f, "matmul dbias"));
  }
}

namespace {

enum class Kind { Sft, Grpo, GrpoKl };

void check_head(int T, int C, int V, int chunk, Kind kind, uint64_t seed) {
  BfInput h((size_t)T * C, seed), W((size_t)V * C, seed + 1, 0.5f / std::sqrt((float)C) * 4.0f);
  std::vector<int32_t> tgt(T);
  ws::Rng r(seed + 2);
  for (int t = 0; t < T; ++t) tgt[t] = t % 11 == 3 ? -1 : (int32_t)(r.uniform() * V) % V;
  std::vector<float> weights(T), adv(T), old(T), ref(T);
  for (int t = 0; t < T; ++t) weights[t] = t % 5 == 0 ? 0.0f : 1.0f;
  // The CPU's own logp, to build old/ref logps close enough that some ratios clip and some don't.
  std::vector<float> lp0(T);
  ws::cpu::fused_head(lp0.data(), nullptr, nullptr, h.host.data(), W.host.data(), tgt.data(), T, C, V, {}, 64, nullptr);
  for (int t = 0; t < T; ++t) {
    adv[t] = (t % 3 == 0 ? -1.0f : 1.0f) * (0.5f + r.uniform());
    old[t] = lp0[t] + (r.uniform() - 0.5f) * 0.8f;
    ref[t] = lp0[t] + (r.uniform() - 0.5f) * 0.4f;
  }
  Buf<int32_t> tgt_d(T);
  tgt_d.upload(tgt);
  Buf<float> w_d(T), adv_d(T), old_d(T), ref_d(T);
  w_d.upload(weights);
  adv_d.upload(adv);
  old_d.upload(old);
  ref_d.upload(ref);
  ws::cpu::HeadObjective oc, og;
  oc.weights = weights.data();
  og.weights = w_d.p;
  oc.normaliser = og.normaliser = 0.5f * T;
  if (kind != Kind::Sft) {
    oc.advantages = adv.data(), og.advantages = adv_d.p;
    oc.old_logp = old.data(), og.old_logp = old_d.p;
    oc.clip_low = og.clip_low = 0.2f;
    oc.clip_high = og.clip_high = 0.28f;
    oc.temperature = og.temperature = 0.7f;
  }
  if (kind == Kind::GrpoKl) {
    oc.ref_logp = ref.data(), og.ref_logp = ref_d.p;
    oc.beta = og.beta = 0.04f;
  }
  BfInput dh((size_t)T * C, seed + 3, 0.01f);
  F32Input dW((size_t)V * C, seed + 4, 0.01f);
  std::vector<float> dh_ref = dh.host, dW_ref = dW.host, lp_ref(T);
  Buf<float> lp(T);
  lp.poison();
  const auto rg = cu::fused_head(lp.p, dh.dev.p, dW.dev.p, h.dev.p, W.dev.p, tgt_d.p, T, C, V, og, chunk, nullptr);
  const auto rc = ws::cpu::fused_head(lp_ref.data(), dh_ref.data(), dW_ref.data(), h.host.data(), W.host.data(),
                                      tgt.data(), T, C, V, oc, chunk, nullptr);
  CHECK(close_f32(lp, lp_ref, 1e-3f, 1e-3f, "head logp"));  // same bf16 inputs, fp32 sums on both sides
  CHECK_NEAR(rg.loss, rc.loss, 1e-2 * std::fabs(rc.loss) + 1e-3);
  CHECK(std::llabs(rg.clipped - rc.clipped) <= 1 + T / 100);  // a ratio at the clip edge may fall either way
  if (kind != Kind::Sft) CHECK(rc.clipped > 0);               // the case exercises clipping
  CHECK(close_bf16(dh.dev, dh_ref, 2e-2f, "head dh"));
  CHECK(close_f32(dW.dev, dW_ref, 2e-2f, 0.08f, "head dW"));
  // rerun: logp and loss bitwise equal
  const auto lp1 = lp.download();
  const auto rg2 = cu::fused_head(lp.p, nullptr, nullptr, h.dev.p, W.dev.p, tgt_d.p, T, C, V, og, chunk, nullptr);
  CHECK(bitwise_equal(lp, lp1));
  CHECK(rg2.loss == rg.loss);
}

}  // namespace

TEST(fused_head_sft) {
  check_head(37, 64, 1000, 16, Kind::Sft, 600);
  check_head(300, 128, 5000, 128, Kind::Sft, 610);
}
TEST(fused_head_grpo_clipped) {
  check_head(200, 128, 3000, 64, Kind::Grpo, 620);
  check_head(129, 64, 777, 1000, Kind::GrpoKl, 630);
}
TEST(fused_head_qwen_vocab) { check_head(64, 896, 151936, 32, Kind::Sft, 640); }

int main() { return run_tests(); }
