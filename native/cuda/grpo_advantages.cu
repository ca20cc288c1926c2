// GRPO advantages over groups of G completions of one prompt:
//   mean_g = (1/G) sum_i r_i,  A_i = r_i - mean_g                        (Dr. GRPO: no std)
//   scale_std: A_i = (r_i - mean_g) / (std_g + 1e-4),  std_g = sqrt(sum_i (r_i - mean_g)² / (G - 1))
//              (the sample std, 0 for G = 1, as torch.std in TRL and lib/train/advantages.ts)
//   a group whose rewards are all equal gets A_i = 0 exactly (as advantages.ts).
// One warp per group; sums in fp32 in a fixed order (lane-strided, then the warp tree).
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

__global__ void grpo_advantages_kernel(float* adv, const float* rewards, int num_groups, int G, bool scale_std) {
  const int g = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (g >= num_groups) return;
  const float* r = rewards + (int64_t)g * G;
  float s = 0.0f;
  for (int i = lane; i < G; i += 32) s += r[i];
  const float mean = warp_sum(s) / G;
  bool equal = true;
  for (int i = lane; i < G; i += 32) equal &= r[i] == r[0];
  equal = __all_sync(0xffffffffu, equal);
  float inv = 1.0f;
  if (scale_std) {
    float q = 0.0f;
    for (int i = lane; i < G; i += 32) q += (r[i] - mean) * (r[i] - mean);
    q = warp_sum(q);
    inv = 1.0f / ((G > 1 ? sqrtf(q / (G - 1)) : 0.0f) + 1e-4f);
  }
  for (int i = lane; i < G; i += 32)
    adv[(int64_t)g * G + i] = equal ? 0.0f : scale_std ? (r[i] - mean) * inv : r[i] - mean;
}

}  // namespace

void grpo_advantages(float* adv, const float* rewards, int num_groups, int G, bool scale_std, cudaStream_t stream) {
  WS_CHECK_RANGE(num_groups >= 0 && G > 0, "grpo_advantages: need num_groups >= 0 and G > 0, got ", num_groups, ", ",
                 G);
  if (num_groups == 0) return;
  grpo_advantages_kernel<<<ceil_div(num_groups, 4), 128, 0, stream>>>(adv, rewards, num_groups, G, scale_std);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
