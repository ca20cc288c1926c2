// The instruction-set level a kernel file of native/cpu/ is compiled for. Each kernel file is
// compiled once per level into its own namespace, ws::cpu::WS_CPU_ISA: `base` (x86-64-v3: AVX2,
// FMA, F16C; the target's default elsewhere) and, on x86-64, `avx512` (x86-64-v4, with
// -DWS_CPU_ISA=avx512). Inline helpers (simd.h) live in the same namespace, so no function is
// shared between the levels. dispatch.cc defines the public ops of ops.h and picks one level per
// process (isa_ops.h declares both).
#pragma once

#ifndef WS_CPU_ISA
#define WS_CPU_ISA base
#endif
