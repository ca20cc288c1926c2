// Sampling: greedy and top-k = 1 are the argmax; top-p keeps the smallest nucleus; many seeded
// draws follow the truncated, renormalised distribution of an independent reference (full sort
// in double) within a chi-square bound; logprob is log_softmax(z) over the whole vocab, with or
// without a vocabulary limit (ids at or above it are never drawn).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "core/rng.h"
#include "cpu/ops.h"
#include "test_util.h"

using ws::cpu::sample_token;

namespace {

std::vector<double> log_softmax(const std::vector<float>& logits, double temperature) {
  double mx = -1e300;
  for (float x : logits) mx = std::max(mx, x / temperature);
  double s = 0;
  for (float x : logits) s += std::exp(x / temperature - mx);
  std::vector<double> out;
  for (float x : logits) out.push_back(x / temperature - mx - std::log(s));
  return out;
}

// Reference: probabilities of the truncated distribution (0 outside), by a full sort.
std::vector<double> truncated(const std::vector<float>& logits, double temperature, int top_k, double top_p) {
  const int V = (int)logits.size();
  auto lp = log_softmax(logits, temperature);
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return lp[a] > lp[b]; });
  int k = top_k > 0 && top_k < V ? top_k : V;
  double mass = 0;
  for (int i = 0; i < k; ++i) mass += std::exp(lp[order[i]]);
  int n = 0;
  double cum = 0;
  while (n < k && (n == 0 || cum < top_p * mass)) cum += std::exp(lp[order[n++]]);
  std::vector<double> p(V, 0.0);
  for (int i = 0; i < n; ++i) p[order[i]] = std::exp(lp[order[i]]) / cum;
  return p;
}

int argmax(const std::vector<float>& x) { return int(std::max_element(x.begin(), x.end()) - x.begin()); }

// Reference draw: the first token, in the order of a full stable sort (ties to the lower id) or
// in id order (nothing truncated), whose cumulative truncated probability exceeds u; *gap is
// u's distance to the nearest boundary between two tokens (rounding may move it that far).
int reference_draw(const std::vector<double>& p, double u, bool sorted, double* gap) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  if (sorted) std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  double cum = 0;
  for (int t : order) {
    if (p[t] == 0) continue;
    cum += p[t];
    if (cum > u) {
      *gap = std::min(cum - u, u - (cum - p[t]));
      return t;
    }
  }
  *gap = 0;
  return order[0];
}

}  // namespace

TEST(greedy_and_top1_are_argmax) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto logits = wstest::randn(1000, seed, 3.0f);
    const int want = argmax(logits);
    auto lp1 = log_softmax(logits, 1.0);
    for (float t : {0.0f, -1.0f}) {
      float logprob = 1;
      CHECK(sample_token(logits.data(), 1000, t, 0, 1.0f, 0.99f, &logprob, nullptr) == want);
      CHECK_NEAR(logprob, lp1[want], 1e-5);
    }
    for (float u : {0.0f, 0.5f, 0.999f})
      CHECK(sample_token(logits.data(), 1000, 0.7f, 1, 1.0f, u, nullptr, nullptr) == want);
  }
  std::vector<float> ties = {1.0f, 5.0f, 2.0f, 5.0f};
  CHECK(sample_token(ties.data(), 4, 0.0f, 0, 1.0f, 0.3f, nullptr, nullptr) == 1);  // first maximum
  CHECK(sample_token(ties.data(), 4, 1.0f, 1, 1.0f, 0.9f, nullptr, nullptr) == 1);
}

TEST(top_p_keeps_the_smallest_nucleus) {
  // Probabilities 0.5, 0.3, 0.1, 0.06, 0.04 at shuffled ids.
  const int ids[] = {3, 0, 4, 1, 2};
  const double p[] = {0.5, 0.3, 0.1, 0.06, 0.04};
  std::vector<float> logits(5);
  for (int i = 0; i < 5; ++i) logits[ids[i]] = (float)std::log(p[i]);
  struct {
    float top_p;
    int size;
  } cases[] = {{0.3f, 1}, {0.5f, 1}, {0.75f, 2}, {0.85f, 3}, {0.95f, 4}, {1.0f, 5}};
  for (auto c : cases) {
    std::vector<int> hits(5, 0);
    const int draws = 10000;
    for (int d = 0; d < draws; ++d)
      hits[sample_token(logits.data(), 5, 1.0f, 0, c.top_p, (d + 0.5f) / draws, nullptr, nullptr)]++;
    double kept = 0;
    for (int i = 0; i < c.size; ++i) kept += p[i];
    for (int i = 0; i < 5; ++i) {
      // Sweeping u over [0, 1) hands each kept token exactly its renormalised share.
      double want = i < c.size ? p[i] / kept : 0.0;
      CHECK_NEAR(hits[ids[i]] / (double)draws, want, 2.0 / draws);
    }
  }
}

TEST(draws_follow_the_truncated_distribution) {
  struct {
    float temperature;
    int top_k;
    float top_p;
  } settings[] = {{1.0f, 0, 1.0f}, {0.8f, 20, 1.0f}, {1.3f, 0, 0.9f}, {0.8f, 20, 0.9f}, {1.0f, 200, 0.6f}};
  const int V = 300, draws = 40000;
  auto logits = wstest::randn(V, 42, 1.5f);
  std::vector<float> scratch(2 * V);
  for (auto s : settings) {
    auto want = truncated(logits, s.temperature, s.top_k, s.top_p);
    std::vector<int> hits(V, 0);
    ws::Rng rng(7);
    for (int d = 0; d < draws; ++d)
      hits[sample_token(logits.data(), V, s.temperature, s.top_k, s.top_p, rng.uniform(), nullptr, scratch.data())]++;
    double chi2 = 0;
    int df = -1, outside = 0;
    for (int v = 0; v < V; ++v) {
      if (want[v] == 0) {
        outside += hits[v];
        continue;
      }
      double e = want[v] * draws;
      chi2 += (hits[v] - e) * (hits[v] - e) / e;
      ++df;
    }
    std::printf("  T=%.1f top_k=%d top_p=%.1f: %d kept, chi2 %.1f\n", s.temperature, s.top_k, s.top_p, df + 1, chi2);
    CHECK(outside == 0);
    CHECK(chi2 < df + 6 * std::sqrt(2.0 * df));  // ~6 sigma of a chi-square with df degrees
  }
}

TEST(logprob_is_log_softmax_over_the_whole_vocab) {
  const int V = 151936;  // Qwen2 vocabulary
  auto logits = wstest::randn(V, 9, 2.0f);
  for (float t : {1.0f, 0.6f})
    for (int top_k : {0, 50})
      for (float top_p : {1.0f, 0.9f}) {
        auto lp = log_softmax(logits, t);
        auto want = truncated(logits, t, top_k, top_p);
        for (float u : {0.77f}) {
          float logprob = 0;
          int tok = sample_token(logits.data(), V, t, top_k, top_p, u, &logprob, nullptr);
          CHECK(want[tok] > 0);
          CHECK_NEAR(logprob, lp[tok], 1e-4);
        }
      }
}

TEST(large_vocab_draws_equal_the_full_sort_reference) {
  // 151936 tokens, peaked and flat logits: the histogram-picked candidates must give the draws
  // of a full sort, for top-k alone, top-p alone, both, and neither.
  const int V = 151936;
  struct {
    float scale, temperature;
    int top_k;
    float top_p;
  } settings[] = {{3.0f, 1.0f, 0, 0.9f}, {3.0f, 0.6f, 40, 0.95f},  {3.0f, 1.0f, 0, 1.0f}, {1.0f, 0.7f, 1000, 1.0f},
                  {0.3f, 1.0f, 0, 0.5f}, {0.3f, 1.0f, 5000, 0.9f}, {8.0f, 0.6f, 0, 0.95f}};
  std::vector<float> scratch(2 * (size_t)V);
  int checked = 0;
  for (auto st : settings) {
    auto logits = wstest::randn(V, 11 + checked, st.scale);
    auto want = truncated(logits, st.temperature, st.top_k, st.top_p);
    for (int i = 0; i < 20; ++i) {
      const float u = (i + 0.37f) / 20;
      double gap;
      const int ref = reference_draw(want, u, st.top_k > 0 || st.top_p < 1, &gap);
      const int got = sample_token(logits.data(), V, st.temperature, st.top_k, st.top_p, u, nullptr, scratch.data());
      if (gap < 1e-6) continue;  // u within rounding of a boundary between two tokens
      if (got != ref)
        std::printf("  scale %g T=%g top_k=%d top_p=%g u=%g: got %d, want %d\n", st.scale, st.temperature, st.top_k,
                    st.top_p, u, got, ref);
      CHECK(got == ref);
      ++checked;
    }
  }
  CHECK(checked > 120);
}

TEST(equal_logits_keep_the_lowest_ids) {
  // One bucket holds every token: top-k and the nucleus are the lowest ids, each equally likely.
  const int V = 1000;
  std::vector<float> logits(V, 0.25f);
  std::vector<int> hits(V, 0);
  for (int d = 0; d < 1000; ++d)
    hits[sample_token(logits.data(), V, 1.0f, 10, 1.0f, (d + 0.5f) / 1000, nullptr, nullptr)]++;
  for (int v = 0; v < V; ++v) CHECK(hits[v] == (v < 10 ? 100 : 0));
  std::fill(hits.begin(), hits.end(), 0);
  for (int d = 0; d < 1000; ++d)
    hits[sample_token(logits.data(), V, 1.0f, 0, 0.5f, (d + 0.5f) / 1000, nullptr, nullptr)]++;
  for (int v = 0; v < V; ++v) CHECK(hits[v] == (v < 500 ? 2 : 0));
}

TEST(masked_logits_are_never_drawn) {
  std::vector<float> logits = {-INFINITY, 0.5f, -INFINITY, 0.2f};
  std::set<int> seen;
  for (int d = 0; d < 100; ++d)
    seen.insert(sample_token(logits.data(), 4, 1.0f, 0, 1.0f, d / 100.0f, nullptr, nullptr));
  CHECK(seen == (std::set<int>{1, 3}));
}

// A vocabulary limit n draws exactly as logits[0, n) alone would (so never an id >= n, even when
// the ids above hold most of the probability), and the logprob is log_softmax over all V.
TEST(vocab_limit_draws_below_it_with_the_whole_vocab_logprob) {
  const int V = 1024, n = 910;
  struct {
    float temperature;
    int top_k;
    float top_p;
  } settings[] = {{0.0f, 0, 1.0f}, {0.7f, 0, 1.0f}, {1.0f, 20, 1.0f}, {0.9f, 0, 0.8f}, {0.6f, 50, 0.95f}};
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    auto logits = wstest::randn(V, seed, 3.0f);
    for (int v = n; v < V; ++v) logits[v] += 8.0f;  // the padding rows dominate
    std::vector<float> head(logits.begin(), logits.begin() + n);
    for (auto s : settings) {
      const auto lp = log_softmax(logits, s.temperature > 0 ? s.temperature : 1.0);
      for (float u : {0.0f, 0.3f, 0.7f, 0.999f}) {
        float got_lp = 0;
        const int got = sample_token(logits.data(), V, s.temperature, s.top_k, s.top_p, u, &got_lp, nullptr, n);
        CHECK(got == sample_token(head.data(), n, s.temperature, s.top_k, s.top_p, u, nullptr, nullptr));
        CHECK(got >= 0 && got < n);
        CHECK_NEAR(got_lp, lp[got], 1e-5 + 1e-6 * std::fabs(lp[got]));
      }
    }
  }
  // without a limit the same logits draw the padding rows nearly always
  auto logits = wstest::randn(V, 9, 3.0f);
  for (int v = n; v < V; ++v) logits[v] += 8.0f;
  CHECK(sample_token(logits.data(), V, 0.0f, 0, 1.0f, 0.5f, nullptr, nullptr) >= n);
  // the limit equal to V is no limit, bit for bit
  float a = 0, b = 0;
  CHECK(sample_token(logits.data(), V, 0.7f, 0, 1.0f, 0.4f, &a, nullptr, V) ==
        sample_token(logits.data(), V, 0.7f, 0, 1.0f, 0.4f, &b, nullptr));
  CHECK(a == b);
  CHECK_THROWS(sample_token(logits.data(), V, 0.7f, 0, 1.0f, 0.4f, nullptr, nullptr, V + 1));
  CHECK_THROWS(sample_token(logits.data(), V, 0.7f, 0, 1.0f, 0.4f, nullptr, nullptr, -1));
  logits[V - 1] = NAN;  // past the limit, still checked
  CHECK_THROWS(sample_token(logits.data(), V, 0.7f, 0, 1.0f, 0.4f, nullptr, nullptr, n));
}

TEST(bad_arguments_throw) {
  std::vector<float> logits = {0.1f, 0.2f};
  CHECK_THROWS(sample_token(logits.data(), 0, 1.0f, 0, 1.0f, 0.5f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 0.0f, 0.5f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 1.5f, 0.5f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 1.0f, 1.0f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 1.0f, -0.1f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, NAN, 0, 1.0f, 0.5f, nullptr, nullptr));
  CHECK_THROWS(sample_token(logits.data(), 2, 1e-45f, 0, 1.0f, 0.5f, nullptr, nullptr));
  logits[1] = NAN;
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 1.0f, 0.5f, nullptr, nullptr));
  logits = {-INFINITY, -INFINITY};
  CHECK_THROWS(sample_token(logits.data(), 2, 1.0f, 0, 1.0f, 0.5f, nullptr, nullptr));
}

int main() { return wstest::run_tests(); }
