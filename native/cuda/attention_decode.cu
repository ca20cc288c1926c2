// Decode attention: one new query per sequence against its KV cache (ops.h attention_decode).
// For sequence b, query head h, kv head g = h / (Hq / Hkv), keys j < lens[b]:
//   s_j = q · k_j / sqrt(D),  out = sum_j e^(s_j - m) v_j / sum_j e^(s_j - m)
// Split-K: the key range is cut into `splits` slices (more slices when B·Hq blocks would leave
// SMs idle). Each block reduces its slice with an online softmax (one warp per key, lanes over
// D, the 4 warps merged in shared memory) to a partial (m, l, o[D]); a second kernel merges the
// slices in order: M = max m_s, out = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s.
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxD = 256;

template <int DL>  // DL = D / 32 elements per lane
__global__ void __launch_bounds__(kWarps * 32)
    decode_partial_kernel(float* part, const bf16* q, const bf16* kc, const bf16* vc, const int32_t* lens, int max_len,
                          int Hq, int Hkv, int slice, float scale) {
  constexpr int D = DL * 32;
  __shared__ float wm[kWarps], wl[kWarps], wo[kWarps][D];
  const int bh = blockIdx.x, b = bh / Hq, h = bh % Hq, g = h / (Hq / Hkv);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int len = min(lens[b], max_len);
  const int j0 = blockIdx.y * slice, j1 = min(len, j0 + slice);
  float qv[DL], acc[DL];
#pragma unroll
  for (int e = 0; e < DL; ++e) {
    qv[e] = to_f(q[(int64_t)bh * D + lane + 32 * e]) * scale;
    acc[e] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int j = j0 + warp; j < j1; j += kWarps) {
    const int64_t row = (((int64_t)b * max_len + j) * Hkv + g) * D;
    float sdot = 0.0f;
#pragma unroll
    for (int e = 0; e < DL; ++e) sdot += qv[e] * to_f(kc[row + lane + 32 * e]);
    sdot = warp_sum(sdot);
    const float m_new = fmaxf(m, sdot);
    const float alpha = expf(m - m_new), p = expf(sdot - m_new);
    l = l * alpha + p;
#pragma unroll
    for (int e = 0; e < DL; ++e) acc[e] = acc[e] * alpha + p * to_f(vc[row + lane + 32 * e]);
    m = m_new;
  }
  if (lane == 0) {
    wm[warp] = m;
    wl[warp] = l;
  }
#pragma unroll
  for (int e = 0; e < DL; ++e) wo[warp][lane + 32 * e] = acc[e];
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < kWarps; ++w) M = fmaxf(M, wm[w]);
  float* out = part + ((int64_t)bh * gridDim.y + blockIdx.y) * (D + 2);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += wm[w] == -INFINITY ? 0.0f : expf(wm[w] - M) * wo[w][d];
    out[d] = o;
  }
  if (threadIdx.x == 0) {
    float L = 0.0f;
    for (int w = 0; w < kWarps; ++w) L += wm[w] == -INFINITY ? 0.0f : expf(wm[w] - M) * wl[w];
    out[D] = M;
    out[D + 1] = L;
  }
}

__global__ void decode_combine_kernel(bf16* out, const float* part, int splits, int D) {
  const int bh = blockIdx.x;
  const float* p = part + (int64_t)bh * splits * (D + 2);
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, p[s * (D + 2) + D]);
  float L = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float ms = p[s * (D + 2) + D];
    if (ms != -INFINITY) L += expf(ms - M) * p[s * (D + 2) + D + 1];
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float ms = p[s * (D + 2) + D];
      if (ms != -INFINITY) o += expf(ms - M) * p[s * (D + 2) + d];
    }
    out[(int64_t)bh * D + d] = to_bf(L > 0.0f ? o / L : 0.0f);
  }
}

int sm_count() {
  static int n = 0;
  if (!n) {
    int dev = 0;
    WS_CUDA_CHECK(cudaGetDevice(&dev));
    WS_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
  }
  return n;
}

}  // namespace

void attention_decode(bf16* out, const bf16* q, const bf16* k_cache, const bf16* v_cache, const int32_t* lens, int B,
                      int max_len, int Hq, int Hkv, int D, cudaStream_t stream) {
  WS_CHECK_RANGE(B >= 0 && max_len > 0, "attention_decode: need B >= 0 and max_len > 0");
  WS_CHECK_RANGE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0, "attention_decode: Hq (", Hq, ") must be a multiple of Hkv (", Hkv,
                 ")");
  WS_CHECK_RANGE(D > 0 && D % 32 == 0 && D <= kMaxD, "attention_decode: head dim must be a multiple of 32 up to ",
                 kMaxD, " on CUDA, got ", D);
  WS_CHECK_RANGE((int64_t)B * Hq < (1LL << 31), "attention_decode: B·Hq too large");
  if (B == 0) return;
  const int rows = B * Hq;
  // Enough slices for about two blocks per SM, each slice at least 64 keys.
  int splits = std::max(1, std::min(ceil_div(2 * sm_count(), rows), ceil_div(max_len, 64)));
  splits = std::min(splits, 65535);
  const int slice = ceil_div(max_len, splits);
  float* part = static_cast<float*>(workspace(kWsDecode, sizeof(float) * (size_t)rows * splits * (D + 2)));
  const dim3 grid(rows, splits);
  const float scale = 1.0f / sqrtf((float)D);
  switch (D / 32) {
    case 1:
      decode_partial_kernel<1>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 2:
      decode_partial_kernel<2>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 3:
      decode_partial_kernel<3>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 4:
      decode_partial_kernel<4>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 5:
      decode_partial_kernel<5>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 6:
      decode_partial_kernel<6>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    case 7:
      decode_partial_kernel<7>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
    default:
      decode_partial_kernel<8>
          <<<grid, kWarps * 32, 0, stream>>>(part, q, k_cache, v_cache, lens, max_len, Hq, Hkv, slice, scale);
      break;
  }
  WS_CUDA_LAUNCH_CHECK();
  decode_combine_kernel<<<rows, 128, 0, stream>>>(out, part, splits, D);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
