// Shared pieces of the fused attention kernels (attention_forward.cu, attention_backward.cu):
// 64-row tiles counted from each sequence's start (as the CPU reference cuts them), the block ->
// (sequence, tile) map over packed cu_seqlens, 16-byte tile loads into padded shared memory, and
// the bf16 tensor-core fragments (wmma 16x16x16, fp32 accumulators; sm_80 and later).
#pragma once
#include <mma.h>

#include "common.cuh"

namespace ws::cuda::attn {

namespace wmma = nvcuda::wmma;

constexpr int kTile = 64;  // query rows and key rows per tile
constexpr int kWarps = 4;  // each warp owns 16 rows of a tile
constexpr int kThreads = kWarps * 32;
constexpr int kPadH = 8;  // bf16 row padding (16 bytes): rows stay 32-byte aligned
constexpr int kPadF = 4;  // fp32 row padding
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragAT = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBT = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Block `b` of a launch over all tiles of all sequences -> sequence s and tile index within it.
// Within a sequence the costliest tiles start first: a forward or dQ block at query tile i loops
// over the i + 1 key tiles up to it, so those are handed out last-first; a dK/dV block at key
// tile j loops over the tiles - j query tiles from it (times the GQA group), so first-first.
// The grid is sized T/64 + num_seqs (an upper bound on the tile count); extra blocks get false.
enum class TileOrder { kLastFirst, kFirstFirst };
template <TileOrder Order>
__device__ __forceinline__ bool find_tile(const int32_t* cu, int num_seqs, int b, int* s_out, int* tile_out) {
  for (int s = 0; s < num_seqs; ++s) {
    const int len = cu[s + 1] - cu[s];
    const int nt = (len + kTile - 1) / kTile;
    if (b < nt) {
      *s_out = s;
      *tile_out = Order == TileOrder::kLastFirst ? nt - 1 - b : b;
      return true;
    }
    b -= nt;
  }
  return false;
}

// dst[r][0:D] (row stride ld) = src row (row0 + r) of a [T, H, D] tensor at head h, for r < rows;
// zeros for r in [rows, 64). All threads of the block take part.
template <int D>
__device__ __forceinline__ void load_tile(bf16* dst, int ld, const bf16* src, int64_t row0, int rows, int H, int h) {
  constexpr int kVec = D / 8;  // 16-byte vectors per row
  for (int i = threadIdx.x; i < kTile * kVec; i += blockDim.x) {
    const int r = i / kVec, c = (i % kVec) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (r < rows) val = *reinterpret_cast<const uint4*>(src + ((row0 + r) * H + h) * D + c);
    *reinterpret_cast<uint4*>(dst + r * ld + c) = val;
  }
}

// acc[16 x 16·N] for this warp's 16 rows: A[16 x K] (row-major, lda) times B, where B is
// [K x 16·N] row-major (FragB, ldb) or given as its transpose [16·N x K] (FragBT, ldb). Unroll:
// how many of the K/16 steps the compiler unrolls (fewer: fewer fragments live at once).
template <int K, int N, typename FB, int Unroll = K / 16>
__device__ __forceinline__ void warp_mma(FragC (&acc)[N], const bf16* A, int lda, const bf16* B, int ldb) {
  constexpr bool kTrans = std::is_same<FB, FragBT>::value;
#pragma unroll(Unroll)
  for (int kk = 0; kk < K / 16; ++kk) {
    FragA a;
    wmma::load_matrix_sync(a, A + kk * 16, lda);
#pragma unroll
    for (int j = 0; j < N; ++j) {
      FB b;
      wmma::load_matrix_sync(b, kTrans ? B + j * 16 * ldb + kk * 16 : B + kk * 16 * ldb + j * 16, ldb);
      wmma::mma_sync(acc[j], a, b, acc[j]);
    }
  }
}

}  // namespace ws::cuda::attn
