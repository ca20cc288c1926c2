// Sampling one token from logits[V]:
//   z = logits / temperature;  p = softmax(z)
//   keep the top_k most probable tokens (top_k <= 0 or >= V: all), then, over those renormalised,
//   the smallest most-probable prefix whose probability reaches top_p (at least one token), as
//   Hugging Face's TopK then TopP warpers do; renormalise and take the first kept token (in
//   descending probability, ties to the lower id) whose cumulative probability exceeds u.
//   logprob = log_softmax(z)[token] over the whole vocab. temperature <= 0: argmax (first one),
//   logprob at temperature 1.
// A vocabulary limit n < V (the tokenizer's size when the model has padding rows) draws exactly
// as over logits[0, n) alone, as if every id >= n had logit -inf; the logprob stays over all V
// (like top-k, the limit truncates the draw, not the policy the trainer recomputes):
//   logprob = (z_tok - m) - log(e^(lmax_n - m)·S_n + sum_{v >= n} e^(z_v - m)),  m = max z.
// The checks, max and e^(z - max) run on 16-lane vectors (simd::exp, ~2 ulp). Nothing sorts the
// vocabulary: a histogram of the probabilities (8 buckets per power of two) finds the buckets
// that must hold the top k or the nucleus, and only the tokens in those are sorted. Without
// top-k/top-p the draw walks the tokens in id order (the same distribution), skipping whole
// blocks by their sums.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../core/error.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {
namespace {

using simd::vf;
using simd::W;

constexpr int kBlock = 1024;  // float lanes within a block, double across blocks

// Sum of p[b, e) as the exp pass adds it: 16 float lanes, then the tail.
double block_sum(const float* p, int b, int e) {
  vf acc{};
  int j = b;
  for (; j + W <= e; j += W) acc += simd::load(p + j);
  double s = simd::hsum(acc);
  for (; j < e; ++j) s += p[j];
  return s;
}

// Bucket of a probability in [0, 1]: 0 for 1, one more for each eighth of an octave below
// (the exponent and the top 3 mantissa bits); 0 and denormals share the last one.
constexpr int kBuckets = 1017;
inline int bucket(float p) {
  uint32_t bits;
  std::memcpy(&bits, &p, sizeof bits);
  return std::max(0, kBuckets - 1 - int(bits >> 20));
}

// The smallest probability in bucket b < kBuckets - 1: bucket(p) <= b exactly when p >= it.
inline float bucket_floor(int b) {
  const uint32_t bits = uint32_t(kBuckets - 1 - b) << 20;
  float p;
  std::memcpy(&p, &bits, sizeof p);
  return p;
}

// The fewest most probable buckets that hold at least k tokens (k < V), or else at least `reach`
// of probability. Four interleaved histograms, so neighbouring tokens in one bucket do not wait
// on each other's update; the float masses only pick where to start (the caller checks).
int first_cut(const float* prob, int V, int k, double reach) {
  float mass[4][kBuckets] = {};
  int count[4][kBuckets] = {};
  int v = 0;
  for (; v + 4 <= V; v += 4)
    for (int h = 0; h < 4; ++h) {
      const int bk = bucket(prob[v + h]);
      mass[h][bk] += prob[v + h];
      ++count[h][bk];
    }
  for (; v < V; ++v) {
    mass[0][bucket(prob[v])] += prob[v];
    ++count[0][bucket(prob[v])];
  }
  for (int h = 1; h < 4; ++h)
    for (int bk = 0; bk < kBuckets; ++bk) {
      mass[0][bk] += mass[h][bk];
      count[0][bk] += count[h][bk];
    }
  int cut = 0;
  if (k < V)
    for (int c = count[0][0]; c < k && cut < kBuckets - 1;) c += count[0][++cut];
  else
    for (double m = mass[0][0]; m < reach && cut < kBuckets - 1;) m += mass[0][++cut];
  return cut;
}

// The draw over logits[0, V); *lmax_out and *total_out: its max logit and sum of e^((l - max)/t).
int draw(const float* logits, int V, float temperature, int top_k, float top_p, float u, float* scratch,
         float* lmax_out, double* total_out) {
  WS_CHECK_RANGE(V > 0, "sample_token: V must be > 0, got ", V);
  WS_CHECK_RANGE(logits, "sample_token: logits must not be null");
  WS_CHECK_RANGE(!std::isnan(temperature), "sample_token: temperature is NaN");
  WS_CHECK_RANGE(top_p > 0 && top_p <= 1, "sample_token: top_p must be in (0, 1], got ", top_p);
  WS_CHECK_RANGE(u >= 0 && u < 1, "sample_token: u must be in [0, 1), got ", u);
  const bool greedy = temperature <= 0;
  const float inv_t = greedy ? 1.0f : 1.0f / temperature;
  WS_CHECK_RANGE(std::isfinite(inv_t), "sample_token: temperature ", temperature, " is too small");

  // Max, and no NaN or +inf anywhere (the scalar loop names the first bad one).
  vf vmax = simd::splat(-INFINITY);
  simd::vi bad{};
  int j = 0;
  for (; j + W <= V; j += W) {
    vf x = simd::load(logits + j);
    bad |= (x != x) | (x == INFINITY);
    vmax = x > vmax ? x : vmax;
  }
  float lmax = simd::hmax(vmax);
  bool any_bad = false;
  for (int l = 0; l < W; ++l) any_bad |= bad[l] != 0;
  for (; j < V; ++j) {
    any_bad |= std::isnan(logits[j]) || logits[j] == INFINITY;
    lmax = std::max(lmax, logits[j]);
  }
  if (any_bad)
    for (int v = 0; v < V; ++v)
      WS_CHECK_RANGE(!std::isnan(logits[v]) && logits[v] != INFINITY, "sample_token: logits[", v, "] is ", logits[v]);
  WS_CHECK_RANGE(lmax > -INFINITY, "sample_token: every logit is -inf");
  const int best = int(std::find(logits, logits + V, lmax) - logits);

  // Unnormalised probabilities e^(z - max) and their sum.
  std::vector<float> own;
  if (!scratch) {
    own.resize(2 * (size_t)V);
    scratch = own.data();
  }
  float* prob = scratch;
  double total = 0;
  const vf vlmax = simd::splat(lmax), vinv = simd::splat(inv_t);
  for (int b = 0; b < V; b += kBlock) {
    const int e = std::min(V, b + kBlock);
    for (j = b; j + W <= e; j += W) simd::store(prob + j, simd::exp((simd::load(logits + j) - vlmax) * vinv));
    for (; j < e; ++j) prob[j] = std::exp((logits[j] - lmax) * inv_t);
    total += block_sum(prob, b, e);
  }
  *lmax_out = lmax;
  *total_out = total;
  if (greedy) return best;
  const int k = top_k > 0 && top_k < V ? top_k : V;

  int token = -1;
  if (k == V && top_p >= 1) {
    // Every token is kept: the first (by id) whose cumulative probability exceeds u·total.
    const double target = (double)u * total;
    double cum = 0;
    int b = 0;
    for (; b < V; b += kBlock) {
      const double s = block_sum(prob, b, std::min(V, b + kBlock));
      if (cum + s > target) break;
      cum += s;
    }
    for (j = b; j < V && token < 0; ++j)
      if ((cum += prob[j]) > target) token = j;
    if (token < 0)  // rounding: the last token with any probability
      for (token = V - 1; token > 0 && prob[token] == 0;) --token;
  } else {
    // Candidates: the tokens in the most probable buckets (first_cut), widened a bucket at a
    // time while the exact sums say the top k or the nucleus is not all there.
    int cut = first_cut(prob, V, k, (double)top_p * total);
    static_assert(sizeof(int32_t) == sizeof(float), "scratch holds ids in its second half");
    int32_t* idx = reinterpret_cast<int32_t*>(scratch + V);
    auto more_probable = [&](int32_t a, int32_t b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); };
    for (;; ++cut) {
      int c = 0;
      const float floor = cut < kBuckets - 1 ? bucket_floor(cut) : -1.0f;
      for (int v = 0; v < V; ++v) {  // branchless: idx[c] is overwritten until a token qualifies
        idx[c] = v;
        c += prob[v] >= floor;
      }
      int kept = std::min(k, c);
      if (kept < c) std::nth_element(idx, idx + kept, idx + c, more_probable);
      std::sort(idx, idx + kept, more_probable);
      double kept_mass = 0;
      for (int i = 0; i < kept; ++i) kept_mass += prob[idx[i]];
      // The top k are all here once c >= k; their mass is exact then, but with k == V the
      // candidates' mass is only a lower bound on the whole, so compare with the total.
      const double reach = (double)top_p * (k < V ? kept_mass : total);
      int n = 0;
      double cum = 0;
      while (n < kept && (n == 0 || cum < reach)) cum += prob[idx[n++]];
      const bool complete = k < V ? c >= k : cum >= reach;
      if (!complete && cut < kBuckets - 1) continue;
      // Draw: the first kept token whose cumulative probability exceeds u.
      const double target = (double)u * cum;
      token = idx[n - 1];
      double run = 0;
      for (int i = 0; i < n; ++i)
        if ((run += prob[idx[i]]) > target) {
          token = idx[i];
          break;
        }
      break;
    }
  }
  return token;
}

}  // namespace

int sample_token(const float* logits, int V, float temperature, int top_k, float top_p, float u, float* logprob,
                 float* scratch, int vocab_limit) {
  WS_CHECK_RANGE(vocab_limit >= 0 && vocab_limit <= V, "sample_token: vocab_limit must be in [0, ", V, "], got ",
                 vocab_limit);
  const int n = vocab_limit > 0 ? vocab_limit : V;
  float lmax = 0;
  double total = 0;
  const int token = draw(logits, n, temperature, top_k, top_p, u, scratch, &lmax, &total);
  const float inv_t = temperature <= 0 ? 1.0f : 1.0f / temperature;  // as draw() has it
  if (n == V) {
    if (logprob) *logprob = float((double)(logits[token] - lmax) * inv_t - std::log(total));
    return token;
  }
  // The ids past the limit: checked like the others, and folded into the logprob's normaliser.
  float m = lmax;
  for (int v = n; v < V; ++v) {
    WS_CHECK_RANGE(!std::isnan(logits[v]) && logits[v] != INFINITY, "sample_token: logits[", v, "] is ", logits[v]);
    m = std::max(m, logits[v]);
  }
  if (logprob) {
    double full = total * std::exp((double)(lmax - m) * inv_t);
    for (int v = n; v < V; ++v) full += std::exp((double)(logits[v] - m) * inv_t);
    *logprob = float((double)(logits[token] - m) * inv_t - std::log(full));
  }
  return token;
}

}  // namespace ws::cpu::WS_CPU_ISA
