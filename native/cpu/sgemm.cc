// SGEMM: C[M,N] = alpha * op(A) · op(B) + beta * C, row-major, op(X) = X or X^T.
//
// sgemm_ours follows GotoBLAS/BLIS: for each NC-wide column panel and KC-deep slice of K, pack
// op(B)[KC, NC] into NR-wide slivers (stays in L3), then for each MC-tall block of rows pack
// op(A)[MC, KC] into MR-tall slivers (stays in L2) and run an MR x NR register-blocked
// micro-kernel over every (sliver of A, sliver of B) pair; the B sliver stays in L1 meanwhile.
// Partial tiles: the micro-kernel is templated on the number of rows, and columns past N are
// zero-padded in the packed B and written through a small tile buffer.
//
// Threads: C is cut into one part per thread (rows in multiples of MR, or columns in multiples of
// NR), and each thread runs the loops above on its part with its own packing buffers, so a call
// is one parallel region. Every element of C sees the same K order and the same arithmetic
// whatever the thread count, so results are bitwise identical for any thread count, and for the
// AVX2 and AVX-512 builds of this file (same sums per element; the edge merge uses fma like the
// vector path). sgemm_backend.cc holds the BLAS path and the choice between the two.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "sgemm_args.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ws::cpu::WS_CPU_ISA {
namespace {

// ---- the vector type of this build: AVX-512, AVX2+FMA, or plain C++ ----------------------------
#if defined(__AVX512F__)
using vec = __m512;
constexpr int VL = 16, MR = 12;
inline vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
inline vec vset1(float x) { return _mm512_set1_ps(x); }
inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
using vec = __m256;
constexpr int VL = 8, MR = 6;
inline vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vec v) { _mm256_storeu_ps(p, v); }
inline vec vset1(float x) { return _mm256_set1_ps(x); }
inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
#else
struct vec {
  float x[4];
};
constexpr int VL = 4, MR = 4;
inline vec vload(const float* p) {
  vec v;
  std::memcpy(v.x, p, sizeof v.x);
  return v;
}
inline void vstore(float* p, vec v) { std::memcpy(p, v.x, sizeof v.x); }
inline vec vset1(float x) { return vec{{x, x, x, x}}; }
inline vec vfma(vec a, vec b, vec c) {
  for (int i = 0; i < 4; ++i) c.x[i] += a.x[i] * b.x[i];
  return c;
}
inline vec vmul(vec a, vec b) {
  for (int i = 0; i < 4; ++i) a.x[i] *= b.x[i];
  return a;
}
#endif

constexpr int NV = 2, NR = NV * VL;               // micro-tile: MR rows x NR columns of C
constexpr int KC = 256, MC = 16 * MR, NC = 4096;  // cache blocks (multiples of MR / NR)

// C[R, NR] = alpha * a[kc, MR]^T-sliver · b[kc, NR]-sliver + beta * C   (beta == 0: C not read)
template <int R>
void micro_kernel(int kc, const float* a, const float* b, float* c, int ldc, float alpha, float beta) {
  vec acc[R > 0 ? R : 1][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vset1(0.0f);
  for (int p = 0; p < kc; ++p, a += MR, b += NR) {
    vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = vload(b + v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      vec ar = vset1(a[r]);
      for (int v = 0; v < NV; ++v) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
    }
  }
  vec va = vset1(alpha), vb = vset1(beta);
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      float* cp = c + (size_t)r * ldc + v * VL;
      vec out = vmul(va, acc[r][v]);
      vstore(cp, beta == 0.0f ? out : vfma(vb, vload(cp), out));
    }
}

using KernelFn = void (*)(int, const float*, const float*, float*, int, float, float);
template <size_t... R>
constexpr std::array<KernelFn, sizeof...(R)> kernel_table(std::index_sequence<R...>) {
  return {{&micro_kernel<int(R)>...}};
}
constexpr auto kKernels = kernel_table(std::make_index_sequence<MR + 1>{});  // kKernels[rows]

// A growable 64-byte-aligned buffer, one per thread, kept between calls (no allocation in the
// steady state). At most KC*NC floats for B and MC*KC for A.
struct Buffer {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      ::operator delete(p, std::align_val_t(64));
      p = static_cast<float*>(::operator new(want * sizeof(float), std::align_val_t(64)));
      n = want;
    }
    return p;
  }
  ~Buffer() { ::operator delete(p, std::align_val_t(64)); }
};

// op(A)[i0 : i0+mc, p0 : p0+kc] -> slivers of MR rows, dst[s][p][r]; rows past mc are zero.
void pack_a(float* dst, const float* A, int lda, bool trans, int i0, int mc, int p0, int kc) {
  for (int s = 0; s < mc; s += MR, dst += (size_t)MR * kc) {
    int rows = std::min(MR, mc - s);
    if (rows < MR) std::fill(dst, dst + (size_t)MR * kc, 0.0f);
    if (!trans) {
      for (int r = 0; r < rows; ++r) {
        const float* src = A + (size_t)(i0 + s + r) * lda + p0;
        for (int p = 0; p < kc; ++p) dst[(size_t)p * MR + r] = src[p];
      }
    } else {  // the MR rows of one k are contiguous
      for (int p = 0; p < kc; ++p)
        std::memcpy(dst + (size_t)p * MR, A + (size_t)(p0 + p) * lda + i0 + s, rows * sizeof(float));
    }
  }
}

// op(B)[p0 : p0+kc, j0 : j0+nc] -> slivers of NR columns, dst[s][p][j]; columns past nc are zero.
void pack_b(float* dst, const float* B, int ldb, bool trans, int p0, int kc, int j0, int nc) {
  for (int s = 0; s * NR < nc; ++s) {
    float* d = dst + (size_t)s * kc * NR;
    int cols = std::min(NR, nc - s * NR), j = j0 + s * NR;
    if (cols < NR) std::fill(d, d + (size_t)kc * NR, 0.0f);
    if (!trans) {
      for (int p = 0; p < kc; ++p)
        std::memcpy(d + (size_t)p * NR, B + (size_t)(p0 + p) * ldb + j, cols * sizeof(float));
    } else {
      for (int c = 0; c < cols; ++c) {
        const float* src = B + (size_t)(j + c) * ldb + p0;
        for (int p = 0; p < kc; ++p) d[(size_t)p * NR + c] = src[p];
      }
    }
  }
}

// C[i0:i1, j0:j1] on the calling thread: the GotoBLAS loops with this thread's packing buffers.
// j0 is a multiple of NR and j1 is one or N, so the only partial column sliver is at N.
void gemm_part(bool ta, bool tb, int i0, int i1, int j0, int j1, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc) {
  static thread_local Buffer a_buf, b_buf;
  alignas(64) float tile[MR * NR];
  for (int jc = j0; jc < j1; jc += NC) {
    const int nc = std::min(NC, j1 - jc), slivers = (nc + NR - 1) / NR;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const float beta_now = pc == 0 ? beta : 1.0f;
      float* bp = b_buf.get((size_t)slivers * kc * NR);
      float* ap = a_buf.get((size_t)MC * kc);
      pack_b(bp, B, ldb, tb, pc, kc, jc, nc);
      for (int ic = i0; ic < i1; ic += MC) {
        const int mc = std::min(MC, i1 - ic);
        pack_a(ap, A, lda, ta, ic, mc, pc, kc);
        for (int s = 0; s < slivers; ++s) {
          const int j = jc + s * NR, cols = std::min(NR, j1 - j);
          const float* b = bp + (size_t)s * kc * NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = std::min(MR, mc - ir);
            const float* a = ap + (size_t)ir * kc;
            float* c = C + (size_t)(ic + ir) * ldc + j;
            if (cols == NR) {
              kKernels[rows](kc, a, b, c, ldc, alpha, beta_now);
            } else {  // right edge: compute the full tile, then merge the valid columns
              kKernels[rows](kc, a, b, tile, NR, 1.0f, 0.0f);
              for (int r = 0; r < rows; ++r)
                for (int q = 0; q < cols; ++q) {
                  float* cq = c + (size_t)r * ldc + q;
                  float out = alpha * tile[r * NR + q];
                  *cq = beta_now == 0.0f ? out : std::fma(beta_now, *cq, out);
                }
            }
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_ours(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc) {
  check_args(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale_c(C, ldc, M, N, beta);
    return;
  }
  // One part of C per thread: rows in multiples of MR, or columns in multiples of NR when there
  // are more column slivers than row slivers. Each part is a whole single-threaded product.
  const int64_t row_units = (M + MR - 1) / MR, col_units = (N + NR - 1) / NR;
  const bool by_rows = row_units >= col_units;
  const int64_t units = by_rows ? row_units : col_units;
  const int64_t parts = std::min<int64_t>(num_threads(), units);
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int u0 = int(units * p / parts), u1 = int(units * (p + 1) / parts);
      if (by_rows)
        gemm_part(trans_a, trans_b, u0 * MR, std::min(M, u1 * MR), 0, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      else
        gemm_part(trans_a, trans_b, 0, M, u0 * NR, std::min(N, u1 * NR), K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
