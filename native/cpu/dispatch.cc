// Run-time choice of the CPU kernels' instruction-set level (isa.h). On x86-64 every kernel file
// is compiled twice (binding.gyp, CMakeLists.txt): the x86-64-v3 baseline (AVX2, FMA, F16C) into
// ws::cpu::base and x86-64-v4 (AVX-512 F/BW/CD/DQ/VL) into ws::cpu::avx512. The public ops of
// ops.h forward to one of the two tables, chosen once per process from CPUID (which also checks
// that the OS saves the AVX-512 registers), or from $WARMSTART_ISA. Both levels give the same
// bits: every sum's order is fixed in the source (16-lane vectors of simd.h, one fused multiply-
// add per term on both levels), not by the register width (test_isa.cc checks each op).
#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/error.h"
#include "isa_ops.h"

namespace ws::cpu {
namespace {

struct Ops {
#define WS_CPU_FIELD(op) decltype(&base::op) op;
  WS_CPU_ISA_OPS(WS_CPU_FIELD)
#undef WS_CPU_FIELD
  const char* name;
};

#define WS_CPU_BASE(op) &base::op,
#if defined(__x86_64__)
constexpr Ops kBase = {WS_CPU_ISA_OPS(WS_CPU_BASE) "avx2"};
#else
constexpr Ops kBase = {WS_CPU_ISA_OPS(WS_CPU_BASE) "generic"};
#endif
#undef WS_CPU_BASE

#ifdef WS_CPU_AVX512
#define WS_CPU_AVX512_OP(op) &avx512::op,
constexpr Ops kAvx512 = {WS_CPU_ISA_OPS(WS_CPU_AVX512_OP) "avx512"};
#undef WS_CPU_AVX512_OP

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#endif

const Ops* best() {
#ifdef WS_CPU_AVX512
  if (cpu_has_avx512()) return &kAvx512;
#endif
  return &kBase;
}

const Ops* pick() {
  const char* env = std::getenv("WARMSTART_ISA");
  if (!env || !*env) return best();
  const std::string want = env;
#ifdef WS_CPU_AVX512
  if (want == "avx512") {
    WS_CHECK_RANGE(cpu_has_avx512(), "WARMSTART_ISA=avx512: this CPU lacks AVX-512 (F/BW/CD/DQ/VL)");
    return &kAvx512;
  }
#else
  WS_CHECK_RANGE(want != "avx512", "WARMSTART_ISA=avx512: this build has no AVX-512 kernels");
#endif
  WS_CHECK_RANGE(want == kBase.name, "WARMSTART_ISA must be avx2 or avx512 (or unset), got '", want, "'");
  return &kBase;
}

const Ops& ops() {
  static const Ops* chosen = pick();
  return *chosen;
}

}  // namespace

const char* cpu_isa() { return ops().name; }

const char* cpu_isas_available() {
#ifdef WS_CPU_AVX512
  if (cpu_has_avx512()) return "avx512,avx2";
#endif
  return kBase.name;
}

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int T, int C, int V) {
  ops().embedding_forward(out, tokens, wte, T, C, V);
}
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int T, int C, int V) {
  ops().embedding_backward(dwte, dout, tokens, T, C, V);
}
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int T, int C, float eps) {
  ops().rmsnorm_forward(out, rstd, x, w, T, C, eps);
}
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, int T,
                      int C) {
  ops().rmsnorm_backward(dx, dw, dout, x, w, rstd, T, C);
}
void rope_forward(float* out, const float* x, const int32_t* positions, int T, int H, int D, float theta) {
  ops().rope_forward(out, x, positions, T, H, D, theta);
}
void rope_backward(float* dx, const float* dout, const int32_t* positions, int T, int H, int D, float theta) {
  ops().rope_backward(dx, dout, positions, T, H, D, theta);
}
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int num_seqs, int T, int Hq, int Hkv, int D) {
  ops().attention_forward(out, lse, q, k, v, cu_seqlens, num_seqs, T, Hq, Hkv, D);
}
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const int32_t* cu_seqlens, int num_seqs,
                        int T, int Hq, int Hkv, int D) {
  ops().attention_backward(dq, dk, dv, dout, q, k, v, out, lse, cu_seqlens, num_seqs, T, Hq, Hkv, D);
}
void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* lens,
                      int B, int max_len, int Hq, int Hkv, int D) {
  ops().attention_decode(out, q, k_cache, v_cache, lens, B, max_len, Hq, Hkv, D);
}
void swiglu_forward(float* out, const float* gate, const float* up, int64_t N) {
  ops().swiglu_forward(out, gate, up, N);
}
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t N) {
  ops().swiglu_backward(dgate, dup, dout, gate, up, N);
}
void matmul_forward(float* out, const float* x, const float* w, const float* bias, int M, int K, int N) {
  ops().matmul_forward(out, x, w, bias, M, K, N);
}
void matmul_backward(float* dx, float* dw, float* dbias, const float* dout, const float* x, const float* w, int M,
                     int K, int N) {
  ops().matmul_backward(dx, dw, dbias, dout, x, w, M, K, N);
}
void gemv_rows(float* out, const float* x, const float* w, const float* bias, int M, int K, int N) {
  ops().gemv_rows(out, x, w, bias, M, K, N);
}
void sgemm_ours(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc) {
  ops().sgemm_ours(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
HeadResult fused_head(float* logp, float* dh, float* dW, const float* h, const float* W, const int32_t* targets, int T,
                      int C, int V, const HeadObjective& obj, int chunk, float* scratch) {
  return ops().fused_head(logp, dh, dW, h, W, targets, T, C, V, obj, chunk, scratch);
}
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int step, float grad_scale) {
  ops().adamw_step(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, step, grad_scale);
}
double grad_norm_sq(const float* g, int64_t n) { return ops().grad_norm_sq(g, n); }
float clip_scale(double total_norm, float max_norm) { return ops().clip_scale(total_norm, max_norm); }
int sample_token(const float* logits, int V, float temperature, int top_k, float top_p, float u, float* logprob,
                 float* scratch, int vocab_limit) {
  return ops().sample_token(logits, V, temperature, top_k, top_p, u, logprob, scratch, vocab_limit);
}

}  // namespace ws::cpu
