// The thread pool covers [0, n) exactly once, splits the same way every time, and carries errors.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>
#include <stdexcept>
#include <vector>

#include "core/threadpool.h"
#include "test_util.h"

TEST(covers_range_once) {
  for (int threads : {1, 2, 3, 7}) {
    ws::set_num_threads(threads);
    for (int64_t n : {1, 5, 64, 1000, 12345}) {
      std::vector<std::atomic<int>> hits(n);
      ws::parallel_for(n, 4, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      bool once = true;
      for (auto& h : hits) once &= h.load() == 1;
      CHECK(once);
    }
  }
}

TEST(split_is_deterministic) {
  // The chunk boundaries depend only on n, grain and the thread count, never on which worker
  // happens to pick up which chunk.
  ws::set_num_threads(3);
  auto ranges = [] {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> seen;
    ws::parallel_for(100, 1, [&](int64_t b, int64_t e) {
      std::lock_guard<std::mutex> lk(mu);
      seen.emplace_back(b, e);
    });
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  const std::vector<std::pair<int64_t, int64_t>> want{{0, 34}, {34, 68}, {68, 100}};
  for (int i = 0; i < 200; ++i) CHECK(ranges() == want);
}

TEST(nested_runs_inline) {
  ws::set_num_threads(2);
  std::atomic<int64_t> sum{0};
  ws::parallel_for(10, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ws::parallel_for(10, 1, [&](int64_t b2, int64_t e2) { sum += (e2 - b2); });
  });
  CHECK(sum.load() == 100);
}

TEST(exceptions_propagate) {
  ws::set_num_threads(2);
  CHECK_THROWS(ws::parallel_for(100, 1, [](int64_t b, int64_t) {
    if (b > 0) throw std::runtime_error("boom");
  }));
  // the pool still works afterwards
  std::atomic<int> n{0};
  ws::parallel_for(8, 1, [&](int64_t b, int64_t e) { n += int(e - b); });
  CHECK(n.load() == 8);
}

int main() { return wstest::run_tests(); }
