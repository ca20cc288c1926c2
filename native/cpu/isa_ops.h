// Both instruction-set levels' copies of the dispatched ops (isa.h): ws::cpu::base::op and, where
// the build compiled them (WS_CPU_AVX512), ws::cpu::avx512::op, each with the type of the public
// ws::cpu::op of ops.h. For dispatch.cc and the test that compares the levels (test_isa.cc).
#pragma once
#include "ops.h"

// Every op of ops.h that the kernel files define (not the sgemm backend's functions).
#define WS_CPU_ISA_OPS(X) \
  X(embedding_forward)    \
  X(embedding_backward)   \
  X(rmsnorm_forward)      \
  X(rmsnorm_backward)     \
  X(rope_forward)         \
  X(rope_backward)        \
  X(attention_forward)    \
  X(attention_backward)   \
  X(attention_decode)     \
  X(swiglu_forward)       \
  X(swiglu_backward)      \
  X(matmul_forward)       \
  X(matmul_backward)      \
  X(gemv_rows)            \
  X(sgemm_ours)           \
  X(fused_head)           \
  X(adamw_step)           \
  X(grad_norm_sq)         \
  X(clip_scale)           \
  X(sample_token)

#define WS_CPU_DECLARE_OP(op) decltype(ws::cpu::op) op;
namespace ws::cpu::base {
WS_CPU_ISA_OPS(WS_CPU_DECLARE_OP)
}  // namespace ws::cpu::base
#ifdef WS_CPU_AVX512
namespace ws::cpu::avx512 {
WS_CPU_ISA_OPS(WS_CPU_DECLARE_OP)
}  // namespace ws::cpu::avx512
#endif
#undef WS_CPU_DECLARE_OP
