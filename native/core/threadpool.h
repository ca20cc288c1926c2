// A fixed pool of worker threads with a static parallel_for.
// The split of [0, n) into chunks depends only on n and the thread count, so results that
// reduce per chunk are bitwise reproducible for a given thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace ws {

// Number of threads used by parallel_for (default: hardware concurrency, or WS_NUM_THREADS).
int num_threads();
void set_num_threads(int n);

// Calls f(begin, end) on disjoint contiguous ranges covering [0, n), at most num_threads()
// ranges, each at least `grain` long. Blocks until all are done. Nested calls run inline.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

}  // namespace ws
