// Sampling (ops.h sample_token) for B rows at once, one block per row, without a sort:
//   p_v ∝ e^((l_v - max)/temperature); ordering tokens by probability = ordering by logit, so with
//   key(v) = the logit's bits mapped to an order-preserving uint32, every "most probable prefix"
//   is {v : key(v) >= K} for some K, and the K we need is found bit by bit (32 block reductions):
//     top-k:  the largest K with count(key >= K) >= k
//     top-p:  the largest K with mass(key >= K, within top-k) >= top_p·mass(top-k)
//     draw:   the largest K with mass(key >= K, within the nucleus) > u·mass(nucleus);
//             the token is the lowest id whose key is that K.
//   Without top-k and top-p the draw walks ids in order, as the CPU sampler does, so one uniform
//   gives the same token on both devices: thread t sums p over its chunk of ids
//   [t·C, (t+1)·C), one fixed-order block scan gives the running sums, and the first thread
//   whose running sum passes u·total walks its chunk to the first id whose cumulative p does.
//   logprob = (l_tok - max)/temperature - log sum_v e^((l_v - max)/temperature);
//   temperature <= 0: the first argmax, logprob at temperature 1.
//   A vocabulary limit n < V draws over ids [0, n) alone (everything above is done on those);
//   the logprob's normaliser then adds the ids >= n: with m = max over all V,
//   logprob = (l_tok - m)/t - log(e^((max_n - m)/t)·S_n + sum_{v >= n} e^((l_v - m)/t)).
// Sums are fp32 in a fixed order (deterministic); ties in the logits go to the lowest id.
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kThreads = 1024;

__device__ __forceinline__ uint32_t order_key(float x) {
  const uint32_t b = __float_as_uint(x);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

struct Row {
  const float* l;
  int V;
  float lmax, inv_t;
  __device__ float prob(int v) const { return expf((l[v] - lmax) * inv_t); }
};

// Mass (or count) of tokens with key >= max(K, floor), summed over the block.
template <bool Count>
__device__ float mass_at_least(const Row& r, uint32_t K, uint32_t floor, float* red) {
  const uint32_t thr = max(K, floor);
  float s = 0.0f;
  for (int v = threadIdx.x; v < r.V; v += blockDim.x)
    if (order_key(r.l[v]) >= thr) s += Count ? 1.0f : r.prob(v);
  return block_sum(s, red);
}

// The largest K with pred(K) true, pred monotone (true at 0). Strict: mass > target, else >=.
template <bool Count, bool Strict>
__device__ uint32_t largest_key(const Row& r, uint32_t floor, float target, float* red) {
  uint32_t K = 0;
  for (int bit = 31; bit >= 0; --bit) {
    const uint32_t cand = K | (1u << bit);
    const float m = mass_at_least<Count>(r, cand, floor, red);
    if (Strict ? m > target : m >= target) K = cand;
  }
  return K;
}

// Inclusive prefix sum over the block in a fixed order (lanes by shuffles 1, 2, 4, 8, 16 apart,
// then the warp totals the same way), written to scan[threadIdx.x]. blockDim.x == kThreads.
__device__ float block_inclusive_scan(float x, float* scan, float* warp_tot) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int o = 1; o < 32; o <<= 1) {
    const float y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  __syncthreads();  // warp_tot may still be read by an earlier reduction
  if (lane == 31) warp_tot[warp] = x;
  __syncthreads();
  if (warp == 0) {
    float w = warp_tot[lane];
    for (int o = 1; o < 32; o <<= 1) {
      const float y = __shfl_up_sync(0xffffffffu, w, o);
      if (lane >= o) w += y;
    }
    warp_tot[lane] = w;
  }
  __syncthreads();
  if (warp > 0) x += warp_tot[warp - 1];
  scan[threadIdx.x] = x;
  __syncthreads();
  return x;
}

// The first id whose cumulative probability (ids in order) exceeds u·total: the CPU sampler's
// draw when every token is kept. Thread t owns ids [t·C, min(V, (t+1)·C)), C = ceil(V / kThreads).
__device__ int draw_in_id_order(const Row& r, float u, int argmax, float* scan, float* red) {
  const int C = (r.V + kThreads - 1) / kThreads;
  const int begin = min(r.V, (int)threadIdx.x * C), end = min(r.V, begin + C);
  float s = 0.0f;
  for (int v = begin; v < end; ++v) s += r.prob(v);
  const float incl = block_inclusive_scan(s, scan, red);
  const float target = u * scan[kThreads - 1];
  // The first thread whose running sum passes the target (sums of p >= 0 rise, but a scan's
  // rounding need not, so take the lowest such thread); where rounding leaves none, the last
  // thread with any probability, whose walk then ends on its last such id.
  __shared__ int s_first, s_last, s_token;
  if (threadIdx.x == 0) {
    s_first = kThreads;
    s_last = 0;
  }
  __syncthreads();
  if (incl > target) atomicMin(&s_first, (int)threadIdx.x);
  if (s > 0.0f) atomicMax(&s_last, (int)threadIdx.x);
  __syncthreads();
  if ((int)threadIdx.x == (s_first < kThreads ? s_first : s_last)) {
    float cum = threadIdx.x > 0 ? scan[threadIdx.x - 1] : 0.0f;
    int token = -1, last = -1;
    for (int v = begin; v < end && token < 0; ++v) {
      const float p = r.prob(v);
      if (p > 0.0f) last = v;
      if ((cum += p) > target) token = v;
    }
    // Rounding (u·total at or past the last running sum): the last id with any probability.
    s_token = token >= 0 ? token : last >= 0 ? last : argmax;
  }
  __syncthreads();
  return s_token;
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(int32_t* tokens, float* logprobs, const float* logits, int stride, int V, float temperature,
                  int top_k, float top_p, const float* u) {
  __shared__ float red[32];
  __shared__ float s_val[32];
  __shared__ int s_idx[32];
  __shared__ float s_scan[kThreads];
  const int b = blockIdx.x;
  const float* l = logits + (int64_t)b * stride;  // ids [V, stride) are never drawn
  // First argmax (value, then lowest id).
  float best = -INFINITY;
  int best_i = V;
  for (int v = threadIdx.x; v < V; v += blockDim.x)
    if (l[v] > best) {
      best = l[v];
      best_i = v;
    }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (ov > best || (ov == best && oi < best_i)) {
      best = ov;
      best_i = oi;
    }
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    s_val[warp] = best;
    s_idx[warp] = best_i;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < (int)blockDim.x / 32; ++w)
      if (s_val[w] > s_val[0] || (s_val[w] == s_val[0] && s_idx[w] < s_idx[0])) {
        s_val[0] = s_val[w];
        s_idx[0] = s_idx[w];
      }
  }
  __syncthreads();
  const float lmax = s_val[0];
  const int argmax = s_idx[0];
  const bool greedy = temperature <= 0.0f;
  const Row r{l, V, lmax, greedy ? 1.0f : 1.0f / temperature};
  const float total = mass_at_least<false>(r, 0u, 0u, red);
  int token = argmax;
  if (!greedy && (top_k <= 0 || top_k >= V) && top_p >= 1.0f) {
    token = draw_in_id_order(r, u[b], argmax, s_scan, red);
  } else if (!greedy) {
    const int k = top_k > 0 && top_k < V ? top_k : V;
    uint32_t floor = 0;
    float kept = total;
    if (k < V) {
      floor = largest_key<true, false>(r, 0u, (float)k, red);
      kept = mass_at_least<false>(r, 0u, floor, red);
    }
    if (top_p < 1.0f) {
      floor = max(floor, largest_key<false, false>(r, floor, top_p * kept, red));
      kept = mass_at_least<false>(r, 0u, floor, red);
    }
    const uint32_t pick = max(floor, largest_key<false, true>(r, floor, u[b] * kept, red));
    // Lowest id with that key.
    int idx = V;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
      if (order_key(l[v]) == pick) {
        idx = v;
        break;
      }
    for (int o = 16; o > 0; o >>= 1) idx = min(idx, __shfl_xor_sync(0xffffffffu, idx, o));
    __syncthreads();
    if (lane == 0) s_idx[warp] = idx;
    __syncthreads();
    token = s_idx[0];
    for (int w = 1; w < (int)blockDim.x / 32; ++w) token = min(token, s_idx[w]);
    if (token >= V) token = argmax;  // not reached: pick is always some token's key
  }
  float lp_max = lmax, lp_total = total;
  if (stride > V) {
    float m = -INFINITY;
    for (int v = V + threadIdx.x; v < stride; v += blockDim.x) m = fmaxf(m, l[v]);
    m = fmaxf(lmax, block_max(m, red));
    float s = 0.0f;
    for (int v = V + threadIdx.x; v < stride; v += blockDim.x) s += expf((l[v] - m) * r.inv_t);
    lp_total = total * expf((lmax - m) * r.inv_t) + block_sum(s, red);
    lp_max = m;
  }
  if (threadIdx.x == 0) {
    tokens[b] = token;
    if (logprobs) logprobs[b] = (l[token] - lp_max) * r.inv_t - logf(lp_total);
  }
}

}  // namespace

void sample_tokens(int32_t* tokens, float* logprobs, const float* logits, int B, int V, float temperature, int top_k,
                   float top_p, const float* u, int vocab_limit, cudaStream_t stream) {
  WS_CHECK_RANGE(B >= 0 && V > 0, "sample_tokens: need B >= 0 and V > 0, got ", B, ", ", V);
  WS_CHECK_RANGE(vocab_limit >= 0 && vocab_limit <= V, "sample_tokens: vocab_limit must be in [0, ", V, "], got ",
                 vocab_limit);
  WS_CHECK_RANGE(!std::isnan(temperature), "sample_tokens: temperature is NaN");
  WS_CHECK_RANGE(top_p > 0 && top_p <= 1, "sample_tokens: top_p must be in (0, 1], got ", top_p);
  WS_CHECK_RANGE(temperature <= 0 || std::isfinite(1.0f / temperature), "sample_tokens: temperature ", temperature,
                 " is too small");
  WS_CHECK_RANGE(temperature <= 0 || u, "sample_tokens: u must not be null when sampling");
  if (B == 0) return;
  const int n = vocab_limit > 0 ? vocab_limit : V;
  sample_kernel<<<B, kThreads, 0, stream>>>(tokens, logprobs, logits, V, n, temperature, top_k, top_p, u);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
