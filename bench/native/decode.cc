// The CPU pieces of one decode step, timed alone: the Linear layers and the head with few rows
// (M = batch), gemv_rows (what matmul_forward runs for M <= 16) beside sgemm (OpenBLAS when the
// build has it, else ours) on the same product, and sample_token over a 151936-token vocab.
//   ./build-native/bench_decode [threads=2] [reps=20]
// Prints best-of-reps milliseconds per call and sgemm / gemv_rows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/rng.h"
#include "core/threadpool.h"
#include "cpu/ops.h"
#include "../../native/tests/test_util.h"

namespace {

template <typename F>
double best_ms(int reps, F f) {
  double best = 1e30;
  for (int r = 0; r < reps + 1; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, dt);
  }
  return best;
}

struct Shape {
  const char* name;
  int M, K, N;
};

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 20;
  ws::set_num_threads(threads);
  std::printf("threads %d, best of %d, %s\n", threads, reps,
              ws::cpu::have_blas() ? "sgemm = OpenBLAS" : "sgemm = ours");

  const Shape shapes[] = {
      {"tiny head", 8, 64, 151936},         {"tiny head M=1", 1, 64, 151936},
      {"tiny head M=16", 16, 64, 151936},   {"tiny qkv", 8, 64, 128},
      {"0.5B head V=32768", 8, 896, 32768}, {"0.5B head V=151936", 8, 896, 151936},
      {"0.5B qkv", 8, 896, 1152},           {"0.5B o", 8, 896, 896},
      {"0.5B gate+up", 8, 896, 9728},       {"0.5B down", 8, 4864, 896},
      {"0.5B gate+up M=16", 16, 896, 9728}, {"0.5B down M=16", 16, 4864, 896},
  };
  std::printf("%-20s %4s %5s %7s %10s %10s %7s\n", "matmul", "M", "K", "N", "gemv ms", "sgemm ms", "ratio");
  for (const Shape& s : shapes) {
    auto x = wstest::randn((size_t)s.M * s.K, 1), w = wstest::randn((size_t)s.N * s.K, 2);
    std::vector<float> out((size_t)s.M * s.N);
    double op = best_ms(reps, [&] { ws::cpu::gemv_rows(out.data(), x.data(), w.data(), nullptr, s.M, s.K, s.N); });
    double gemm = best_ms(reps, [&] {
      ws::cpu::sgemm(false, true, s.M, s.N, s.K, 1.0f, x.data(), s.K, w.data(), s.K, 0.0f, out.data(), s.N);
    });
    std::printf("%-20s %4d %5d %7d %10.3f %10.3f %6.2fx\n", s.name, s.M, s.K, s.N, op, gemm, gemm / op);
  }

  // sample_token on logits like a model's (normal, scale 3), fresh uniforms each call.
  const int V = 151936;
  auto logits = wstest::randn(V, 3, 3.0f);
  std::vector<float> scratch(2 * (size_t)V);
  struct Setting {
    const char* name;
    float temperature;
    int top_k;
    float top_p;
  };
  const Setting settings[] = {{"greedy", 0.0f, 0, 1.0f},
                              {"t=1", 1.0f, 0, 1.0f},
                              {"t=0.6 top_p=0.95", 0.6f, 0, 0.95f},
                              {"t=0.6 top_k=40 top_p=0.95", 0.6f, 40, 0.95f},
                              {"t=1 top_p=0.9", 1.0f, 0, 0.9f}};
  std::printf("\n%-28s %10s\n", "sample_token V=151936", "ms");
  for (const Setting& st : settings) {
    ws::Rng rng(5);
    float lp;
    double ms = best_ms(reps, [&] {
      ws::cpu::sample_token(logits.data(), V, st.temperature, st.top_k, st.top_p, rng.uniform(), &lp, scratch.data());
    });
    std::printf("%-28s %10.3f\n", st.name, ms);
  }
  return 0;
}
