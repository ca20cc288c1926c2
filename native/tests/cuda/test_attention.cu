// CUDA-vs-CPU parity for fused attention (forward, backward) and decode attention: packed
// sequences of uneven lengths (tile edges inside and across sequences), GQA group sizes 1..7,
// head dims 64 and 128, outputs poisoned, and bitwise reruns (all three kernels are
// deterministic).
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

namespace {

struct Shape {
  std::vector<int> lens;
  int Hq, Hkv, D;
};

void check_attention(const Shape& s, uint64_t seed) {
  const auto cu_h = cu_seqlens(s.lens);
  const int S = (int)s.lens.size(), T = cu_h.back();
  const size_t nq = (size_t)T * s.Hq * s.D, nk = (size_t)T * s.Hkv * s.D;
  BfInput q(nq, seed), k(nk, seed + 1), v(nk, seed + 2), dout(nq, seed + 3);
  BfInput dq(nq, seed + 4, 0.1f), dk(nk, seed + 5, 0.1f), dv(nk, seed + 6, 0.1f);
  Buf<int32_t> cu_d(S + 1);
  cu_d.upload(cu_h);
  Buf<bf16> out(nq);
  Buf<float> lse((size_t)T * s.Hq);
  out.poison();
  lse.poison();
  cu::attention_forward(out.p, lse.p, q.dev.p, k.dev.p, v.dev.p, cu_d.p, S, T, s.Hq, s.Hkv, s.D);
  std::vector<float> out_ref(nq), lse_ref((size_t)T * s.Hq);
  ws::cpu::attention_forward(out_ref.data(), lse_ref.data(), q.host.data(), k.host.data(), v.host.data(), cu_h.data(),
                             S, T, s.Hq, s.Hkv, s.D);
  CHECK(close_bf16(out, out_ref, 1e-2f, "attention out"));
  CHECK(close_f32(lse, lse_ref, 2e-3f, 2e-3f, "attention lse"));
  const auto out1 = out.download();
  const auto lse1 = lse.download();
  cu::attention_forward(out.p, lse.p, q.dev.p, k.dev.p, v.dev.p, cu_d.p, S, T, s.Hq, s.Hkv, s.D);
  CHECK(bitwise_equal(out, out1));
  CHECK(bitwise_equal(lse, lse1));

  // Backward from the GPU's own forward (bf16 out) against the CPU's on its own forward.
  std::vector<float> dq_ref = dq.host, dk_ref = dk.host, dv_ref = dv.host;
  cu::attention_backward(dq.dev.p, dk.dev.p, dv.dev.p, dout.dev.p, q.dev.p, k.dev.p, v.dev.p, out.p, lse.p, cu_d.p, S,
                         T, s.Hq, s.Hkv, s.D);
  ws::cpu::attention_backward(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout.host.data(), q.host.data(),
                              k.host.data(), v.host.data(), out_ref.data(), lse_ref.data(), cu_h.data(), S, T, s.Hq,
                              s.Hkv, s.D);
  CHECK(close_bf16(dq.dev, dq_ref, 2e-2f, "attention dq"));
  CHECK(close_bf16(dk.dev, dk_ref, 2e-2f, "attention dk"));
  CHECK(close_bf16(dv.dev, dv_ref, 2e-2f, "attention dv"));
  const auto dq1 = dq.dev.download(), dk1 = dk.dev.download(), dv1 = dv.dev.download();
  dq.dev.upload(to_bf16(dq.host));
  dk.dev.upload(to_bf16(dk.host));
  dv.dev.upload(to_bf16(dv.host));
  cu::attention_backward(dq.dev.p, dk.dev.p, dv.dev.p, dout.dev.p, q.dev.p, k.dev.p, v.dev.p, out.p, lse.p, cu_d.p, S,
                         T, s.Hq, s.Hkv, s.D);
  CHECK(bitwise_equal(dq.dev, dq1));
  CHECK(bitwise_equal(dk.dev, dk1));
  CHECK(bitwise_equal(dv.dev, dv1));
}

}  // namespace

TEST(attention_single_short_sequences) {
  check_attention({{1}, 2, 1, 64}, 100);
  check_attention({{64}, 4, 4, 128}, 110);
  check_attention({{65}, 2, 2, 64}, 120);
}

TEST(attention_packed_gqa_d64) {
  check_attention({{100, 37, 200, 1, 64}, 8, 2, 64}, 200);
  check_attention({{130, 65}, 14, 2, 64}, 210);  // Qwen2.5-0.5B heads
}

TEST(attention_packed_gqa_d128) {
  check_attention({{300, 17, 129}, 4, 1, 128}, 300);
  check_attention({{257}, 28, 4, 128}, 310);  // group of 7
}

TEST(attention_decode_matches_cpu) {
  struct S {
    int B, max_len, Hq, Hkv, D;
  };
  for (S s : {S{1, 1000, 14, 2, 64}, S{8, 300, 4, 4, 128}, S{64, 50, 8, 2, 64}, S{3, 5, 2, 1, 96}}) {
    const size_t nq = (size_t)s.B * s.Hq * s.D, nc = (size_t)s.B * s.max_len * s.Hkv * s.D;
    BfInput q(nq, 400 + s.B), kc(nc, 401), vc(nc, 402);
    std::vector<int32_t> lens(s.B);
    ws::Rng r(403);
    for (auto& l : lens) l = 1 + (int)(r.uniform() * s.max_len) % s.max_len;
    lens[0] = s.max_len;
    Buf<int32_t> lens_d(s.B);
    lens_d.upload(lens);
    Buf<bf16> out(nq);
    out.poison();
    cu::attention_decode(out.p, q.dev.p, kc.dev.p, vc.dev.p, lens_d.p, s.B, s.max_len, s.Hq, s.Hkv, s.D);
    std::vector<float> ref(nq);
    ws::cpu::attention_decode(ref.data(), q.host.data(), kc.host.data(), vc.host.data(), lens.data(), s.B, s.max_len,
                              s.Hq, s.Hkv, s.D);
    CHECK(close_bf16(out, ref, 1e-2f, "decode out"));
    const auto out1 = out.download();
    cu::attention_decode(out.p, q.dev.p, kc.dev.p, vc.dev.p, lens_d.p, s.B, s.max_len, s.Hq, s.Hkv, s.D);
    CHECK(bitwise_equal(out, out1));
  }
}

TEST(attention_bad_head_dim_throws) {
  CHECK_THROWS(cu::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 1, 4, 2, 1, 96));
  CHECK_THROWS(cu::attention_forward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 1, 4, 3, 2, 64));
}

int main() { return run_tests(); }
