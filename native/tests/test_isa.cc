// The two instruction-set levels of the CPU kernels (native/cpu/isa.h: the AVX2 baseline and
// AVX-512) give bitwise the same outputs for every dispatched op, on random inputs at shapes with
// vector tails, partial GEMM tiles (both levels' tile widths), K beyond one cache block (so C is
// accumulated with beta = 1), packed attention sequences, and 1 and 2 threads. Where the CPU has
// no AVX-512 the comparison cannot run; the test says so and checks the dispatch instead.
#include <cstring>
#include <vector>

#include "core/threadpool.h"
#include "cpu/isa_ops.h"
#include "test_util.h"

using namespace ws::cpu;
using wstest::randn;
using wstest::uniform;

namespace {

struct Level {
#define WS_FIELD(op) decltype(&base::op) op;
  WS_CPU_ISA_OPS(WS_FIELD)
#undef WS_FIELD
};
#define WS_BASE(op) &base::op,
const Level kBase = {WS_CPU_ISA_OPS(WS_BASE)};
#undef WS_BASE
#ifdef WS_CPU_AVX512
#define WS_AVX512(op) &avx512::op,
const Level kAvx512 = {WS_CPU_ISA_OPS(WS_AVX512)};
#undef WS_AVX512
#endif

bool have_avx512() { return std::string(cpu_isas_available()).find("avx512") != std::string::npos; }

// Runs `run` on both levels (fresh outputs each time) and checks the results' bits are equal.
// `run` returns every output it produced, concatenated.
template <class Run>
void same_bits(const char* what, Run run) {
#ifdef WS_CPU_AVX512
  if (!have_avx512()) return;
  for (int threads : {1, 2}) {
    ws::set_num_threads(threads);
    std::vector<float> a = run(kBase), b = run(kAvx512);
    CHECK(a.size() == b.size() && !a.empty());
    size_t i = 0;
    while (i < a.size() && std::memcmp(&a[i], &b[i], sizeof(float)) == 0) ++i;
    if (i < a.size())
      std::printf("  %s (%d threads): output %zu: avx2 %.9g avx512 %.9g\n", what, threads, i, a[i], b[i]);
    CHECK(i == a.size());
  }
#else
  (void)what, (void)run;
#endif
}

std::vector<float> cat(std::initializer_list<const std::vector<float>*> parts) {
  std::vector<float> out;
  for (auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

}  // namespace

TEST(dispatch_picks_the_best_level_or_the_forced_one) {
  const char* env = std::getenv("WARMSTART_ISA");
  const std::string isa = cpu_isa(), available = cpu_isas_available();
  if (env && *env)
    CHECK(isa == env);
  else
    CHECK(available.rfind(isa, 0) == 0);  // the first (best) of the available levels
  std::printf("  isa %s (available: %s)\n", isa.c_str(), available.c_str());
}

TEST(matmul_forward_and_backward) {
  for (int M : {3, 37})
    for (int K : {31, 300})
      for (int N : {8, 45}) {
        auto x = randn((size_t)M * K, 1), w = randn((size_t)N * K, 2), bias = randn(N, 3),
             dout = randn((size_t)M * N, 4);
        same_bits("matmul", [&](const Level& L) {
          std::vector<float> out(M * N), dx = randn((size_t)M * K, 5), dw = randn((size_t)N * K, 6), db = randn(N, 7);
          L.matmul_forward(out.data(), x.data(), w.data(), bias.data(), M, K, N);
          L.matmul_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), M, K, N);
          return cat({&out, &dx, &dw, &db});
        });
      }
}

TEST(sgemm_ours_every_transpose) {
  const int M = 29, N = 70, K = 513;
  auto a = randn((size_t)M * K, 11), b = randn((size_t)K * N, 12);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      same_bits("sgemm_ours", [&](const Level& L) {
        std::vector<float> c = randn((size_t)M * N, 13);
        L.sgemm_ours(ta, tb, M, N, K, 0.7f, a.data(), ta ? M : K, b.data(), tb ? K : N, 1.3f, c.data(), N);
        return c;
      });
}

TEST(gemv_rows) {
  for (int M : {1, 5, 16})
    for (int K : {16, 901})
      for (int N : {8, 67}) {
        auto x = randn((size_t)M * K, 21), w = randn((size_t)N * K, 22), bias = randn(N, 23);
        same_bits("gemv_rows", [&](const Level& L) {
          std::vector<float> out(M * N);
          L.gemv_rows(out.data(), x.data(), w.data(), bias.data(), M, K, N);
          return out;
        });
      }
}

TEST(attention_forward_backward_decode) {
  for (int D : {17, 40, 64}) {
    const int Hq = 4, Hkv = 2;
    const std::vector<int32_t> cu = {0, 70, 105};
    const int T = cu.back(), ns = (int)cu.size() - 1;
    auto q = randn((size_t)T * Hq * D, 31), k = randn((size_t)T * Hkv * D, 32), v = randn((size_t)T * Hkv * D, 33);
    auto dout = randn((size_t)T * Hq * D, 34);
    same_bits("attention", [&](const Level& L) {
      std::vector<float> out((size_t)T * Hq * D), lse((size_t)T * Hq);
      L.attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), cu.data(), ns, T, Hq, Hkv, D);
      std::vector<float> dq = randn(q.size(), 35), dk = randn(k.size(), 36), dv = randn(v.size(), 37);
      L.attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(),
                           lse.data(), cu.data(), ns, T, Hq, Hkv, D);
      const int B = 3, max_len = 50;
      const std::vector<int32_t> lens = {50, 17, 1};
      auto qd = randn((size_t)B * Hq * D, 38), kc = randn((size_t)B * max_len * Hkv * D, 39);
      auto vc = randn(kc.size(), 40);
      std::vector<float> od((size_t)B * Hq * D);
      L.attention_decode(od.data(), qd.data(), kc.data(), vc.data(), lens.data(), B, max_len, Hq, Hkv, D);
      return cat({&out, &lse, &dq, &dk, &dv, &od});
    });
  }
}

TEST(norm_rope_swiglu_embedding) {
  for (int C : {83, 128}) {
    const int T = 13, H = 3, D = 18, V = 29;
    auto x = randn((size_t)T * C, 41), w = randn(C, 42), dout = randn((size_t)T * C, 43);
    auto xr = randn((size_t)T * H * D, 44), dr = randn((size_t)T * H * D, 45);
    std::vector<int32_t> pos(T), tok(T);
    for (int t = 0; t < T; ++t) pos[t] = 3 * t + 1, tok[t] = (7 * t) % V;
    const int64_t N = 1037;
    auto g = randn(N, 46, 4.0f), u = randn(N, 47), dn = randn(N, 48);
    auto wte = randn((size_t)V * C, 49);
    same_bits("elementwise", [&](const Level& L) {
      std::vector<float> y((size_t)T * C), rstd(T), dx = randn(x.size(), 50), dw = randn(C, 51);
      L.rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), T, C, 1e-6f);
      L.rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), T, C);
      std::vector<float> r(xr.size()), drx = randn(xr.size(), 52);
      L.rope_forward(r.data(), xr.data(), pos.data(), T, H, D, 10000.0f);
      L.rope_backward(drx.data(), dr.data(), pos.data(), T, H, D, 10000.0f);
      std::vector<float> s(N), dg = randn(N, 53), du = randn(N, 54);
      L.swiglu_forward(s.data(), g.data(), u.data(), N);
      L.swiglu_backward(dg.data(), du.data(), dn.data(), g.data(), u.data(), N);
      std::vector<float> e((size_t)T * C), dwte = randn(wte.size(), 55);
      L.embedding_forward(e.data(), tok.data(), wte.data(), T, C, V);
      L.embedding_backward(dwte.data(), dout.data(), tok.data(), T, C, V);
      return cat({&y, &rstd, &dx, &dw, &r, &drx, &s, &dg, &du, &e, &dwte});
    });
  }
}

TEST(fused_head_policy_gradient) {
  for (int C : {37, 64}) {
    const int T = 21, V = 333;
    auto h = randn((size_t)T * C, 61), W = randn((size_t)V * C, 62, 0.3f);
    auto adv = randn(T, 63), old_logp = uniform(T, 64, -8.0f, -1.0f), ref = uniform(T, 65, -8.0f, -1.0f);
    auto wts = uniform(T, 66, 0.0f, 1.0f);
    std::vector<int32_t> targets(T);
    for (int t = 0; t < T; ++t) targets[t] = t == 5 ? -100 : (t * 37) % V;
    HeadObjective obj;
    obj.weights = wts.data(), obj.advantages = adv.data(), obj.old_logp = old_logp.data(), obj.ref_logp = ref.data();
    obj.beta = 0.04f, obj.normaliser = 17.0f, obj.temperature = 0.9f;
    same_bits("fused_head", [&](const Level& L) {
      std::vector<float> logp(T), dh = randn(h.size(), 67), dW = randn(W.size(), 68);
      HeadResult r =
          L.fused_head(logp.data(), dh.data(), dW.data(), h.data(), W.data(), targets.data(), T, C, V, obj, 8, nullptr);
      std::vector<float> res = {(float)r.loss, (float)(r.loss - (float)r.loss), (float)r.clipped};
      return cat({&logp, &dh, &dW, &res});
    });
  }
}

TEST(adamw_grad_norm_sampling) {
  const int64_t n = 1003;
  auto grad = randn(n, 71), logits = randn(1001, 72, 3.0f);
  same_bits("optimizer_and_sampling", [&](const Level& L) {
    std::vector<float> p = randn(n, 73), m = randn(n, 74, 0.1f), v = uniform(n, 75, 0.0f, 0.1f);
    L.adamw_step(p.data(), grad.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f);
    const double sq = L.grad_norm_sq(grad.data(), n);
    std::vector<float> out = {(float)sq, (float)(sq - (float)sq), L.clip_scale(sq, 1.0f)};
    for (float u : {0.01f, 0.37f, 0.93f}) {
      float logprob = 0;
      int tok = L.sample_token(logits.data(), 1001, 0.8f, 50, 0.9f, u, &logprob, nullptr, 0);
      out.push_back((float)tok), out.push_back(logprob);
      tok = L.sample_token(logits.data(), 1001, 1.0f, 0, 1.0f, u, &logprob, nullptr, 900);  // a vocabulary limit
      out.push_back((float)tok), out.push_back(logprob);
    }
    return cat({&p, &m, &v, &out});
  });
}

int main() {
  if (!have_avx512()) std::printf("  this CPU has no AVX-512: the levels cannot be compared here\n");
  return wstest::run_tests();
}
