// The addon's entry point: registers every binding module (see modules.h).
#include <napi.h>

#include "../core/threadpool.h"
#include "../cpu/ops.h"
#include "check.h"
#include "modules.h"
#include "task.h"

namespace ws::napi {

void init_info(Napi::Env env, Napi::Object exports) {
  // The device this build's kernels run on: "cuda" in the CUDA addon (its models may still be
  // made on the CPU), "cpu" in the CPU addon.
#ifdef WS_CUDA
  exports.Set("device", Napi::String::New(env, "cuda"));
#else
  exports.Set("device", Napi::String::New(env, "cpu"));
#endif
  exports.Set("numThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                return Napi::Number::New(info.Env(), ws::num_threads());
              }));
  exports.Set("setNumThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                auto env = info.Env();
                int n = (int)integer(env, arg(info, 0), "threads", 1, 1024);
                ws::set_num_threads(n);
                return env.Undefined();
              }));
}

}  // namespace ws::napi

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ws::napi::init_jobs(env, exports);  // first: every async call registers with it
  ws::napi::init_info(env, exports);
  ws::napi::init_model(env, exports);
  ws::napi::init_kernels(env, exports);
#ifdef WS_CUDA
  ws::napi::init_cuda(env, exports);
#endif
  return exports;
}

NODE_API_MODULE(warmstart, Init)
