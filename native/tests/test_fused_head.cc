// Fused head: against an unfused reference in double (full logits, log_softmax, gather, the
// objective, its gradient through the full softmax), finite-difference gradients for h and W
// under SFT, clipped policy gradients (rho on both sides of the clip, both signs of A) and k3 KL,
// chunk sizes that do and don't divide T, ignored targets, and the peak heap of one call, counted
// by replacing the global operator new: one chunk of logits, never [T, V].
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

// ---- heap accounting: every operator new records its size in a header --------------------------
namespace {
std::atomic<int64_t> g_live{0}, g_peak{0};
void* counted_alloc(size_t n, size_t align) {
  align = align < 16 ? 16 : align;
  char* base = static_cast<char*>(std::aligned_alloc(align, (n + 2 * align - 1) / align * align));
  if (!base) throw std::bad_alloc();
  reinterpret_cast<size_t*>(base + align)[-1] = n;
  reinterpret_cast<size_t*>(base + align)[-2] = align;
  int64_t live = g_live += (int64_t)n, peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  return base + align;
}
void counted_free(void* p) {
  if (!p) return;
  size_t n = static_cast<size_t*>(p)[-1], align = static_cast<size_t*>(p)[-2];
  g_live -= (int64_t)n;
  std::free(static_cast<char*>(p) - align);
}
}  // namespace
void* operator new(size_t n) { return counted_alloc(n, 16); }
void* operator new[](size_t n) { return counted_alloc(n, 16); }
void* operator new(size_t n, std::align_val_t a) { return counted_alloc(n, (size_t)a); }
void* operator new[](size_t n, std::align_val_t a) { return counted_alloc(n, (size_t)a); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

struct Problem {
  int T, C, V;
  std::vector<float> h, W, weights, adv, old_logp, ref_logp;
  std::vector<int32_t> targets;
  HeadObjective obj;
};

// Unfused reference in double: logits [T, V], log_softmax, gather, the objective; optionally the
// gradients dh, dW through the full softmax. Returns the loss; fills logp and the clip count.
double reference(const Problem& p, std::vector<double>* logp, int64_t* clipped, std::vector<double>* dh = nullptr,
                 std::vector<double>* dW = nullptr) {
  const HeadObjective& o = p.obj;
  std::vector<double> z(p.V);
  double loss = 0;
  if (logp) logp->assign(p.T, 0.0);
  if (clipped) *clipped = 0;
  if (dh) dh->assign((size_t)p.T * p.C, 0.0);
  if (dW) dW->assign((size_t)p.V * p.C, 0.0);
  for (int t = 0; t < p.T; ++t) {
    double mx = -1e300;
    for (int v = 0; v < p.V; ++v) {
      double s = 0;
      for (int c = 0; c < p.C; ++c) s += (double)p.h[(size_t)t * p.C + c] * p.W[(size_t)v * p.C + c];
      z[v] = s / o.temperature;
      mx = std::max(mx, z[v]);
    }
    double se = 0;
    for (int v = 0; v < p.V; ++v) se += std::exp(z[v] - mx);
    const double lse = mx + std::log(se);
    const int y = p.targets[t];
    if (y < 0) continue;
    const double lp = z[y] - lse;
    if (logp) (*logp)[t] = lp;
    const double w = o.weights ? o.weights[t] : 1.0, A = o.advantages ? o.advantages[t] : 1.0;
    if (w == 0) continue;
    const double rho = o.old_logp ? std::exp(lp - o.old_logp[t]) : 1.0;
    const double rc = std::min(std::max(rho, 1.0 - o.clip_low), 1.0 + o.clip_high);
    double L = o.old_logp ? -std::min(rho * A, rc * A) : -A * lp;  // on-policy: -A·logp (ops.h)
    bool clip = rc * A < rho * A;                                  // the clipped term is the min and it is constant
    double dL = clip ? 0.0 : -A * rho;
    if (clipped) *clipped += clip;
    if (o.ref_logp) {
      double d = o.ref_logp[t] - lp;
      L += o.beta * (std::exp(d) - d - 1);
      dL += o.beta * (1 - std::exp(d));
    }
    loss += L * w;
    if (!dh && !dW) continue;
    const double g = dL * w / o.normaliser / o.temperature;
    for (int v = 0; v < p.V; ++v) {
      const double gz = g * ((v == y) - std::exp(z[v] - lse));
      for (int c = 0; c < p.C; ++c) {
        if (dh) (*dh)[(size_t)t * p.C + c] += gz * p.W[(size_t)v * p.C + c];
        if (dW) (*dW)[(size_t)v * p.C + c] += gz * p.h[(size_t)t * p.C + c];
      }
    }
  }
  return loss / o.normaliser;
}

enum class Kind { SFT, PG, KL };

// A random problem. PG: rho = exp(logp - old_logp) is set to values on both sides of the clip
// range [0.8, 1.2] and inside it, with advantages of both signs; KL adds a reference policy.
Problem make(Kind kind, int T, int C, int V, uint64_t seed, float temperature = 1.0f) {
  Problem p;
  p.T = T, p.C = C, p.V = V;
  p.h = wstest::randn((size_t)T * C, seed, 0.6f);
  p.W = wstest::randn((size_t)V * C, seed + 1, 0.6f);
  ws::Rng r(seed + 2);
  for (int t = 0; t < T; ++t) p.targets.push_back(t % 5 == 3 ? -100 : int(r.next_u64() % V));
  p.weights.resize(T);
  for (int t = 0; t < T; ++t) p.weights[t] = t % 4 == 1 ? 0.0f : 1.0f;
  p.obj.weights = p.weights.data();
  p.obj.temperature = temperature;
  p.obj.normaliser = 0;
  for (float w : p.weights) p.obj.normaliser += w;
  if (kind == Kind::SFT) return p;
  std::vector<double> lp;
  reference(p, &lp, nullptr);
  const double rhos[] = {0.5, 0.9, 1.05, 1.6, 0.7, 1.3};
  const float advs[] = {1.0f, -0.5f, 0.75f, -1.25f, 0.3f};
  for (int t = 0; t < T; ++t) {
    p.adv.push_back(advs[t % 5]);
    p.old_logp.push_back(float(lp[t] - std::log(rhos[t % 6])));
    p.ref_logp.push_back(float(lp[t] + 0.3 * r.normal()));
  }
  p.obj.advantages = p.adv.data();
  p.obj.old_logp = p.old_logp.data();
  p.obj.clip_low = 0.2f;
  p.obj.clip_high = 0.28f;
  p.obj.normaliser = 2.0f * T;
  if (kind == Kind::KL) {
    p.obj.ref_logp = p.ref_logp.data();
    p.obj.beta = 0.1f;
  }
  return p;
}

struct Out {
  std::vector<float> logp, dh, dW;
  HeadResult res;
};

Out run(const Problem& p, int chunk, bool grads = true, float* scratch = nullptr) {
  Out o;
  o.logp.assign(p.T, 7.0f);
  o.dh.assign((size_t)p.T * p.C, 0.0f);
  o.dW.assign((size_t)p.V * p.C, 0.0f);
  o.res = fused_head(o.logp.data(), grads ? o.dh.data() : nullptr, grads ? o.dW.data() : nullptr, p.h.data(),
                     p.W.data(), p.targets.data(), p.T, p.C, p.V, p.obj, chunk, scratch);
  return o;
}

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

}  // namespace

TEST(agrees_with_unfused_reference) {
  for (int backend : {1, 2}) {
    if (backend == 2 && !have_blas()) continue;
    set_sgemm_backend(backend);
    for (Kind kind : {Kind::SFT, Kind::PG, Kind::KL})
      for (float temperature : {1.0f, 0.7f}) {
        Problem p = make(kind, 13, 24, 150, 100 + int(kind), temperature);
        std::vector<double> lp, dh, dW;
        int64_t clipped;
        double loss = reference(p, &lp, &clipped, &dh, &dW);
        if (kind != Kind::SFT) CHECK(clipped > 0);
        for (int chunk : {1, 4, 5, 13, 64}) {  // 4 and 5 do not divide T = 13
          Out o = run(p, chunk);
          CHECK(wstest::allclose(o.logp.data(), to_float(lp).data(), p.T, 1e-5f, 1e-5f, "logp"));
          CHECK_NEAR(o.res.loss, loss, 1e-5 * (1 + std::fabs(loss)));
          CHECK(o.res.clipped == clipped);
          CHECK(wstest::allclose(o.dh.data(), to_float(dh).data(), dh.size(), 1e-5f, 1e-4f, "dh"));
          CHECK(wstest::allclose(o.dW.data(), to_float(dW).data(), dW.size(), 1e-5f, 1e-4f, "dW"));
        }
      }
  }
  set_sgemm_backend(0);
}

TEST(gradcheck_h_and_W) {
  for (Kind kind : {Kind::SFT, Kind::PG, Kind::KL}) {
    Problem p = make(kind, 10, 8, 40, 200 + int(kind), kind == Kind::KL ? 0.8f : 1.0f);
    Out o = run(p, 3);
    auto loss = [&] { return reference(p, nullptr, nullptr); };
    const char* names[] = {"SFT", "PG", "KL"};
    std::printf("  %s\n", names[int(kind)]);
    CHECK(wstest::gradcheck(p.h, o.dh, loss, "dh", 1e-3, 1e-5, 1e-3, 200));
    CHECK(wstest::gradcheck(p.W, o.dW, loss, "dW", 1e-3, 1e-5, 1e-3, 200));
  }
}

TEST(backward_accumulates_and_ignored_targets_are_inert) {
  Problem p = make(Kind::PG, 11, 8, 30, 300);
  Out fresh = run(p, 4);
  auto dh = wstest::randn(fresh.dh.size(), 301), dW = wstest::randn(fresh.dW.size(), 302);
  auto dh0 = dh, dW0 = dW;
  fused_head(nullptr, dh.data(), dW.data(), p.h.data(), p.W.data(), p.targets.data(), p.T, p.C, p.V, p.obj, 4, nullptr);
  for (size_t i = 0; i < dh.size(); ++i) dh[i] -= dh0[i];
  for (size_t i = 0; i < dW.size(); ++i) dW[i] -= dW0[i];
  CHECK(wstest::allclose(dh.data(), fresh.dh.data(), dh.size(), 1e-6f, 1e-5f, "accumulated dh"));
  CHECK(wstest::allclose(dW.data(), fresh.dW.data(), dW.size(), 1e-6f, 1e-5f, "accumulated dW"));
  for (int t = 0; t < p.T; ++t) {
    bool inert = p.targets[t] < 0 || p.weights[t] == 0.0f;
    bool zero_row = true;
    for (int c = 0; c < p.C; ++c) zero_row &= fresh.dh[(size_t)t * p.C + c] == 0.0f;
    if (inert) CHECK(zero_row);  // (clipped tokens have zero rows too)
    if (p.targets[t] < 0) CHECK(fresh.logp[t] == 0.0f);
  }
  // Without gradients: the same logp and loss.
  Out fwd = run(p, 4, false);
  CHECK(fwd.logp == fresh.logp);
  CHECK(fwd.res.loss == fresh.res.loss);
}

TEST(sft_without_old_logp_is_cross_entropy) {
  Problem p = make(Kind::SFT, 9, 8, 25, 400);
  Out o = run(p, 2);
  double ce = 0;
  for (int t = 0; t < p.T; ++t)
    if (p.targets[t] >= 0) ce -= p.weights[t] * o.logp[t];
  CHECK_NEAR(o.res.loss, ce / p.obj.normaliser, 1e-6);
  CHECK(o.res.clipped == 0);
}

TEST(peak_heap_is_one_chunk) {
  set_sgemm_backend(1);  // OpenBLAS allocates outside operator new; count ours
  const int T = 96, C = 16, V = 2000, chunk = 8;
  Problem p = make(Kind::PG, T, C, V, 500);
  const int64_t chunk_bytes = (int64_t)chunk * V * 4, small = 16 << 10;
  CHECK(chunk_bytes + small < (int64_t)T * V * 4);  // the bound is well below full logits
  std::vector<float> scratch((size_t)chunk * V);
  Out o = run(p, chunk);  // warm-up: SGEMM's per-thread packing buffers (bounded by its cache blocks)
  for (bool own : {true, false}) {
    int64_t before = g_live.load();
    g_peak = before;
    HeadResult r = fused_head(o.logp.data(), o.dh.data(), o.dW.data(), p.h.data(), p.W.data(), p.targets.data(), T, C,
                              V, p.obj, chunk, own ? nullptr : scratch.data());
    int64_t extra = g_peak.load() - before;
    std::printf("  scratch %s: peak extra heap %lld bytes (one chunk = %lld, full logits = %lld)\n",
                own ? "internal" : "given", (long long)extra, (long long)chunk_bytes, (long long)T * V * 4);
    CHECK(r.loss == o.res.loss);
    CHECK(extra <= (own ? chunk_bytes : 0) + small);
    if (own) CHECK(extra >= chunk_bytes);  // it did allocate its one chunk, and the counter saw it
  }
  set_sgemm_backend(0);
}

TEST(bad_arguments_throw) {
  Problem p = make(Kind::SFT, 4, 4, 10, 600);
  auto call = [&](int chunk, HeadObjective o, int V) {
    fused_head(nullptr, nullptr, nullptr, p.h.data(), p.W.data(), p.targets.data(), p.T, p.C, V, o, chunk, nullptr);
  };
  CHECK_THROWS(call(0, p.obj, p.V));
  HeadObjective o = p.obj;
  o.temperature = 0;
  CHECK_THROWS(call(2, o, p.V));
  o = p.obj;
  o.normaliser = 0;
  CHECK_THROWS(call(2, o, p.V));
  o = p.obj;
  o.clip_low = -0.1f;
  CHECK_THROWS(call(2, o, p.V));
  p.targets[2] = 10;  // == V
  std::vector<float> logp(p.T, 5.0f);
  CHECK_THROWS(fused_head(logp.data(), nullptr, nullptr, p.h.data(), p.W.data(), p.targets.data(), p.T, p.C, p.V, p.obj,
                          2, nullptr));
  CHECK(logp == std::vector<float>(p.T, 5.0f));  // checked before anything is written
}

int main() { return wstest::run_tests(); }
