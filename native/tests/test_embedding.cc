// embedding: forward gathers rows, backward scatters with += (repeated tokens add up), bad ids throw.
#include "../core/threadpool.h"
#include "../cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

TEST(forward_gathers_rows) {
  const int T = 7, C = 5, V = 4;
  auto wte = wstest::randn(V * C, 1);
  std::vector<int32_t> tok = {3, 0, 0, 2, 1, 3, 3};
  std::vector<float> out(T * C, NAN);
  embedding_forward(out.data(), tok.data(), wte.data(), T, C, V);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) CHECK(out[t * C + c] == wte[tok[t] * C + c]);
}

TEST(backward_gradcheck_and_accumulates) {
  const int T = 9, C = 70, V = 6;  // C > 64: the column split runs on several threads
  auto wte = wstest::randn(V * C, 2);
  auto r = wstest::randn(T * C, 3);
  std::vector<int32_t> tok = {1, 5, 1, 0, 2, 2, 2, 5, 4};
  std::vector<float> out(T * C);
  auto loss = [&] {
    embedding_forward(out.data(), tok.data(), wte.data(), T, C, V);
    return wstest::dot(out.data(), r.data(), out.size());
  };
  auto init = wstest::randn(V * C, 4);
  std::vector<float> dwte = init;
  embedding_backward(dwte.data(), r.data(), tok.data(), T, C, V);
  std::vector<float> grad(V * C);
  for (size_t i = 0; i < grad.size(); ++i) grad[i] = dwte[i] - init[i];
  CHECK(wstest::gradcheck(wte, grad, loss, "dwte", 1e-2, 1e-3, 1e-3, 1 << 20));
  // row 3 is never used: its gradient stays exactly the initial value
  for (int c = 0; c < C; ++c) CHECK(dwte[3 * C + c] == init[3 * C + c]);
}

TEST(backward_same_bits_for_any_thread_count) {
  const int T = 300, C = 256, V = 11;
  auto dout = wstest::randn(T * C, 5);
  std::vector<int32_t> tok(T);
  for (int t = 0; t < T; ++t) tok[t] = (t * 7) % V;
  int before = ws::num_threads();
  std::vector<float> a(V * C, 0.0f), b(V * C, 0.0f);
  ws::set_num_threads(1);
  embedding_backward(a.data(), dout.data(), tok.data(), T, C, V);
  ws::set_num_threads(3);
  embedding_backward(b.data(), dout.data(), tok.data(), T, C, V);
  ws::set_num_threads(before);
  CHECK(a == b);
}

TEST(bad_token_ids_throw) {
  const int C = 3, V = 4;
  auto wte = wstest::randn(V * C, 6);
  std::vector<float> out(2 * C);
  std::vector<int32_t> neg = {0, -1}, big = {4, 0};
  CHECK_THROWS(embedding_forward(out.data(), neg.data(), wte.data(), 2, C, V));
  CHECK_THROWS(embedding_forward(out.data(), big.data(), wte.data(), 2, C, V));
  CHECK_THROWS(embedding_backward(out.data(), out.data(), big.data(), 2, C, V));
  CHECK_THROWS(embedding_forward(out.data(), neg.data(), wte.data(), 2, 0, V));
}

int main() { return wstest::run_tests(); }
