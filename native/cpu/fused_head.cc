// The language-model head fused with the one objective (ops.h), chunk by chunk over tokens:
//   z = h_chunk · W^T / temperature                     (sgemm into the [chunk, V] scratch)
//   lse = max + log sum_v exp(z_v - max),  logp = z_y - lse
//   rho = exp(logp - old_logp)
//   L = -min(rho·A, clip(rho, 1-clip_low, 1+clip_high)·A)·w + beta·(e^(ref-logp) - (ref-logp) - 1)·w
// (old_logp null: rho = 1 and L = -A·logp·w + KL, the same gradient with a useful value)
// dL/dlogp = -A·rho (0 where the clip is active: A > 0, rho > 1+clip_high or A < 0, rho < 1-clip_low)
//            + beta·(1 - e^(ref-logp)),  times w,
// dlogp/dz_v = [v = y] - softmax(z)_v, and dz = dlogits / temperature, so the scratch is
// overwritten in place with g = dL/dlogits (/ normaliser), then dh += g · W and dW += g^T · h_chunk.
// Only one chunk of logits ever exists.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {
namespace {

// z[V] -> z[v] = exp(z[v] - max) in place; returns max and the sum (accumulated in double over
// blocks of float vector partial sums).
void exp_row(float* z, int V, float* max_out, double* sum_out) {
  namespace s = simd;
  int j = 0;
  s::vf vm = s::splat(-INFINITY);
  for (; j + s::W <= V; j += s::W) {
    s::vf x = s::load(z + j);
    vm = x > vm ? x : vm;
  }
  float mx = s::hmax(vm);
  for (; j < V; ++j) mx = std::max(mx, z[j]);
  const s::vf vmx = s::splat(mx);
  double sum = 0;
  for (int b = 0; b < V; b += 1024) {  // float lanes within a block, double across blocks
    const int e = std::min(V, b + 1024);
    s::vf acc{};
    for (j = b; j + s::W <= e; j += s::W) {
      s::vf x = s::exp(s::load(z + j) - vmx);
      s::store(z + j, x);
      acc += x;
    }
    double part = s::hsum(acc);
    for (; j < e; ++j) part += (z[j] = std::exp(z[j] - mx));
    sum += part;
  }
  *max_out = mx;
  *sum_out = sum;
}

}  // namespace

HeadResult fused_head(float* logp, float* dh, float* dW, const float* h, const float* W, const int32_t* targets, int T,
                      int C, int V, const HeadObjective& obj, int chunk, float* scratch) {
  WS_CHECK_RANGE(T >= 0 && C > 0 && V > 0, "fused_head: need T >= 0, C > 0, V > 0, got ", T, ", ", C, ", ", V);
  WS_CHECK_RANGE(chunk > 0, "fused_head: chunk must be > 0, got ", chunk);
  WS_CHECK_RANGE(obj.temperature > 0 && std::isfinite(obj.temperature), "fused_head: temperature must be > 0, got ",
                 obj.temperature);
  WS_CHECK_RANGE(obj.normaliser > 0 && std::isfinite(obj.normaliser), "fused_head: normaliser must be > 0, got ",
                 obj.normaliser);
  WS_CHECK_RANGE(obj.clip_low >= 0 && obj.clip_high >= 0, "fused_head: clip_low and clip_high must be >= 0");
  WS_CHECK_RANGE(std::isfinite(obj.beta), "fused_head: beta must be finite");
  HeadResult result;
  if (T == 0) return result;
  WS_CHECK_RANGE(h && W && targets, "fused_head: h, W and targets must not be null");
  for (int t = 0; t < T; ++t)
    WS_CHECK_RANGE(targets[t] < V, "fused_head: targets[", t, "] = ", targets[t], " is >= V = ", V);

  const bool backward = dh || dW;
  const int rows_max = std::min(chunk, T);
  std::vector<float> own;
  if (!scratch) {
    own.resize((size_t)rows_max * V);
    scratch = own.data();
  }
  std::vector<float> row_max(rows_max), coef(rows_max), lp(rows_max);
  std::vector<double> row_sum(rows_max);
  const float inv_temp = 1.0f / obj.temperature;
  double loss = 0;

  for (int t0 = 0; t0 < T; t0 += chunk) {
    const int n = std::min(chunk, T - t0);
    sgemm(false, true, n, V, C, inv_temp, h + (size_t)t0 * C, C, W, C, 0.0f, scratch, V);

    // logp per row; the row becomes exp(z - max).
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* z = scratch + (size_t)i * V;
        const int y = targets[t0 + i];
        const float zy = y >= 0 ? z[y] : 0.0f;
        exp_row(z, V, &row_max[i], &row_sum[i]);
        lp[i] = y >= 0 ? float(zy - (row_max[i] + std::log(row_sum[i]))) : 0.0f;
      }
    });

    // The token objective, in token order (deterministic sum).
    bool any = false;
    for (int i = 0; i < n; ++i) {
      const int t = t0 + i;
      if (logp) logp[t] = lp[i];
      const double w = obj.weights ? obj.weights[t] : 1.0;
      coef[i] = 0.0f;
      if (targets[t] < 0 || w == 0.0) continue;
      const double A = obj.advantages ? obj.advantages[t] : 1.0;
      const double rho = obj.old_logp ? std::exp((double)lp[i] - obj.old_logp[t]) : 1.0;
      const double rho_clip = std::clamp(rho, 1.0 - obj.clip_low, 1.0 + obj.clip_high);
      const bool clipped = (A > 0 && rho > 1.0 + obj.clip_high) || (A < 0 && rho < 1.0 - obj.clip_low);
      // On-policy (no old_logp): report -A·logp, same gradient as -rho·A at rho = 1 (ops.h).
      double L = obj.old_logp ? -std::min(rho * A, rho_clip * A) : -A * lp[i];
      double dL = clipped ? 0.0 : -A * rho;
      if (obj.ref_logp) {
        const double d = (double)obj.ref_logp[t] - lp[i];
        L += obj.beta * (std::exp(d) - d - 1.0);
        dL += obj.beta * (1.0 - std::exp(d));
      }
      loss += L * w;
      result.clipped += clipped;
      coef[i] = float(dL * w / obj.normaliser * inv_temp);
      any |= coef[i] != 0.0f;
    }
    if (!backward || !any) continue;

    // g[i, v] = coef_i · ([v = y] - softmax_v), in place over exp(z - max).
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* g = scratch + (size_t)i * V;
        if (coef[i] == 0.0f) {
          std::fill(g, g + V, 0.0f);
          continue;
        }
        const float scale = float(-coef[i] / row_sum[i]);
        for (int v = 0; v < V; ++v) g[v] *= scale;
        g[targets[t0 + i]] += coef[i];
      }
    });
    if (dh) sgemm(false, false, n, C, V, 1.0f, scratch, V, W, C, 1.0f, dh + (size_t)t0 * C, C);
    if (dW) sgemm(true, false, V, C, n, 1.0f, scratch, V, h + (size_t)t0 * C, C, 1.0f, dW, C);
  }
  result.loss = loss / obj.normaliser;
  return result;
}

}  // namespace ws::cpu::WS_CPU_ISA
