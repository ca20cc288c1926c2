// SGEMM throughput: our cache-blocked kernel beside OpenBLAS (when the build has it), at the
// shapes of issue 2 and the three products of a Linear layer (forward, dx, dw).
//   ./build-native/bench_sgemm [threads=2] [reps=5]
// Prints, per shape, the best-of-reps GFLOP/s of each path and ours / BLAS by wall-clock time,
// and ours / BLAS by process CPU time (flop per CPU-second: less sensitive to other processes
// taking the cores of a shared machine).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "../../native/tests/test_util.h"

namespace {

struct Shape {
  const char* name;
  bool ta, tb;
  int M, N, K;
};
struct Result {
  double ours, blas, cpu_ratio;
};

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Best-of-reps GFLOP/s of ours (backend 1) and BLAS (backend 2), runs interleaved so that both
// see the same load on a shared machine; a short sleep before each run lets OpenBLAS's worker
// threads stop spinning so they do not slow down the next run.
Result measure(const Shape& s, int reps) {
  const int rows_a = s.ta ? s.K : s.M, cols_a = s.ta ? s.M : s.K;
  const int rows_b = s.tb ? s.N : s.K, cols_b = s.tb ? s.K : s.N;
  std::vector<float> A = wstest::randn((size_t)rows_a * cols_a, 1), B = wstest::randn((size_t)rows_b * cols_b, 2);
  std::vector<float> C((size_t)s.M * s.N);
  double best[3] = {0, 1e30, 1e30}, best_cpu[3] = {0, 1e30, 1e30};
  for (int r = 0; r < reps + 1; ++r)  // the first round warms caches and buffers
    for (int backend = 1; backend <= (ws::cpu::have_blas() ? 2 : 1); ++backend) {
      ws::cpu::set_sgemm_backend(backend);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      ws::cpu::sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), cols_a, B.data(), cols_b, 0.0f, C.data(), s.N);
      double dc = cpu_seconds() - c0;
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r == 0) continue;
      best[backend] = std::min(best[backend], dt);
      best_cpu[backend] = std::min(best_cpu[backend], dc);
    }
  ws::cpu::set_sgemm_backend(0);
  const double flop = 2.0 * s.M * s.N * s.K;
  return {flop / best[1] * 1e-9, flop / best[2] * 1e-9, best_cpu[2] / best_cpu[1]};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  ws::set_num_threads(threads);
  // Linear layer x[M,K] · w[N,K]^T with M = 4096 tokens, K = 896 hidden, N = 4864 FFN:
  // forward NT, dx = dout · w (NN, [M,N]x[N,K]), dw = dout^T · x (TN, [N,M]x[M,K]).
  const Shape shapes[] = {
      {"1024^3 NN", false, false, 1024, 1024, 1024},
      {"4096x896x4864 fwd NT", false, true, 4096, 4864, 896},
      {"dx 4096x4864x896 NN", false, false, 4096, 896, 4864},
      {"dw 4864x4096x896 TN", true, false, 4864, 896, 4096},
  };
  std::printf("threads %d, best of %d\n", threads, reps);
  std::printf("%-24s %10s %10s %7s %11s\n", "shape (M x K x N)", "ours GF/s", "BLAS GF/s", "ratio", "ratio (CPU)");
  for (const Shape& s : shapes) {
    Result r = measure(s, reps);
    if (ws::cpu::have_blas())
      std::printf("%-24s %10.1f %10.1f %7.2f %11.2f\n", s.name, r.ours, r.blas, r.ours / r.blas, r.cpu_ratio);
    else
      std::printf("%-24s %10.1f %10s %7s %11s\n", s.name, r.ours, "-", "-", "-");
  }
  return 0;
}
