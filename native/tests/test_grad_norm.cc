// Gradient norm: the sum of squares in double against a direct sum, bitwise the same for any
// thread count, and the clip scale of torch.nn.utils.clip_grad_norm_.
#include <cmath>
#include <vector>

#include "core/threadpool.h"
#include "cpu/ops.h"
#include "test_util.h"

using namespace ws::cpu;

TEST(sum_of_squares_matches_direct_sum) {
  CHECK(grad_norm_sq(nullptr, 0) == 0.0);
  const float small[] = {3.0f, -4.0f};
  CHECK(grad_norm_sq(small, 2) == 25.0);
  for (int64_t n : {1, 1000, 16384, 16385, 100001}) {
    auto g = wstest::randn(n, n, 0.01f);
    double want = 0;
    for (float x : g) want += (double)x * x;
    CHECK_NEAR(grad_norm_sq(g.data(), n), want, 1e-12 * want);
  }
}

TEST(thread_count_does_not_change_the_sum) {
  auto g = wstest::randn(300007, 7, 1e-3f);
  ws::set_num_threads(1);
  double one = grad_norm_sq(g.data(), (int64_t)g.size());
  for (int threads : {2, 3, 4}) {
    ws::set_num_threads(threads);
    CHECK(grad_norm_sq(g.data(), (int64_t)g.size()) == one);
  }
  ws::set_num_threads(2);
}

TEST(double_keeps_tiny_and_huge_squares) {
  std::vector<float> g = {1e-30f, 1e30f, -1e30f};  // float squares would underflow / overflow
  const double big = 1e30f;
  CHECK_NEAR(grad_norm_sq(g.data(), 3), 2 * big * big, 1e-12 * big * big);
  g = {1e-25f, 1e-25f};
  CHECK(grad_norm_sq(g.data(), 2) > 0.0);
}

TEST(clip_scale_follows_torch) {
  CHECK(clip_scale(0.5, 1.0f) == 1.0f);  // under the limit: untouched
  CHECK_NEAR(clip_scale(4.0, 1.0f), 1.0 / (4.0 + 1e-6), 1e-7);
  CHECK_NEAR(clip_scale(10.0, 2.5f), 0.25, 1e-7);
  CHECK(clip_scale(1.0, 1.0f) < 1.0f);  // + 1e-6 as torch does
  CHECK(clip_scale(0.0, 1.0f) == 1.0f);
  CHECK_THROWS(clip_scale(1.0, 0.0f));
  CHECK_THROWS(grad_norm_sq(nullptr, -1));
}

int main() { return wstest::run_tests(); }
