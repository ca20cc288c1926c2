// Sampling (ops.h sample_token) for B rows at once, one block per row, without a sort:
//   p_v ∝ e^((l_v - max)/temperature); ordering tokens by probability = ordering by logit, so with
//   key(v) = the logit's bits mapped to an order-preserving uint32, every "most probable prefix"
//   is {v : key(v) >= K} for some K, and the K we need is found bit by bit (32 block reductions):
//     top-k:  the largest K with count(key >= K) >= k
//     top-p:  the largest K with mass(key >= K, within top-k) >= top_p·mass(top-k)
//     draw:   the largest K with mass(key >= K, within the nucleus) > u·mass(nucleus);
//             the token is the lowest id whose key is that K.
//   logprob = (l_tok - max)/temperature - log sum_v e^((l_v - max)/temperature);
//   temperature <= 0: the first argmax, logprob at temperature 1.
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

__global__ void __launch_bounds__(kThreads) sample_kernel(int32_t* tokens, float* logprobs, const float* logits, int V,
                                                          float temperature, int top_k, float top_p, const float* u) {
  __shared__ float red[32];
  __shared__ float s_val[32];
  __shared__ int s_idx[32];
  const int b = blockIdx.x;
  const float* l = logits + (int64_t)b * V;
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
  if (!greedy) {
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
  if (threadIdx.x == 0) {
    tokens[b] = token;
    if (logprobs) logprobs[b] = (l[token] - lmax) * r.inv_t - logf(total);
  }
}

}  // namespace

void sample_tokens(int32_t* tokens, float* logprobs, const float* logits, int B, int V, float temperature, int top_k,
                   float top_p, const float* u, cudaStream_t stream) {
  WS_CHECK_RANGE(B >= 0 && V > 0, "sample_tokens: need B >= 0 and V > 0, got ", B, ", ", V);
  WS_CHECK_RANGE(!std::isnan(temperature), "sample_tokens: temperature is NaN");
  WS_CHECK_RANGE(top_p > 0 && top_p <= 1, "sample_tokens: top_p must be in (0, 1], got ", top_p);
  WS_CHECK_RANGE(temperature <= 0 || std::isfinite(1.0f / temperature), "sample_tokens: temperature ", temperature,
                 " is too small");
  WS_CHECK_RANGE(temperature <= 0 || u, "sample_tokens: u must not be null when sampling");
  if (B == 0) return;
  sample_kernel<<<B, kThreads, 0, stream>>>(tokens, logprobs, logits, V, temperature, top_k, top_p, u);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
