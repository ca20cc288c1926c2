// Fused causal attention forward, FlashAttention-2 style (ops.h attention_forward semantics).
// One block per (sequence, 64-row query tile, query head); kv head g = h / (Hq / Hkv). For each
// key tile j <= i (tiles counted from the sequence start):
//   S = Q K^T · (log2 e / sqrt(D))          (bf16 tensor cores, fp32 accumulate)
//   m' = max(m, rowmax S),  P = 2^(S - m'),  l = l·2^(m - m') + rowsum P
//   O = O·2^(m - m') + P V                  (P rounded to bf16 for the tensor cores)
// with keys after the query (causal) or past the sequence end masked to -inf. At the end
// out = O / l and lse = (m + log2 l)·ln 2 (natural log, as the CPU reference saves it).
// Each warp owns 16 query rows: their S, P and O (fp32 in shared memory) are touched by that
// warp only, so only the K/V tile loads need block barriers.
#include "attention_tiles.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

using namespace attn;

template <int D>
struct FwdSmem {
  static constexpr int ldh = D + kPadH, lds = kTile + kPadF, ldp = kTile + kPadH, ldo = D + kPadF;
  static constexpr size_t q = 0;
  static constexpr size_t k = q + sizeof(bf16) * kTile * ldh;
  static constexpr size_t v = k + sizeof(bf16) * kTile * ldh;
  static constexpr size_t s = v + sizeof(bf16) * kTile * ldh;
  static constexpr size_t p = s + sizeof(float) * kTile * lds;
  static constexpr size_t o = p + sizeof(bf16) * kTile * ldp;
  static constexpr size_t stats = o + sizeof(float) * kTile * ldo;  // m, l, alpha per row
  static constexpr size_t bytes = stats + sizeof(float) * 3 * kTile;
};

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_forward_kernel(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* cu,
                             int num_seqs, int Hq, int Hkv, float scale_log2) {
  using L = FwdSmem<D>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem + L::q);
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::k);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::v);
  float* S = reinterpret_cast<float*>(smem + L::s);
  bf16* P = reinterpret_cast<bf16*>(smem + L::p);
  float* O = reinterpret_cast<float*>(smem + L::o);
  float* row_m = reinterpret_cast<float*>(smem + L::stats);
  float* row_l = row_m + kTile;
  float* row_alpha = row_l + kTile;

  int s, qt;
  if (!find_tile<TileOrder::kLastFirst>(cu, num_seqs, blockIdx.x, &s, &qt)) return;
  const int h = blockIdx.y, g = h / (Hq / Hkv);
  const int seq0 = cu[s], len = cu[s + 1] - seq0;
  const int q_first = qt * kTile;  // position of the tile's first row in the sequence
  const int nq = min(kTile, len - q_first);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r0 = warp * 16;  // this warp's rows

  load_tile<D>(Qs, L::ldh, q, seq0 + q_first, nq, Hq, h);
  for (int i = lane; i < 16 * L::ldo; i += 32) O[r0 * L::ldo + i] = 0.0f;
  if (lane < 16) {
    row_m[r0 + lane] = -INFINITY;
    row_l[r0 + lane] = 0.0f;
  }

  for (int kt = 0; kt <= qt; ++kt) {
    const int k_first = kt * kTile;
    const int nk = min(kTile, len - k_first);
    __syncthreads();  // every warp is done with the previous K/V tile
    load_tile<D>(Ks, L::ldh, k, seq0 + k_first, nk, Hkv, g);
    load_tile<D>(Vs, L::ldh, v, seq0 + k_first, nk, Hkv, g);
    __syncthreads();

    // S rows of this warp = Q K^T.
    FragC acc[kTile / 16];
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
    warp_mma<D, kTile / 16, FragBT>(acc, Qs + r0 * L::ldh, L::ldh, Ks, L::ldh);
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j)
      wmma::store_matrix_sync(S + r0 * L::lds + j * 16, acc[j], L::lds, wmma::mem_row_major);
    __syncwarp();

    // Online softmax, one row at a time, two columns per lane.
    for (int r = r0; r < r0 + 16; ++r) {
      const int qpos = q_first + r;
      float x[2];
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = lane + 32 * e, kpos = k_first + c;
        const bool ok = r < nq && c < nk && kpos <= qpos;
        x[e] = ok ? S[r * L::lds + c] * scale_log2 : -INFINITY;
      }
      const float m_old = row_m[r];
      const float m_new = fmaxf(m_old, warp_max(fmaxf(x[0], x[1])));
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      const float p0 = exp2f(x[0] - base), p1 = exp2f(x[1] - base);
      P[r * L::ldp + lane] = to_bf(p0);
      P[r * L::ldp + lane + 32] = to_bf(p1);
      const float sum = warp_sum(p0 + p1);
      __syncwarp();
      if (lane == 0) {
        const float alpha = exp2f(m_old - base);
        row_alpha[r] = alpha;
        row_l[r] = row_l[r] * alpha + sum;
        row_m[r] = m_new;
      }
      __syncwarp();
    }
    // O = O·alpha + P V
    for (int i = lane; i < 16 * D; i += 32) {
      const int r = r0 + i / D, c = i % D;
      O[r * L::ldo + c] *= row_alpha[r];
    }
    __syncwarp();
#pragma unroll
    for (int j = 0; j < D / 16; ++j) {
      FragC o;
      wmma::load_matrix_sync(o, O + r0 * L::ldo + j * 16, L::ldo, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        FragA a;
        FragB b;
        wmma::load_matrix_sync(a, P + r0 * L::ldp + kk * 16, L::ldp);
        wmma::load_matrix_sync(b, Vs + kk * 16 * L::ldh + j * 16, L::ldh);
        wmma::mma_sync(o, a, b, o);
      }
      wmma::store_matrix_sync(O + r0 * L::ldo + j * 16, o, L::ldo, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // out = O / l, lse = (m + log2 l)·ln 2
  for (int i = lane; i < 16 * D; i += 32) {
    const int r = r0 + i / D, c = i % D;
    if (r < nq) out[((int64_t)(seq0 + q_first + r) * Hq + h) * D + c] = to_bf(O[r * L::ldo + c] / row_l[r]);
  }
  if (lse && lane < 16 && r0 + lane < nq) {
    const int r = r0 + lane;
    lse[(int64_t)(seq0 + q_first + r) * Hq + h] = (row_m[r] + log2f(row_l[r])) * kLn2;
  }
}

template <int D>
void launch(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* cu, int num_seqs, int T,
            int Hq, int Hkv, cudaStream_t stream) {
  const size_t bytes = FwdSmem<D>::bytes;
  WS_CUDA_CHECK(
      cudaFuncSetAttribute(attention_forward_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  const dim3 grid(T / kTile + num_seqs, Hq);
  attention_forward_kernel<D>
      <<<grid, kThreads, bytes, stream>>>(out, lse, q, k, v, cu, num_seqs, Hq, Hkv, kLog2e / sqrtf((float)D));
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace

void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* cu_seqlens,
                       int num_seqs, int T, int Hq, int Hkv, int D, cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && num_seqs >= 0, "attention_forward: need T >= 0 and num_seqs >= 0");
  WS_CHECK_RANGE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0, "attention_forward: Hq (", Hq, ") must be a multiple of Hkv (",
                 Hkv, ")");
  WS_CHECK_RANGE(D == 64 || D == 128, "attention_forward: head dim must be 64 or 128 on CUDA, got ", D);
  WS_CHECK_RANGE(Hq <= 65535, "attention_forward: too many heads");
  if (T == 0 || num_seqs == 0) return;
  if (D == 64)
    launch<64>(out, lse, q, k, v, cu_seqlens, num_seqs, T, Hq, Hkv, stream);
  else
    launch<128>(out, lse, q, k, v, cu_seqlens, num_seqs, T, Hq, Hkv, stream);
}

}  // namespace ws::cuda
