// Embedding: out[t, :] = wte[tokens[t], :] (ids are checked on the host by the caller; an id
// outside [0, V) gives a zero row here rather than a wild read);  backward dwte[tokens[t], :] += dout[t, :] (fp32,
// atomicAdd, since several tokens may share a row: not bitwise deterministic).
#include "common.cuh"
#include "ops.cuh"

namespace ws::cuda {
namespace {

__global__ void embedding_forward_kernel(bf16* out, const int32_t* tokens, const bf16* wte, int C, int V) {
  const int t = blockIdx.x;
  const int tok = tokens[t];
  const bool ok = tok >= 0 && tok < V;  // the caller checks ids on the host; a bad one gives zeros
  const bf16* row = wte + (int64_t)(ok ? tok : 0) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) out[(int64_t)t * C + c] = ok ? row[c] : to_bf(0.0f);
}

__global__ void embedding_backward_kernel(float* dwte, const bf16* dout, const int32_t* tokens, int C, int V) {
  const int t = blockIdx.x;
  const int tok = tokens[t];
  if (tok < 0 || tok >= V) return;
  for (int c = threadIdx.x; c < C; c += blockDim.x)
    atomicAdd(&dwte[(int64_t)tok * C + c], to_f(dout[(int64_t)t * C + c]));
}

}  // namespace

void embedding_forward(bf16* out, const int32_t* tokens, const bf16* wte, int T, int C, int V, cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && C > 0 && V > 0, "embedding_forward: need T >= 0, C > 0, V > 0");
  if (T == 0) return;
  embedding_forward_kernel<<<T, 128, 0, stream>>>(out, tokens, wte, C, V);
  WS_CUDA_LAUNCH_CHECK();
}

void embedding_backward(float* dwte, const bf16* dout, const int32_t* tokens, int T, int C, int V,
                        cudaStream_t stream) {
  WS_CHECK_RANGE(T >= 0 && C > 0 && V > 0, "embedding_backward: need T >= 0, C > 0, V > 0");
  if (T == 0) return;
  embedding_backward_kernel<<<T, 128, 0, stream>>>(dwte, dout, tokens, C, V);
  WS_CUDA_LAUNCH_CHECK();
}

}  // namespace ws::cuda
