// Fused causal attention backward, FlashAttention-2 style, in two passes that each own their
// outputs (no atomics, so a rerun is bitwise identical), as the CPU reference does. With the
// forward's lse, Delta_i = dout_i · out_i and c = 1/sqrt(D):
//   P_ij = exp(c·q_i·k_j - lse_i)  (0 for j after i or outside the sequence)
//   dP_ij = dout_i · v_j,   dS_ij = P_ij (dP_ij - Delta_i)
//   dv_j += sum_i P_ij dout_i,   dk_j += c sum_i dS_ij q_i,   dq_i += c sum_j dS_ij k_j
// Pass 1, one block per (sequence, key tile, kv head): loops over the query heads of its group
// and the query tiles at or after the key tile, with each warp owning 16 key rows, so it computes
// S^T = K Q^T and dP^T = V dO^T directly and keeps dk, dv for its rows in registers.
// Pass 2, one block per (sequence, query tile, query head): recomputes P and dP for its query
// rows over the key tiles and keeps dq in registers. P and dS are rounded to bf16 for the tensor
// cores; everything else (exp, Delta, the dS arithmetic, accumulators) is fp32.
#include "attention_tiles.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

using namespace attn;

// delta[t, h] = sum_d dout[t, h, d]·out[t, h, d]; one warp per (t, h).
__global__ void attention_delta_kernel(float* delta, const bf16* dout, const bf16* out, int64_t rows, int D) {
  const int64_t row = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float s = 0.0f;
  for (int d = lane; d < D; d += 32) s += to_f(dout[row * D + d]) * to_f(out[row * D + d]);
  s = warp_sum(s);
  if (lane == 0) delta[row] = s;
}

// Shared memory of one block. The fp32 output staging is used only after the loop (behind a
// barrier), so it lies over P and dP; the dQ pass has no P in bf16. At D = 128 that is
// 120.5 KiB for dK/dV and 111.5 KiB for dQ (two blocks per SM on Hopper's 228 KiB).
template <int D, bool DkDv>
struct BwdSmem {
  static constexpr int ldh = D + kPadH, lds = kTile + kPadF, ldp = kTile + kPadH, ldo = D + kPadF;
  static constexpr size_t a = 0;                                                 // K (pass 1) or Q (pass 2)
  static constexpr size_t b = a + sizeof(bf16) * kTile * ldh;                    // V or dO
  static constexpr size_t c = b + sizeof(bf16) * kTile * ldh;                    // Q or K (streamed)
  static constexpr size_t d = c + sizeof(bf16) * kTile * ldh;                    // dO or V (streamed)
  static constexpr size_t p32 = d + sizeof(bf16) * kTile * ldh;                  // P (fp32)
  static constexpr size_t dp32 = p32 + sizeof(float) * kTile * lds;              // dP (fp32)
  static constexpr size_t p16 = dp32 + sizeof(float) * kTile * lds;              // P (bf16), dK/dV only
  static constexpr size_t ds16 = p16 + (DkDv ? sizeof(bf16) * kTile * ldp : 0);  // dS (bf16)
  static constexpr size_t vec = ds16 + sizeof(bf16) * kTile * ldp;               // lse, delta per row
  static constexpr size_t bytes = vec + sizeof(float) * 2 * kTile;
  static constexpr size_t o32 = p32;  // output staging (fp32), after the loop
  static_assert(sizeof(float) * kTile * ldo <= vec - o32, "the output staging must fit before lse/delta");
};

// Adds c·acc (this warp's 16 rows) into rows [row0, row0 + rows) of a [T, H, D] bf16 tensor.
template <int D, int N>
__device__ __forceinline__ void add_rows(bf16* dst, FragC (&acc)[N], float* stage, int ld, int r0, int64_t row0,
                                         int rows, int H, int h, float c) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int j = 0; j < N; ++j) wmma::store_matrix_sync(stage + r0 * ld + j * 16, acc[j], ld, wmma::mem_row_major);
  __syncwarp();
  for (int i = lane; i < 16 * D; i += 32) {
    const int r = r0 + i / D, col = i % D;
    if (r < rows) {
      bf16* p = dst + ((row0 + r) * H + h) * D + col;
      *p = to_bf(to_f(*p) + c * stage[r * ld + col]);
    }
  }
  __syncwarp();
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_dkdv_kernel(bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                          const float* lse, const float* delta, const int32_t* cu, int num_seqs, int Hq, int Hkv,
                          float scale, float scale_log2) {
  using L = BwdSmem<D, true>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::a);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::b);
  bf16* Qs = reinterpret_cast<bf16*>(smem + L::c);
  bf16* dOs = reinterpret_cast<bf16*>(smem + L::d);
  float* PT = reinterpret_cast<float*>(smem + L::p32);
  float* dPT = reinterpret_cast<float*>(smem + L::dp32);
  bf16* PT16 = reinterpret_cast<bf16*>(smem + L::p16);
  bf16* dST16 = reinterpret_cast<bf16*>(smem + L::ds16);
  float* stage = reinterpret_cast<float*>(smem + L::o32);
  float* lse_s = reinterpret_cast<float*>(smem + L::vec);
  float* delta_s = lse_s + kTile;

  int s, kt;
  if (!find_tile<TileOrder::kFirstFirst>(cu, num_seqs, blockIdx.x, &s, &kt)) return;
  const int g = blockIdx.y, group = Hq / Hkv;
  const int seq0 = cu[s], len = cu[s + 1] - seq0;
  const int k_first = kt * kTile, nk = min(kTile, len - k_first);
  const int num_tiles = (len + kTile - 1) / kTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r0 = warp * 16;  // this warp's key rows

  load_tile<D>(Ks, L::ldh, k, seq0 + k_first, nk, Hkv, g);
  load_tile<D>(Vs, L::ldh, v, seq0 + k_first, nk, Hkv, g);
  // dk and dv stay in registers (2·D/2 fp32 per thread: 128 at D = 128), so the products below
  // are not unrolled over k (each step still issues 4 or D/16 independent mma): unrolled, the
  // fragments loaded ahead pushed D = 128 past 255 registers into spills.
  FragC dk_acc[D / 16], dv_acc[D / 16];
#pragma unroll
  for (int j = 0; j < D / 16; ++j) {
    wmma::fill_fragment(dk_acc[j], 0.0f);
    wmma::fill_fragment(dv_acc[j], 0.0f);
  }

  for (int hh = 0; hh < group; ++hh) {
    const int h = g * group + hh;
    for (int qt = kt; qt < num_tiles; ++qt) {
      const int q_first = qt * kTile, nq = min(kTile, len - q_first);
      __syncthreads();  // the previous Q/dO tile is no longer read
      load_tile<D>(Qs, L::ldh, q, seq0 + q_first, nq, Hq, h);
      load_tile<D>(dOs, L::ldh, dout, seq0 + q_first, nq, Hq, h);
      for (int i = threadIdx.x; i < kTile; i += blockDim.x) {
        const int64_t t = seq0 + q_first + i;
        lse_s[i] = i < nq ? lse[t * Hq + h] * kLog2e : INFINITY;
        delta_s[i] = i < nq ? delta[t * Hq + h] : 0.0f;
      }
      __syncthreads();

      FragC acc[kTile / 16];
      // S^T = K Q^T for this warp's keys -> P^T (fp32 and bf16)
#pragma unroll
      for (int j = 0; j < kTile / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
      warp_mma<D, kTile / 16, FragBT, 1>(acc, Ks + r0 * L::ldh, L::ldh, Qs, L::ldh);
#pragma unroll
      for (int j = 0; j < kTile / 16; ++j)
        wmma::store_matrix_sync(PT + r0 * L::lds + j * 16, acc[j], L::lds, wmma::mem_row_major);
        // dP^T = V dO^T
#pragma unroll
      for (int j = 0; j < kTile / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
      warp_mma<D, kTile / 16, FragBT, 1>(acc, Vs + r0 * L::ldh, L::ldh, dOs, L::ldh);
#pragma unroll
      for (int j = 0; j < kTile / 16; ++j)
        wmma::store_matrix_sync(dPT + r0 * L::lds + j * 16, acc[j], L::lds, wmma::mem_row_major);
      __syncwarp();
      for (int i = lane; i < 16 * kTile; i += 32) {
        const int r = r0 + i / kTile, c = i % kTile;  // r: key row, c: query row
        const bool ok = r < nk && c < nq && k_first + r <= q_first + c;
        const float p = ok ? exp2f(PT[r * L::lds + c] * scale_log2 - lse_s[c]) : 0.0f;
        PT16[r * L::ldp + c] = to_bf(p);
        dST16[r * L::ldp + c] = to_bf(p * (dPT[r * L::lds + c] - delta_s[c]));
      }
      __syncwarp();
      warp_mma<kTile, D / 16, FragB, 1>(dv_acc, PT16 + r0 * L::ldp, L::ldp, dOs, L::ldh);
      warp_mma<kTile, D / 16, FragB, 1>(dk_acc, dST16 + r0 * L::ldp, L::ldp, Qs, L::ldh);
    }
  }
  __syncthreads();  // the staging lies over P and dP, which other warps may still read
  add_rows<D>(dv, dv_acc, stage, L::ldo, r0, seq0 + k_first, nk, Hkv, g, 1.0f);
  add_rows<D>(dk, dk_acc, stage, L::ldo, r0, seq0 + k_first, nk, Hkv, g, scale);
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_dq_kernel(bf16* dq, const bf16* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse,
                        const float* delta, const int32_t* cu, int num_seqs, int Hq, int Hkv, float scale,
                        float scale_log2) {
  using L = BwdSmem<D, false>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem + L::a);
  bf16* dOs = reinterpret_cast<bf16*>(smem + L::b);
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::c);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::d);
  float* P = reinterpret_cast<float*>(smem + L::p32);
  float* dP = reinterpret_cast<float*>(smem + L::dp32);
  bf16* dS16 = reinterpret_cast<bf16*>(smem + L::ds16);
  float* stage = reinterpret_cast<float*>(smem + L::o32);
  float* lse_s = reinterpret_cast<float*>(smem + L::vec);
  float* delta_s = lse_s + kTile;

  int s, qt;
  if (!find_tile<TileOrder::kLastFirst>(cu, num_seqs, blockIdx.x, &s, &qt)) return;
  const int h = blockIdx.y, g = h / (Hq / Hkv);
  const int seq0 = cu[s], len = cu[s + 1] - seq0;
  const int q_first = qt * kTile, nq = min(kTile, len - q_first);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r0 = warp * 16;  // this warp's query rows

  load_tile<D>(Qs, L::ldh, q, seq0 + q_first, nq, Hq, h);
  load_tile<D>(dOs, L::ldh, dout, seq0 + q_first, nq, Hq, h);
  for (int i = threadIdx.x; i < kTile; i += blockDim.x) {
    const int64_t t = seq0 + q_first + i;
    lse_s[i] = i < nq ? lse[t * Hq + h] * kLog2e : INFINITY;
    delta_s[i] = i < nq ? delta[t * Hq + h] : 0.0f;
  }
  FragC dq_acc[D / 16];
#pragma unroll
  for (int j = 0; j < D / 16; ++j) wmma::fill_fragment(dq_acc[j], 0.0f);

  for (int kt = 0; kt <= qt; ++kt) {
    const int k_first = kt * kTile, nk = min(kTile, len - k_first);
    __syncthreads();
    load_tile<D>(Ks, L::ldh, k, seq0 + k_first, nk, Hkv, g);
    load_tile<D>(Vs, L::ldh, v, seq0 + k_first, nk, Hkv, g);
    __syncthreads();

    FragC acc[kTile / 16];
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
    warp_mma<D, kTile / 16, FragBT>(acc, Qs + r0 * L::ldh, L::ldh, Ks, L::ldh);
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j)
      wmma::store_matrix_sync(P + r0 * L::lds + j * 16, acc[j], L::lds, wmma::mem_row_major);
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
    warp_mma<D, kTile / 16, FragBT>(acc, dOs + r0 * L::ldh, L::ldh, Vs, L::ldh);
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j)
      wmma::store_matrix_sync(dP + r0 * L::lds + j * 16, acc[j], L::lds, wmma::mem_row_major);
    __syncwarp();
    for (int i = lane; i < 16 * kTile; i += 32) {
      const int r = r0 + i / kTile, c = i % kTile;  // r: query row, c: key row
      const bool ok = r < nq && c < nk && k_first + c <= q_first + r;
      const float p = ok ? exp2f(P[r * L::lds + c] * scale_log2 - lse_s[r]) : 0.0f;
      dS16[r * L::ldp + c] = to_bf(p * (dP[r * L::lds + c] - delta_s[r]));
    }
    __syncwarp();
    warp_mma<kTile, D / 16, FragB>(dq_acc, dS16 + r0 * L::ldp, L::ldp, Ks, L::ldh);
  }
  __syncthreads();  // the staging lies over P and dP, which other warps may still read
  add_rows<D>(dq, dq_acc, stage, L::ldo, r0, seq0 + q_first, nq, Hq, h, scale);
}

// Two dQ blocks per SM at D = 128 on Hopper: 228 KiB of shared memory per SM, 1 KiB of it
// reserved per block.
static_assert(2 * (BwdSmem<128, false>::bytes + 1024) <= 228 * 1024, "dQ must fit twice per SM at D = 128");

template <int D>
void launch(bf16* dq, bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
            const float* lse, const float* delta, const int32_t* cu, int num_seqs, int T, int Hq, int Hkv,
            cudaStream_t stream) {
  const float scale = 1.0f / sqrtf((float)D), scale_log2 = scale * kLog2e;
  if (dk || dv) {
    // dk and dv come from one pass, so they are given together.
    WS_CHECK_RANGE(dk && dv, "attention_backward: dk and dv must both be given or both be null on CUDA");
    const size_t bytes = BwdSmem<D, true>::bytes;
    WS_CUDA_CHECK(
        cudaFuncSetAttribute(attention_dkdv_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    attention_dkdv_kernel<D><<<dim3(T / kTile + num_seqs, Hkv), kThreads, bytes, stream>>>(
        dk, dv, dout, q, k, v, lse, delta, cu, num_seqs, Hq, Hkv, scale, scale_log2);
    WS_CUDA_LAUNCH_CHECK();
  }
  if (dq) {
    const size_t bytes = BwdSmem<D, false>::bytes;
    WS_CUDA_CHECK(
        cudaFuncSetAttribute(attention_dq_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    // All of the SM's memory as shared memory, so that two dQ blocks fit at D = 128.
    WS_CUDA_CHECK(cudaFuncSetAttribute(attention_dq_kernel<D>, cudaFuncAttributePreferredSharedMemoryCarveout,
                                       cudaSharedmemCarveoutMaxShared));
    attention_dq_kernel<D><<<dim3(T / kTile + num_seqs, Hq), kThreads, bytes, stream>>>(
        dq, dout, q, k, v, lse, delta, cu, num_seqs, Hq, Hkv, scale, scale_log2);
    WS_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace

void attention_backward(bf16* dq, bf16* dk, bf16* dv, const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                        const bf16* out, const float* lse, const int32_t* cu_seqlens, int num_seqs, int T, int Hq,
                        int Hkv, int D, cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && num_seqs >= 0, "attention_backward: need T >= 0 and num_seqs >= 0");
  WS_CHECK_RANGE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0, "attention_backward: Hq (", Hq, ") must be a multiple of Hkv (",
                 Hkv, ")");
  WS_CHECK_RANGE(D == 64 || D == 128, "attention_backward: head dim must be 64 or 128 on CUDA, got ", D);
  WS_CHECK_RANGE(lse, "attention_backward: lse must not be null");
  if (T == 0 || num_seqs == 0 || (!dq && !dk && !dv)) return;
  const int64_t rows = (int64_t)T * Hq;
  float* delta = static_cast<float*>(workspace(kWsAttention, sizeof(float) * rows));
  attention_delta_kernel<<<ceil_div(rows, 8), 256, 0, stream>>>(delta, dout, out, rows, D);
  WS_CUDA_LAUNCH_CHECK();
  if (D == 64)
    launch<64>(dq, dk, dv, dout, q, k, v, lse, delta, cu_seqlens, num_seqs, T, Hq, Hkv, stream);
  else
    launch<128>(dq, dk, dv, dout, q, k, v, lse, delta, cu_seqlens, num_seqs, T, Hq, Hkv, stream);
}

}  // namespace ws::cuda
