// CUDA-vs-CPU parity for batched sampling: greedy, temperature, top-k, top-p and both, on random
// logits over a small and the Qwen2.5 vocabulary, with the same uniforms on both sides. Sums are
// fp32 on the GPU and double on the CPU, so a draw within rounding of a cumulative boundary may
// differ: at most 1% of draws may; every matching draw's logprob agrees. With a vocabulary limit
// no id at or above it is drawn.
#include "../../cpu/ops.h"
#include "cuda_test_util.cuh"

using namespace wstest;
namespace cu = ws::cuda;

namespace {

void check_sampling(int B, int V, float temperature, int top_k, float top_p, uint64_t seed, int vocab_limit = 0) {
  F32Input logits((size_t)B * V, seed, 3.0f);
  auto u = uniform(B, seed + 1, 0.0f, 0.999f);
  Buf<float> u_d(B);
  u_d.upload(u);
  Buf<int32_t> tok(B);
  Buf<float> lp(B);
  tok.poison();
  lp.poison();
  cu::sample_tokens(tok.p, lp.p, logits.dev.p, B, V, temperature, top_k, top_p, u_d.p, vocab_limit);
  const auto got = tok.download();
  const auto got_lp = lp.download();
  int mismatches = 0;
  for (int b = 0; b < B; ++b) {
    float ref_lp = 0;
    const int ref = ws::cpu::sample_token(logits.host.data() + (size_t)b * V, V, temperature, top_k, top_p, u[b],
                                          &ref_lp, nullptr, vocab_limit);
    CHECK(vocab_limit == 0 || got[b] < vocab_limit);
    if (got[b] != ref) {
      ++mismatches;
      continue;
    }
    CHECK_NEAR(got_lp[b], ref_lp, 1e-4 + 1e-4 * std::fabs(ref_lp));
  }
  if (mismatches > B / 100)
    std::printf("  T=%g k=%d p=%g: %d of %d draws differ\n", temperature, top_k, top_p, mismatches, B);
  CHECK(mismatches <= B / 100);
  cu::sample_tokens(tok.p, lp.p, logits.dev.p, B, V, temperature, top_k, top_p, u_d.p, vocab_limit);
  CHECK(bitwise_equal(tok, got));
}

}  // namespace

TEST(sampling_greedy) {
  check_sampling(64, 1000, 0.0f, 0, 1.0f, 1200);
  check_sampling(4, 151936, 0.0f, 0, 1.0f, 1210);
}
TEST(sampling_temperature) { check_sampling(256, 1000, 0.7f, 0, 1.0f, 1220); }
TEST(sampling_top_k) { check_sampling(256, 5000, 1.0f, 20, 1.0f, 1230); }
TEST(sampling_top_p) { check_sampling(256, 5000, 0.9f, 0, 0.8f, 1240); }
TEST(sampling_top_k_top_p_qwen_vocab) { check_sampling(32, 151936, 0.6f, 50, 0.95f, 1250); }
// Qwen2.5's 151936 embedding rows over its tokenizer's 151665 ids; a small model's 1024 over 910.
TEST(sampling_vocab_limit) {
  check_sampling(16, 151936, 0.0f, 0, 1.0f, 1260, 151665);
  check_sampling(256, 1024, 0.7f, 0, 1.0f, 1261, 910);
  check_sampling(64, 1024, 0.9f, 20, 0.8f, 1262, 910);
  check_sampling(16, 151936, 0.6f, 50, 0.95f, 1263, 151665);
}

int main() { return run_tests(); }
