// Kernel microbenchmarks of the CUDA backend, printed as one JSON line per measurement for
// bench/gpu/run.sh (which puts them beside PyTorch's on the same card):
//   attention forward/backward, causal, bf16, one sequence of 4k..16k tokens, at three shapes:
//     16 heads x d128 (MHA), Qwen2.5-0.5B's 14 query / 2 KV heads x d64, Qwen2.5-1.5B's 12 / 2
//     x d128 (GQA 6:1): TFLOP/s with the FlashAttention convention (fwd 4·T²·D·Hq/2 causal, bwd
//     2.5x fwd);
//   the fused head (SFT objective, forward + backward into dh and fp32 dW) at 8192 tokens x
//     hidden 896 x vocab 151936: time and the device memory it holds (inputs, grads, workspace).
// Inputs are random (never zeros); each figure is the median of timed runs after warm-ups.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../native/core/rng.h"
#include "../../native/cuda/common.cuh"
#include "../../native/cuda/ops.cuh"

namespace cu = ws::cuda;
using bf16 = __nv_bfloat16;

namespace {

bf16* random_bf16(size_t n, uint64_t seed, float scale) {
  std::vector<bf16> h(n);
  ws::Rng r(seed);
  for (auto& x : h) x = __float2bfloat16_rn(r.normal() * scale);
  bf16* d = nullptr;
  WS_CUDA_CHECK(cudaMalloc(&d, n * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMemcpy(d, h.data(), n * sizeof(bf16), cudaMemcpyHostToDevice));
  return d;
}

template <typename F>
double median_ms(F&& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t a, b;
  WS_CUDA_CHECK(cudaEventCreate(&a));
  WS_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    WS_CUDA_CHECK(cudaEventRecord(a));
    f();
    WS_CUDA_CHECK(cudaEventRecord(b));
    WS_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    WS_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct AttnShape {
  const char* name;
  int Hq, Hkv, D;
};
constexpr AttnShape kAttnShapes[] = {{"mha16_d128", 16, 16, 128}, {"qwen05b", 14, 2, 64}, {"qwen15b", 12, 2, 128}};

void bench_attention(const AttnShape& sh, int T) {
  const int H = sh.Hq, D = sh.D;
  const size_t n = (size_t)T * H * D, nkv = (size_t)T * sh.Hkv * D;
  bf16 *q = random_bf16(n, 1, 1.0f), *k = random_bf16(nkv, 2, 1.0f), *v = random_bf16(nkv, 3, 1.0f);
  bf16 *dout = random_bf16(n, 4, 1.0f), *out, *dq, *dk, *dv;
  float* lse;
  int32_t* cu_d;
  WS_CUDA_CHECK(cudaMalloc(&out, n * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMalloc(&dq, n * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMalloc(&dk, nkv * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMalloc(&dv, nkv * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMemset(dq, 0, n * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMemset(dk, 0, nkv * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMemset(dv, 0, nkv * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMalloc(&lse, (size_t)T * H * sizeof(float)));
  WS_CUDA_CHECK(cudaMalloc(&cu_d, 2 * sizeof(int32_t)));
  const int32_t cu_h[2] = {0, T};
  WS_CUDA_CHECK(cudaMemcpy(cu_d, cu_h, sizeof(cu_h), cudaMemcpyHostToDevice));
  const double fwd_flops = 4.0 * T * (double)T * D * H / 2;
  const int Hkv = sh.Hkv;
  const double f_ms = median_ms([&] { cu::attention_forward(out, lse, q, k, v, cu_d, 1, T, H, Hkv, D); }, 3, 10);
  const double b_ms =
      median_ms([&] { cu::attention_backward(dq, dk, dv, dout, q, k, v, out, lse, cu_d, 1, T, H, Hkv, D); }, 2, 10);
  const char* fmt = "{\"bench\":\"%s\",\"impl\":\"warmstart\",\"shape\":\"%s\",\"T\":%d,\"ms\":%.4f,\"tflops\":%.2f}\n";
  std::printf(fmt, "attention_fwd", sh.name, T, f_ms, fwd_flops / f_ms / 1e9);
  std::printf(fmt, "attention_bwd", sh.name, T, b_ms, 2.5 * fwd_flops / b_ms / 1e9);
  std::fflush(stdout);
  for (void* p : {(void*)q, (void*)k, (void*)v, (void*)dout, (void*)out, (void*)dq, (void*)dk, (void*)dv, (void*)lse,
                  (void*)cu_d})
    cudaFree(p);
}

void bench_head() {
  const int T = 8192, C = 896, V = 151936, chunk = 1024;
  size_t free0 = 0, total = 0;
  WS_CUDA_CHECK(cudaDeviceSynchronize());
  WS_CUDA_CHECK(cudaMemGetInfo(&free0, &total));
  bf16* h = random_bf16((size_t)T * C, 10, 1.0f);
  bf16* W = random_bf16((size_t)V * C, 11, 0.02f);
  bf16* dh;
  float* dW;
  int32_t* tgt;
  WS_CUDA_CHECK(cudaMalloc(&dh, (size_t)T * C * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMalloc(&dW, (size_t)V * C * sizeof(float)));
  WS_CUDA_CHECK(cudaMemset(dh, 0, (size_t)T * C * sizeof(bf16)));
  WS_CUDA_CHECK(cudaMemset(dW, 0, (size_t)V * C * sizeof(float)));
  std::vector<int32_t> th(T);
  ws::Rng r(12);
  for (auto& t : th) t = (int32_t)(r.uniform() * V) % V;
  WS_CUDA_CHECK(cudaMalloc(&tgt, T * sizeof(int32_t)));
  WS_CUDA_CHECK(cudaMemcpy(tgt, th.data(), T * sizeof(int32_t), cudaMemcpyHostToDevice));
  cu::HeadObjective obj;
  obj.normaliser = (float)T;
  const double ms = median_ms([&] { cu::fused_head(nullptr, dh, dW, h, W, tgt, T, C, V, obj, chunk, nullptr); }, 2, 5);
  size_t free1 = 0;
  WS_CUDA_CHECK(cudaMemGetInfo(&free1, &total));
  std::printf("{\"bench\":\"fused_head\",\"impl\":\"warmstart\",\"T\":%d,\"V\":%d,\"ms\":%.3f,\"peak_gib\":%.3f}\n", T,
              V, ms, (double)(free0 - free1) / (1 << 30));
  for (void* p : {(void*)h, (void*)W, (void*)dh, (void*)dW, (void*)tgt}) cudaFree(p);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    cudaDeviceProp prop{};
    WS_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    std::fprintf(stderr, "bench_cuda on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
    const bool head = argc < 2 || std::string(argv[1]) != "attention";
    for (const auto& sh : kAttnShapes)
      for (int T : {4096, 8192, 16384}) bench_attention(sh, T);
    if (head) bench_head();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
  return 0;
}
