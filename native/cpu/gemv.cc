// The Linear layer for few rows (decode: M = batch <= 16), reading w once:
//   out[m, n] = sum_k x[m, k] · w[n, k] + bias[n]
// sgemm would pack (copy) all of w on every call, which for a 151936 x 896 head costs more than
// the product itself. Here each thread owns a contiguous range of w's rows (output columns) and
// streams it: a tile of R rows of x times 4 rows of w keeps R·4 vector accumulators over K
// (w rows stay in L1 while every R-row block of x passes over them), and the R·4 dot products are
// finished together by a transpose-and-add tree. Every output is the same sum in the same order
// whatever M, its tile position or the thread count, so results are bitwise reproducible, and
// the same on the AVX2 and AVX-512 builds (16-lane sums fixed in the source; the K tail uses an
// explicit fma, which the compiler may not contract the same way once it vectorises the tiles).
#include <algorithm>
#include <array>
#include <cmath>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {
namespace {

using simd::vf;
using simd::W;

// Tile: RT rows of x by CT rows of w (RT·CT accumulators of 16 lanes: AVX-512 has 32 registers,
// AVX2 holds a 16-lane vector in two of its 16).
#if defined(__AVX512F__)
constexpr int RT = 4, CT = 4;
#else
constexpr int RT = 2, CT = 2;
#endif
constexpr int PF = 1;  // prefetch w this many column blocks ahead
static_assert(RT * CT <= W && (RT * CT & (RT * CT - 1)) == 0, "the reduction tree takes 2^j <= 16 vectors");

// One level of the tree on 16-lane vectors with blocks of s lanes: the result holds, for each
// 2s-lane chunk, a's pairwise sums (lane i + lane i+s) then b's.
template <int s>
inline vf fold(vf a, vf b) {
  using simd::vi;
  constexpr auto idx = [](int hi) {
    vi m{};
    for (int l = 0; l < W; ++l) m[l] = (l % (2 * s) < s ? 0 : W) + l / (2 * s) * 2 * s + l % s + hi * s;
    return m;
  };
  return __builtin_shuffle(a, b, idx(0)) + __builtin_shuffle(a, b, idx(1));
}

// reduce<A>(acc) with A a power of two <= 16: lane_of<A>()[a] is a lane holding the sum of all
// 16 lanes of acc[a] (the tree folds vectors in pairs, then a single vector with itself). Each
// sum pairs lanes (i, i+8), then (i, i+4), (i, i+2), (i, i+1), whatever A or the slot.
template <int A>
__attribute__((always_inline)) inline vf reduce(vf* acc) {
  int n = A;
  auto level = [&](auto fold_s) {
    const int pairs = n > 1 ? n / 2 : 1;
    for (int p = 0; p < pairs; ++p) acc[p] = fold_s(acc[2 * p], n > 1 ? acc[2 * p + 1] : acc[2 * p]);
    n = pairs;
  };
  level([](vf a, vf b) { return fold<8>(a, b); });
  level([](vf a, vf b) { return fold<4>(a, b); });
  level([](vf a, vf b) { return fold<2>(a, b); });
  level([](vf a, vf b) { return fold<1>(a, b); });
  return acc[0];
}
template <int A>
constexpr std::array<int, A> lane_of() {  // the same folds on accumulator indices
  std::array<int, W> v[A]{};
  for (int a = 0; a < A; ++a)
    for (int l = 0; l < W; ++l) v[a][l] = a;
  int n = A;
  for (int s = W / 2; s >= 1; s /= 2) {
    const int pairs = n > 1 ? n / 2 : 1;
    for (int p = 0; p < pairs; ++p) {
      std::array<int, W> x = v[2 * p], y = n > 1 ? v[2 * p + 1] : v[2 * p], r{};
      for (int l = 0; l < W; ++l) r[l] = (l % (2 * s) < s ? x : y)[l / (2 * s) * 2 * s + l % s];
      v[p] = r;
    }
    n = pairs;
  }
  std::array<int, A> lane{};
  for (int l = W - 1; l >= 0; --l) lane[v[0][l]] = l;
  return lane;
}

// out[m0 + r, n0 + c] for r < R, c < C (R is 1 or RT, C is 1 or CT): x and w rows of length K.
template <int R, int C>
void tile(float* out, int ldo, const float* x, const float* w, const float* bias, int K, int m0, int n0) {
  constexpr int A = R * CT;
  vf acc[A] = {};
  const float* xr[R];
  const float* wc[C];
  for (int r = 0; r < R; ++r) xr[r] = x + (size_t)(m0 + r) * K;
  for (int c = 0; c < C; ++c) wc[c] = w + (size_t)(n0 + c) * K;
  int k = 0;
  for (; k + W <= K; k += W) {
    vf wv[C];
    for (int c = 0; c < C; ++c) {
      wv[c] = simd::load(wc[c] + k);
      __builtin_prefetch(wc[c] + k + (size_t)PF * CT * K);
    }
    for (int r = 0; r < R; ++r) {
      const vf xv = simd::load(xr[r] + k);
      for (int c = 0; c < C; ++c) acc[r * CT + c] += xv * wv[c];
    }
  }
  alignas(64) float sums[W];
  simd::store(sums, reduce<A>(acc));
  constexpr std::array<int, A> lane = lane_of<A>();
  float* o = out + (size_t)m0 * ldo + n0;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      float s = sums[lane[r * CT + c]];
      for (int kk = k; kk < K; ++kk) s = std::fma(xr[r][kk], wc[c][kk], s);  // explicit: same on every ISA
      o[(size_t)r * ldo + c] = s;
    }
  if (bias)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) o[(size_t)r * ldo + c] += bias[n0 + c];
}

template <int C>
void column_block(float* out, const float* x, const float* w, const float* bias, int M, int K, int N, int n0) {
  int m = 0;
  for (; m + RT <= M; m += RT) tile<RT, C>(out, N, x, w, bias, K, m, n0);
  // Remaining rows one at a time (same sums: each output's arithmetic does not depend on R).
  for (; m < M; ++m) tile<1, C>(out, N, x, w, bias, K, m, n0);
}

}  // namespace

void gemv_rows(float* out, const float* x, const float* w, const float* bias, int M, int K, int N) {
  WS_CHECK_RANGE(M >= 0 && K >= 0 && N >= 0, "gemv_rows: M, K, N must be >= 0, got ", M, ", ", K, ", ", N);
  if (M == 0 || N == 0) return;
  WS_CHECK_RANGE(out && (K == 0 || (x && w)), "gemv_rows: out, x and w must not be null");
  // Column blocks of CT rows of w; a thread gets at least ~64k weights to stream.
  const int64_t blocks = (N + CT - 1) / CT;
  const int64_t grain = std::max<int64_t>(1, 65536 / ((int64_t)CT * std::max(K, 1)));
  parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int n0 = int(b * CT);
      if (n0 + CT <= N)
        column_block<CT>(out, x, w, bias, M, K, N, n0);
      else
        for (int n = n0; n < N; ++n) column_block<1>(out, x, w, bias, M, K, N, n);
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
