// attention: forward (out and lse) against a naive O(T^2) double reference; finite-difference
// gradients of q, k, v; += accumulation; a packed batch equals its sequences run one by one
// (forward and backward, bit for bit); GQA head mapping equals MHA with repeated kv heads;
// decode equals the last row of the full forward; same bits for any thread count; bad shapes.
#include <algorithm>

#include "../core/threadpool.h"
#include "../cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

namespace {

struct Batch {
  std::vector<int32_t> cu;
  int T, Hq, Hkv, D;
  std::vector<float> q, k, v;
  int ns() const { return (int)cu.size() - 1; }
};

Batch make_batch(const std::vector<int>& lens, int Hq, int Hkv, int D, uint64_t seed) {
  Batch b;
  b.cu = {0};
  for (int l : lens) b.cu.push_back(b.cu.back() + l);
  b.T = b.cu.back();
  b.Hq = Hq;
  b.Hkv = Hkv;
  b.D = D;
  b.q = wstest::randn((size_t)b.T * Hq * D, seed);
  b.k = wstest::randn((size_t)b.T * Hkv * D, seed + 1);
  b.v = wstest::randn((size_t)b.T * Hkv * D, seed + 2);
  return b;
}

void forward(const Batch& b, std::vector<float>& out, std::vector<float>& lse) {
  out.assign((size_t)b.T * b.Hq * b.D, NAN);
  lse.assign((size_t)b.T * b.Hq, NAN);
  attention_forward(out.data(), lse.data(), b.q.data(), b.k.data(), b.v.data(), b.cu.data(), b.ns(), b.T, b.Hq, b.Hkv,
                    b.D);
}

// Naive causal attention in double, straight from the definition.
void naive(const Batch& b, std::vector<float>& out, std::vector<float>& lse) {
  const int Hq = b.Hq, Hkv = b.Hkv, D = b.D;
  out.assign((size_t)b.T * Hq * D, 0.0f);
  lse.assign((size_t)b.T * Hq, 0.0f);
  const double scale = 1.0 / std::sqrt((double)D);
  for (int s = 0; s < b.ns(); ++s)
    for (int i = b.cu[s]; i < b.cu[s + 1]; ++i)
      for (int h = 0; h < Hq; ++h) {
        const int g = h / (Hq / Hkv);
        std::vector<double> sc;
        for (int j = b.cu[s]; j <= i; ++j) {
          double d = 0;
          for (int c = 0; c < D; ++c)
            d += (double)b.q[((size_t)i * Hq + h) * D + c] * b.k[((size_t)j * Hkv + g) * D + c];
          sc.push_back(d * scale);
        }
        double mx = *std::max_element(sc.begin(), sc.end()), sum = 0;
        for (double& x : sc) sum += (x = std::exp(x - mx));
        lse[(size_t)i * Hq + h] = (float)(mx + std::log(sum));
        for (int c = 0; c < D; ++c) {
          double o = 0;
          for (int j = b.cu[s]; j <= i; ++j) o += sc[j - b.cu[s]] / sum * b.v[((size_t)j * Hkv + g) * D + c];
          out[((size_t)i * Hq + h) * D + c] = (float)o;
        }
      }
}

struct Grads {
  std::vector<float> dq, dk, dv;
};

Grads backward(const Batch& b, const std::vector<float>& dout, const Grads* init = nullptr) {
  std::vector<float> out, lse;
  forward(b, out, lse);
  Grads g = init ? *init
                 : Grads{std::vector<float>(b.q.size(), 0.0f), std::vector<float>(b.k.size(), 0.0f),
                         std::vector<float>(b.v.size(), 0.0f)};
  attention_backward(g.dq.data(), g.dk.data(), g.dv.data(), dout.data(), b.q.data(), b.k.data(), b.v.data(), out.data(),
                     lse.data(), b.cu.data(), b.ns(), b.T, b.Hq, b.Hkv, b.D);
  return g;
}

// Rows [t0, t1) of a [T, H, D] tensor.
std::vector<float> rows(const std::vector<float>& x, int t0, int t1, int width) {
  return std::vector<float>(x.begin() + (size_t)t0 * width, x.begin() + (size_t)t1 * width);
}

}  // namespace

TEST(forward_matches_naive_reference) {
  // Lengths around the 64-row tile: partial tiles, exact tiles, an empty sequence.
  for (int D : {8, 64, 128}) {
    Batch b = make_batch({1, 63, 0, 64, 65, 150}, 6, 2, D, 10 + D);
    std::vector<float> out, lse, rout, rlse;
    forward(b, out, lse);
    naive(b, rout, rlse);
    CHECK(wstest::allclose(out.data(), rout.data(), out.size(), 2e-6f, 1e-5f, "out"));
    CHECK(wstest::allclose(lse.data(), rlse.data(), lse.size(), 2e-6f, 1e-5f, "lse"));
  }
}

TEST(backward_gradcheck) {
  Batch b = make_batch({5, 0, 70, 66}, 4, 2, 12, 20);
  auto r = wstest::randn((size_t)b.T * b.Hq * b.D, 23);
  Grads g = backward(b, r);
  std::vector<float> out, lse;
  auto loss = [&] {
    forward(b, out, lse);
    return wstest::dot(out.data(), r.data(), out.size());
  };
  CHECK(wstest::gradcheck(b.q, g.dq, loss, "dq", 1e-2, 3e-4, 3e-3, 200));
  CHECK(wstest::gradcheck(b.k, g.dk, loss, "dk", 1e-2, 3e-4, 3e-3, 200));
  CHECK(wstest::gradcheck(b.v, g.dv, loss, "dv", 1e-2, 3e-4, 3e-3, 200));
}

TEST(backward_accumulates_and_skips_null) {
  Batch b = make_batch({40, 90}, 4, 1, 16, 30);
  auto r = wstest::randn((size_t)b.T * b.Hq * b.D, 33);
  Grads zero = backward(b, r);
  Grads init{wstest::randn(b.q.size(), 34), wstest::randn(b.k.size(), 35), wstest::randn(b.v.size(), 36)};
  Grads acc = backward(b, r, &init);
  for (size_t i = 0; i < b.q.size(); ++i) CHECK_NEAR(acc.dq[i], init.dq[i] + zero.dq[i], 1e-5);
  for (size_t i = 0; i < b.k.size(); ++i) CHECK_NEAR(acc.dk[i], init.dk[i] + zero.dk[i], 1e-5);
  for (size_t i = 0; i < b.v.size(); ++i) CHECK_NEAR(acc.dv[i], init.dv[i] + zero.dv[i], 1e-5);
  // only dk requested: dq, dv untouched, dk the same as with all three
  std::vector<float> out, lse, dk(b.k.size(), 0.0f);
  forward(b, out, lse);
  attention_backward(nullptr, dk.data(), nullptr, r.data(), b.q.data(), b.k.data(), b.v.data(), out.data(), lse.data(),
                     b.cu.data(), b.ns(), b.T, b.Hq, b.Hkv, b.D);
  CHECK(dk == zero.dk);
}

TEST(packed_equals_one_by_one) {
  std::vector<int> lens = {3, 64, 0, 100, 129};
  Batch b = make_batch(lens, 4, 2, 16, 40);
  auto r = wstest::randn((size_t)b.T * b.Hq * b.D, 43);
  std::vector<float> out, lse;
  forward(b, out, lse);
  Grads g = backward(b, r);
  const int wq = b.Hq * b.D, wk = b.Hkv * b.D;
  for (int s = 0; s < b.ns(); ++s) {
    int t0 = b.cu[s], t1 = b.cu[s + 1];
    Batch one{{0, t1 - t0},         t1 - t0, b.Hq, b.Hkv, b.D, rows(b.q, t0, t1, wq), rows(b.k, t0, t1, wk),
              rows(b.v, t0, t1, wk)};
    std::vector<float> o1, l1;
    forward(one, o1, l1);
    CHECK(o1 == rows(out, t0, t1, wq));
    CHECK(l1 == rows(lse, t0, t1, b.Hq));
    Grads g1 = backward(one, rows(r, t0, t1, wq));
    CHECK(g1.dq == rows(g.dq, t0, t1, wq));
    CHECK(g1.dk == rows(g.dk, t0, t1, wk));
    CHECK(g1.dv == rows(g.dv, t0, t1, wk));
  }
  // and a token never sees the previous sequence: changing sequence 3 leaves sequence 4 alone
  Batch b2 = b;
  for (int t = b.cu[3]; t < b.cu[4]; ++t)
    for (int c = 0; c < wk; ++c) {
      b2.k[(size_t)t * wk + c] += 1.0f;
      b2.v[(size_t)t * wk + c] -= 2.0f;
    }
  std::vector<float> out2, lse2;
  forward(b2, out2, lse2);
  CHECK(rows(out2, b.cu[4], b.cu[5], wq) == rows(out, b.cu[4], b.cu[5], wq));
  CHECK(rows(out2, b.cu[3], b.cu[4], wq) != rows(out, b.cu[3], b.cu[4], wq));
}

TEST(gqa_equals_mha_with_repeated_kv_heads) {
  const int Hq = 6, Hkv = 2, D = 16, rep = Hq / Hkv;
  Batch b = make_batch({77, 20}, Hq, Hkv, D, 50);
  Batch m = b;  // query head h reads kv head h / rep
  m.Hkv = Hq;
  m.k.assign((size_t)b.T * Hq * D, 0.0f);
  m.v.assign((size_t)b.T * Hq * D, 0.0f);
  for (int t = 0; t < b.T; ++t)
    for (int h = 0; h < Hq; ++h)
      for (int c = 0; c < D; ++c) {
        m.k[((size_t)t * Hq + h) * D + c] = b.k[((size_t)t * Hkv + h / rep) * D + c];
        m.v[((size_t)t * Hq + h) * D + c] = b.v[((size_t)t * Hkv + h / rep) * D + c];
      }
  std::vector<float> o1, l1, o2, l2;
  forward(b, o1, l1);
  forward(m, o2, l2);
  CHECK(o1 == o2);
  auto r = wstest::randn(o1.size(), 53);
  Grads g1 = backward(b, r), g2 = backward(m, r);
  CHECK(wstest::allclose(g1.dq.data(), g2.dq.data(), g1.dq.size(), 0.0f, 0.0f, "dq"));
  std::vector<float> dk(b.k.size(), 0.0f), dv(b.v.size(), 0.0f);  // kv grads: sum over the group
  for (int t = 0; t < b.T; ++t)
    for (int h = 0; h < Hq; ++h)
      for (int c = 0; c < D; ++c) {
        dk[((size_t)t * Hkv + h / rep) * D + c] += g2.dk[((size_t)t * Hq + h) * D + c];
        dv[((size_t)t * Hkv + h / rep) * D + c] += g2.dv[((size_t)t * Hq + h) * D + c];
      }
  CHECK(wstest::allclose(g1.dk.data(), dk.data(), dk.size(), 1e-5f, 1e-5f, "dk"));
  CHECK(wstest::allclose(g1.dv.data(), dv.data(), dv.size(), 1e-5f, 1e-5f, "dv"));
}

TEST(decode_equals_last_row_of_forward) {
  const int Hq = 4, Hkv = 2, D = 32, max_len = 140;
  std::vector<int> lens = {1, 37, 130};
  Batch b = make_batch(lens, Hq, Hkv, D, 60);
  std::vector<float> out, lse;
  forward(b, out, lse);
  const int Bn = (int)lens.size(), wk = Hkv * D, wq = Hq * D;
  std::vector<float> kc((size_t)Bn * max_len * wk, 1e30f), vc(kc.size(), 1e30f);  // junk past lens
  std::vector<float> qd((size_t)Bn * wq), od((size_t)Bn * wq, NAN);
  for (int s = 0; s < Bn; ++s) {
    for (int j = 0; j < lens[s]; ++j)
      for (int c = 0; c < wk; ++c) {
        kc[((size_t)s * max_len + j) * wk + c] = b.k[(size_t)(b.cu[s] + j) * wk + c];
        vc[((size_t)s * max_len + j) * wk + c] = b.v[(size_t)(b.cu[s] + j) * wk + c];
      }
    std::copy_n(&b.q[(size_t)(b.cu[s + 1] - 1) * wq], wq, &qd[(size_t)s * wq]);
  }
  attention_decode(od.data(), qd.data(), kc.data(), vc.data(), lens.data(), Bn, max_len, Hq, Hkv, D);
  for (int s = 0; s < Bn; ++s)
    CHECK(wstest::allclose(&od[(size_t)s * wq], &out[(size_t)(b.cu[s + 1] - 1) * wq], wq, 1e-6f, 1e-5f, "decode"));
}

TEST(same_bits_for_any_thread_count) {
  Batch b = make_batch({200, 33, 129}, 4, 2, 64, 70);
  auto r = wstest::randn((size_t)b.T * b.Hq * b.D, 73);
  int before = ws::num_threads();
  std::vector<float> o[3], l[3];
  Grads g[3];
  for (int n : {1, 2, 3}) {
    ws::set_num_threads(n);
    forward(b, o[n - 1], l[n - 1]);
    g[n - 1] = backward(b, r);
  }
  ws::set_num_threads(before);
  for (int n : {1, 2}) {
    CHECK(o[n] == o[0]);
    CHECK(l[n] == l[0]);
    CHECK(g[n].dq == g[0].dq);
    CHECK(g[n].dk == g[0].dk);
    CHECK(g[n].dv == g[0].dv);
  }
}

TEST(bad_shapes_throw) {
  Batch b = make_batch({4, 4}, 4, 2, 8, 80);
  std::vector<float> out(b.q.size()), lse(b.T * b.Hq);
  auto fwd = [&](std::vector<int32_t> cu, int ns, int T, int Hq, int Hkv, int D) {
    attention_forward(out.data(), lse.data(), b.q.data(), b.k.data(), b.v.data(), cu.data(), ns, T, Hq, Hkv, D);
  };
  CHECK_THROWS(fwd({0, 4, 9}, 2, 8, 4, 2, 8));     // does not end at T
  CHECK_THROWS(fwd({1, 4, 8}, 2, 8, 4, 2, 8));     // does not start at 0
  CHECK_THROWS(fwd({0, 5, 4, 8}, 3, 8, 4, 2, 8));  // decreasing
  CHECK_THROWS(fwd({0, 8}, 1, 8, 4, 3, 8));        // Hq % Hkv
  CHECK_THROWS(fwd({0, 8}, 1, 8, 4, 2, 0));        // D
  CHECK_THROWS(fwd({0, 8}, 0, 8, 4, 2, 8));        // num_seqs
  CHECK_THROWS(attention_backward(out.data(), out.data(), out.data(), out.data(), b.q.data(), b.k.data(), b.v.data(),
                                  out.data(), nullptr, b.cu.data(), 2, 8, 4, 2, 8));  // no lse
  std::vector<int32_t> lens = {3, 0};
  CHECK_THROWS(attention_decode(out.data(), b.q.data(), b.k.data(), b.v.data(), lens.data(), 2, 4, 4, 2, 8));
  lens = {5, 1};
  CHECK_THROWS(attention_decode(out.data(), b.q.data(), b.k.data(), b.v.data(), lens.data(), 2, 4, 4, 2, 8));
}

int main() { return wstest::run_tests(); }
