// Sampling one token from logits[V]:
//   z = logits / temperature;  p = softmax(z)
//   keep the top_k most probable tokens (top_k <= 0 or >= V: all), then, over those renormalised,
//   the smallest most-probable prefix whose probability reaches top_p (at least one token), as
//   Hugging Face's TopK then TopP warpers do; renormalise and take the first kept token (in
//   descending probability, ties to the lower id) whose cumulative probability exceeds u.
//   logprob = log_softmax(z)[token] over the whole vocab. temperature <= 0: argmax (first one),
//   logprob at temperature 1.
// Sorting is partial: the top-k set by nth_element, the nucleus by partial sorts of a growing
// prefix (64, 128, ...), which stays short for peaked distributions.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "ops.h"

namespace ws::cpu {

int sample_token(const float* logits, int V, float temperature, int top_k, float top_p, float u,
                 float* logprob, float* scratch) {
  WS_CHECK_RANGE(V > 0, "sample_token: V must be > 0, got ", V);
  WS_CHECK_RANGE(logits, "sample_token: logits must not be null");
  WS_CHECK_RANGE(!std::isnan(temperature), "sample_token: temperature is NaN");
  WS_CHECK_RANGE(top_p > 0 && top_p <= 1, "sample_token: top_p must be in (0, 1], got ", top_p);
  WS_CHECK_RANGE(u >= 0 && u < 1, "sample_token: u must be in [0, 1), got ", u);
  const bool greedy = temperature <= 0;
  const float inv_t = greedy ? 1.0f : 1.0f / temperature;
  WS_CHECK_RANGE(std::isfinite(inv_t), "sample_token: temperature ", temperature, " is too small");

  int best = 0;
  for (int v = 0; v < V; ++v) {
    WS_CHECK_RANGE(!std::isnan(logits[v]) && logits[v] != INFINITY, "sample_token: logits[", v, "] is ", logits[v]);
    if (logits[v] > logits[best]) best = v;
  }
  WS_CHECK_RANGE(logits[best] > -INFINITY, "sample_token: every logit is -inf");
  const float lmax = logits[best];

  // Unnormalised probabilities e^(z - max) and their sum.
  std::vector<float> own;
  if (!scratch) {
    own.resize(2 * (size_t)V);
    scratch = own.data();
  }
  float* prob = scratch;
  double total = 0;
  for (int v = 0; v < V; ++v) total += (prob[v] = std::exp((logits[v] - lmax) * inv_t));
  auto log_prob = [&](int token) { return float((double)(logits[token] - lmax) * inv_t - std::log(total)); };
  if (greedy) {
    if (logprob) *logprob = log_prob(best);
    return best;
  }

  // Kept tokens, most probable first (ties: lower id first).
  static_assert(sizeof(int32_t) == sizeof(float), "scratch holds ids in its second half");
  int32_t* idx = reinterpret_cast<int32_t*>(scratch + V);
  for (int v = 0; v < V; ++v) idx[v] = v;
  auto more_probable = [&](int32_t a, int32_t b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); };
  const int k = top_k > 0 && top_k < V ? top_k : V;
  double kept_mass = total;
  if (k < V) {
    std::nth_element(idx, idx + k, idx + V, more_probable);
    kept_mass = 0;
    for (int i = 0; i < k; ++i) kept_mass += prob[idx[i]];
  }
  int n = k;  // nucleus size
  double nucleus_mass = kept_mass;
  if (top_p < 1) {
    const double reach = (double)top_p * kept_mass;
    for (int m = std::min(k, 64);; m = std::min(2 * m, k)) {
      std::partial_sort(idx, idx + m, idx + k, more_probable);
      double cum = 0;
      int i = 0;
      while (i < m && cum < reach) cum += prob[idx[i++]];
      if (cum >= reach || m == k) {
        n = i;
        nucleus_mass = cum;
        break;
      }
    }
  } else if (k < V) {
    std::sort(idx, idx + k, more_probable);
  }

  // Draw: the first kept token whose cumulative probability exceeds u.
  const double target = (double)u * nucleus_mass;
  int token = idx[n - 1];
  double cum = 0;
  for (int i = 0; i < n; ++i) {
    cum += prob[idx[i]];
    if (cum > target) {
      token = idx[i];
      break;
    }
  }
  if (logprob) *logprob = log_prob(token);
  return token;
}

}  // namespace ws::cpu
