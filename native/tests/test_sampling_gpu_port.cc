// A host port of the GPU sampler's draw (native/cuda/sampling.cu, one block of kThreads threads
// per row), step for step and in the kernel's order of fp32 additions, checked against the CPU
// sampler (cpu/sampling.cc) on the same logits and the same uniforms: temperature only (the
// id-order walk: chunk sums, fixed-order block scan, one walk), top-k, top-p and both (the
// bitwise key search). The CPU sums in double and the port in fp32, so a draw within rounding
// of a boundary may differ; the cases of native/tests/cuda/test_sampling.cu allow 1% and the
// port must stay within that. Walking by descending probability instead of id order (what the
// kernel did before) gives 173 of 256 draws different on the temperature-only case.
// Keep this file in step with sampling.cu: any change to the kernel's order changes the port.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/ops.h"
#include "test_util.h"

namespace {

constexpr int kThreads = 1024;  // sampling.cu kThreads
constexpr int kWarps = kThreads / 32;

uint32_t order_key(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

struct Row {
  const float* l;
  int V;
  float lmax, inv_t;
  float prob(int v) const { return std::exp((l[v] - lmax) * inv_t); }
};

// common.cuh warp_sum on 32 lanes: x[l] += x[l ^ o] for o = 16, 8, 4, 2, 1, all lanes at once.
void warp_sum(float* x) {
  for (int o = 16; o > 0; o >>= 1) {
    float y[32];
    for (int l = 0; l < 32; ++l) y[l] = x[l] + x[l ^ o];
    std::copy(y, y + 32, x);
  }
}

// common.cuh block_sum over kThreads per-thread values: each warp's butterfly, then the warp
// results' butterfly (lane 0's value is the one every thread gets).
float block_sum(std::vector<float> x) {
  float w[32];
  for (int warp = 0; warp < kWarps; ++warp) {
    warp_sum(&x[warp * 32]);
    w[warp] = x[warp * 32];
  }
  warp_sum(w);
  return w[0];
}

// sampling.cu mass_at_least: thread t sums ids t, t + kThreads, ...
template <bool Count>
float mass_at_least(const Row& r, uint32_t K, uint32_t floor) {
  const uint32_t thr = std::max(K, floor);
  std::vector<float> s(kThreads, 0.0f);
  for (int t = 0; t < kThreads; ++t)
    for (int v = t; v < r.V; v += kThreads)
      if (order_key(r.l[v]) >= thr) s[t] += Count ? 1.0f : r.prob(v);
  return block_sum(std::move(s));
}

template <bool Count, bool Strict>
uint32_t largest_key(const Row& r, uint32_t floor, float target) {
  uint32_t K = 0;
  for (int bit = 31; bit >= 0; --bit) {
    const uint32_t cand = K | (1u << bit);
    const float m = mass_at_least<Count>(r, cand, floor);
    if (Strict ? m > target : m >= target) K = cand;
  }
  return K;
}

// sampling.cu block_inclusive_scan: Kogge-Stone within each warp (shuffles up 1, 2, ..., 16),
// the warp totals scanned the same way, each warp offset by the total of the warps before it.
std::vector<float> block_inclusive_scan(std::vector<float> x) {
  auto warp_scan = [](float* w) {
    for (int o = 1; o < 32; o <<= 1) {
      float y[32];
      for (int l = 0; l < 32; ++l) y[l] = l >= o ? w[l] + w[l - o] : w[l];
      std::copy(y, y + 32, w);
    }
  };
  float tot[32];
  for (int warp = 0; warp < kWarps; ++warp) {
    warp_scan(&x[warp * 32]);
    tot[warp] = x[warp * 32 + 31];
  }
  warp_scan(tot);
  for (int t = 32; t < kThreads; ++t) x[t] += tot[t / 32 - 1];
  return x;
}

// sampling.cu draw_in_id_order.
int draw_in_id_order(const Row& r, float u, int argmax) {
  const int C = (r.V + kThreads - 1) / kThreads;
  std::vector<float> s(kThreads, 0.0f);
  for (int t = 0; t < kThreads; ++t)
    for (int v = std::min(r.V, t * C); v < std::min(r.V, t * C + C); ++v) s[t] += r.prob(v);
  const auto scan = block_inclusive_scan(s);
  const float target = u * scan[kThreads - 1];
  int first = kThreads, last = 0;
  for (int t = 0; t < kThreads; ++t) {
    if (scan[t] > target) first = std::min(first, t);
    if (s[t] > 0.0f) last = t;
  }
  const int t = first < kThreads ? first : last;
  float cum = t > 0 ? scan[t - 1] : 0.0f;
  int token = -1, last_id = -1;
  const int begin = std::min(r.V, t * C), end = std::min(r.V, begin + C);
  for (int v = begin; v < end && token < 0; ++v) {
    const float p = r.prob(v);
    if (p > 0.0f) last_id = v;
    if ((cum += p) > target) token = v;
  }
  return token >= 0 ? token : last_id >= 0 ? last_id : argmax;
}

// sampling.cu sample_kernel for one row (sampling only: temperature > 0).
int gpu_sample(const float* l, int V, float temperature, int top_k, float top_p, float u) {
  const float lmax = *std::max_element(l, l + V);
  const int argmax = int(std::find(l, l + V, lmax) - l);
  const Row r{l, V, lmax, 1.0f / temperature};
  if ((top_k <= 0 || top_k >= V) && top_p >= 1.0f) return draw_in_id_order(r, u, argmax);
  const int k = top_k > 0 && top_k < V ? top_k : V;
  uint32_t floor = 0;
  float kept = mass_at_least<false>(r, 0u, 0u);
  if (k < V) {
    floor = largest_key<true, false>(r, 0u, (float)k);
    kept = mass_at_least<false>(r, 0u, floor);
  }
  if (top_p < 1.0f) {
    floor = std::max(floor, largest_key<false, false>(r, floor, top_p * kept));
    kept = mass_at_least<false>(r, 0u, floor);
  }
  const uint32_t pick = std::max(floor, largest_key<false, true>(r, floor, u * kept));
  for (int v = 0; v < V; ++v)
    if (order_key(l[v]) == pick) return v;
  return argmax;
}

// The cases of native/tests/cuda/test_sampling.cu (same logits and uniforms), fewer rows where
// the port's 32 passes over the vocabulary per key search would be slow.
int differing_draws(int B, int V, float temperature, int top_k, float top_p, uint64_t seed) {
  const auto logits = wstest::randn((size_t)B * V, seed, 3.0f);
  const auto u = wstest::uniform(B, seed + 1, 0.0f, 0.999f);
  int differ = 0;
  for (int b = 0; b < B; ++b) {
    const float* l = logits.data() + (size_t)b * V;
    differ += gpu_sample(l, V, temperature, top_k, top_p, u[b]) !=
              ws::cpu::sample_token(l, V, temperature, top_k, top_p, u[b], nullptr, nullptr);
  }
  std::printf("  T=%g k=%d p=%g V=%d: %d of %d draws differ\n", temperature, top_k, top_p, V, differ, B);
  return differ;
}

}  // namespace

TEST(port_temperature_draws_in_id_order) {
  CHECK(differing_draws(256, 1000, 0.7f, 0, 1.0f, 1220) <= 2);
  CHECK(differing_draws(16, 151936, 1.0f, 0, 1.0f, 1221) == 0);  // chunks of 149 ids
  CHECK(differing_draws(64, 700, 1.3f, 0, 1.0f, 1222) == 0);     // fewer ids than threads
}
TEST(port_top_k) { CHECK(differing_draws(64, 5000, 1.0f, 20, 1.0f, 1230) <= 1); }
TEST(port_top_p) { CHECK(differing_draws(64, 5000, 0.9f, 0, 0.8f, 1240) <= 1); }
TEST(port_top_k_top_p) { CHECK(differing_draws(8, 151936, 0.6f, 50, 0.95f, 1250) == 0); }

// A uniform just under 1 with two ids of any probability (the rest underflow to 0): the last one.
TEST(port_draw_at_the_top_of_the_range) {
  std::vector<float> l(3000, -200.0f);
  l[5] = 0.0f;
  l[2100] = 0.5f;
  const float u = 0.99999994f;
  CHECK(gpu_sample(l.data(), 3000, 1.0f, 0, 1.0f, u) == 2100);
  CHECK(ws::cpu::sample_token(l.data(), 3000, 1.0f, 0, 1.0f, u, nullptr, nullptr) == 2100);
}

int main() { return wstest::run_tests(); }
