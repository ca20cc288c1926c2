// Each binding module registers its functions on the addon's exports.
#pragma once
#include <napi.h>

namespace ws::napi {
void init_info(Napi::Env env, Napi::Object exports);     // addon.cc: version, threads, BLAS
}  // namespace ws::napi
