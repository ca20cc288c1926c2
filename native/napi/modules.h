// Each binding module registers its functions on the addon's exports.
#pragma once
#include <napi.h>

namespace ws::napi {
void init_info(Napi::Env env, Napi::Object exports);     // addon.cc: version, threads, BLAS
void init_model(Napi::Env env, Napi::Object exports);    // model.cc: the Qwen2 Model class
void init_kernels(Napi::Env env, Napi::Object exports);  // kernels.cc: exports.kernels, the CPU ops
#ifdef WS_CUDA
void init_cuda(Napi::Env env, Napi::Object exports);  // native/cuda/binding.cc (CUDA addon only)
#endif
}  // namespace ws::napi
