// The language-model head fused with the one objective (ops.h fused_head), chunk by chunk over
// tokens so that at most chunk x V logits ever exist:
//   z = h_chunk·W^T / temperature                (cuBLASLt, bf16 in, fp32 logits)
//   lse = max + log sum_v e^(z_v - max),  logp = z_y - lse           (fp32, one block per row)
//   rho = exp(logp - old_logp);  L = -min(rho·A, clip(rho)·A)·w + beta·(e^(ref-logp) - (ref-logp) - 1)·w
//   dL/dlogp = (-A·rho, 0 where the clip is active) + beta·(1 - e^(ref-logp)), times w / normaliser
//   g_v = dL/dlogits_v = coef·([v = y] - softmax_v) with coef = dL/dlogp / temperature  (bf16)
//   dh += g·W,  dW += g^T·h_chunk                (cuBLASLt, fp32 accumulate, beta = 1)
// Per-token losses and clip flags go to a [T] workspace and are summed in token order in double
// by one block, so the loss is deterministic. old_logp null: on-policy (rho = 1), the loss term is
// reported as -A·logp·w, as on the CPU.
#include <cmath>

#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

constexpr int kThreads = 512;

struct Obj {
  const float* weights;
  const float* advantages;
  const float* old_logp;
  const float* ref_logp;
  float beta, clip_low, clip_high, inv_norm, inv_temp;
};

// One block per row i of the chunk (token t = t0 + i).
__global__ void __launch_bounds__(kThreads)
    head_row_kernel(float* logp, double* tok_loss, int* tok_clipped, bf16* grad, const float* z, const int32_t* targets,
                    int t0, int V, Obj o, bool backward) {
  __shared__ float red[32];
  __shared__ float s_coef;
  const int i = blockIdx.x, t = t0 + i;
  const float* zr = z + (int64_t)i * V;
  float mx = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, zr[v]);
  mx = block_max(mx, red);
  float se = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) se += expf(zr[v] - mx);
  se = block_sum(se, red);
  const int y = targets[t] < V ? targets[t] : -1;  // ids >= V are refused on the host by the caller
  if (threadIdx.x == 0) {
    const float lp = y >= 0 ? zr[y] - (mx + logf(se)) : 0.0f;
    if (logp) logp[t] = lp;
    const double w = o.weights ? o.weights[t] : 1.0;
    double L = 0.0, coef = 0.0;
    int clipped = 0;
    if (y >= 0 && w != 0.0) {
      const double A = o.advantages ? o.advantages[t] : 1.0;
      const double rho = o.old_logp ? exp((double)lp - o.old_logp[t]) : 1.0;
      const double rho_clip = fmin(fmax(rho, 1.0 - o.clip_low), 1.0 + o.clip_high);
      clipped = (A > 0 && rho > 1.0 + o.clip_high) || (A < 0 && rho < 1.0 - o.clip_low);
      L = o.old_logp ? -fmin(rho * A, rho_clip * A) : -A * lp;
      double dL = clipped ? 0.0 : -A * rho;
      if (o.ref_logp) {
        const double d = (double)o.ref_logp[t] - lp;
        L += o.beta * (exp(d) - d - 1.0);
        dL += o.beta * (1.0 - exp(d));
      }
      L *= w;
      coef = dL * w * o.inv_norm * o.inv_temp;
    }
    tok_loss[t] = L;
    tok_clipped[t] = clipped;
    s_coef = (float)coef;
  }
  if (!backward) return;
  __syncthreads();
  const float coef = s_coef;
  bf16* gr = grad + (int64_t)i * V;
  const float scale = -coef / se;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    const float g = coef == 0.0f ? 0.0f : scale * expf(zr[v] - mx) + (v == y ? coef : 0.0f);
    gr[v] = to_bf(g);
  }
}

// out[0] = sum_t tok_loss[t] (double, in token order across a fixed tree), out[1] = clip count.
__global__ void head_sum_kernel(double* out, const double* tok_loss, const int* tok_clipped, int T) {
  __shared__ double red[32];
  double s = 0.0, c = 0.0;
  for (int t = threadIdx.x; t < T; t += blockDim.x) {
    s += tok_loss[t];
    c += tok_clipped[t];
  }
  s = block_sum(s, red);
  c = block_sum(c, red);
  if (threadIdx.x == 0) {
    out[0] = s;
    out[1] = c;
  }
}

}  // namespace

size_t fused_head_scratch_bytes(int chunk, int V) { return (size_t)chunk * V * (sizeof(float) + sizeof(bf16)); }

HeadResult fused_head(float* logp, bf16* dh, float* dW, const bf16* h, const bf16* W, const int32_t* targets, int T,
                      int C, int V, const HeadObjective& obj, int chunk, void* scratch, cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && C > 0 && V > 0, "fused_head: need T >= 0, C > 0, V > 0, got ", T, ", ", C, ", ", V);
  WS_CHECK_RANGE(chunk > 0, "fused_head: chunk must be > 0, got ", chunk);
  WS_CHECK_RANGE(obj.temperature > 0 && std::isfinite(obj.temperature), "fused_head: temperature must be > 0, got ",
                 obj.temperature);
  WS_CHECK_RANGE(obj.normaliser > 0 && std::isfinite(obj.normaliser), "fused_head: normaliser must be > 0, got ",
                 obj.normaliser);
  WS_CHECK_RANGE(obj.clip_low >= 0 && obj.clip_high >= 0, "fused_head: clip_low and clip_high must be >= 0");
  WS_CHECK_RANGE(std::isfinite(obj.beta), "fused_head: beta must be finite");
  HeadResult result;
  if (T == 0) return result;
  WS_CHECK_RANGE(h && W && targets, "fused_head: h, W and targets must not be null");
  const int rows_max = std::min(chunk, T);
  if (!scratch) scratch = workspace(kWsHead, fused_head_scratch_bytes(rows_max, V));
  float* z = static_cast<float*>(scratch);
  bf16* g = reinterpret_cast<bf16*>(z + (size_t)rows_max * V);
  char* vec = static_cast<char*>(workspace(kWsHeadVec, sizeof(double) * (T + 2) + sizeof(int) * T));
  double* tok_loss = reinterpret_cast<double*>(vec);
  double* sums = tok_loss + T;
  int* tok_clipped = reinterpret_cast<int*>(sums + 2);
  const bool backward = dh || dW;
  const Obj o{obj.weights,  obj.advantages, obj.old_logp,          obj.ref_logp,          obj.beta,
              obj.clip_low, obj.clip_high,  1.0f / obj.normaliser, 1.0f / obj.temperature};
  for (int t0 = 0; t0 < T; t0 += chunk) {
    const int n = std::min(chunk, T - t0);
    const bf16* hc = h + (size_t)t0 * C;
    gemm(false, true, n, V, C, o.inv_temp, hc, C, W, C, 0.0f, z, true, V, stream);
    head_row_kernel<<<n, kThreads, 0, stream>>>(logp, tok_loss, tok_clipped, g, z, targets, t0, V, o, backward);
    WS_CUDA_LAUNCH_CHECK();
    if (dh) gemm(false, false, n, C, V, 1.0f, g, V, W, C, 1.0f, dh + (size_t)t0 * C, false, C, stream);
    if (dW) gemm(true, false, V, C, n, 1.0f, g, V, hc, C, 1.0f, dW, true, C, stream);
  }
  head_sum_kernel<<<1, 1024, 0, stream>>>(sums, tok_loss, tok_clipped, T);
  WS_CUDA_LAUNCH_CHECK();
  double host[2];
  WS_CUDA_CHECK(cudaMemcpyAsync(host, sums, sizeof(host), cudaMemcpyDeviceToHost, stream));
  WS_CUDA_CHECK(cudaStreamSynchronize(stream));
  result.loss = host[0] / obj.normaliser;
  result.clipped = (int64_t)host[1];
  return result;
}

}  // namespace ws::cuda
