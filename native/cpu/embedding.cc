// Token embedding.
//   forward:  out[t, :] = wte[tokens[t], :]            tokens[T] in [0, V), wte[V, C]
//   backward: dwte[tokens[t], :] += dout[t, :]
// The backward splits the columns of dwte among the threads (every thread walks all tokens over
// its own columns), so repeated tokens never race and the sum order is fixed.
#include <cstring>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"

namespace ws::cpu::WS_CPU_ISA {

static void check_embedding(const int32_t* tokens, int T, int C, int V) {
  WS_CHECK_RANGE(T >= 0, "embedding: T must be >= 0, got ", T);
  WS_CHECK_RANGE(C > 0, "embedding: C must be > 0, got ", C);
  WS_CHECK_RANGE(V > 0, "embedding: V must be > 0, got ", V);
  for (int t = 0; t < T; ++t)
    WS_CHECK_RANGE(tokens[t] >= 0 && tokens[t] < V, "embedding: tokens[", t, "] = ", tokens[t], " is outside [0, ", V,
                   ")");
}

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int T, int C, int V) {
  check_embedding(tokens, T, C, V);
  parallel_for(T, 1 + 32768 / C, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) std::memcpy(out + t * C, wte + (int64_t)tokens[t] * C, sizeof(float) * C);
  });
}

void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int T, int C, int V) {
  check_embedding(tokens, T, C, V);
  parallel_for(C, 64, [&](int64_t c0, int64_t c1) {
    for (int t = 0; t < T; ++t) {
      float* dst = dwte + (int64_t)tokens[t] * C;
      const float* src = dout + (int64_t)t * C;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
