// The CUDA addon's extra binding (compiled only into build-cuda's warmstart_cuda.node, with
// WS_CUDA defined): exports.cuda = { gpuInfo() } so the loader can ask whether a GPU answers.
// gpuInfo() throws a JavaScript Error naming the CUDA error when no usable device is there.
#include <cuda_runtime.h>
#include <napi.h>

#include <string>

#include "../napi/modules.h"

namespace ws::napi {

void init_cuda(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("gpuInfo", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
             auto env = info.Env();
             int count = 0;
             cudaError_t err = cudaGetDeviceCount(&count);
             if (err != cudaSuccess || count == 0) {
               std::string why = err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA device";
               Napi::Error::New(env, "warmstart CUDA addon: no usable GPU (" + why + ")").ThrowAsJavaScriptException();
               return env.Undefined();
             }
             cudaDeviceProp prop{};
             int dev = 0;
             cudaGetDevice(&dev);
             err = cudaGetDeviceProperties(&prop, dev);
             if (err != cudaSuccess) {
               Napi::Error::New(env, std::string("warmstart CUDA addon: ") + cudaGetErrorString(err))
                   .ThrowAsJavaScriptException();
               return env.Undefined();
             }
             int runtime = 0, driver = 0;
             cudaRuntimeGetVersion(&runtime);
             cudaDriverGetVersion(&driver);
             Napi::Object o = Napi::Object::New(env);
             o.Set("name", Napi::String::New(env, prop.name));
             o.Set("computeCapability",
                   Napi::String::New(env, std::to_string(prop.major) + "." + std::to_string(prop.minor)));
             o.Set("memoryBytes", Napi::Number::New(env, (double)prop.totalGlobalMem));
             o.Set("multiprocessors", Napi::Number::New(env, prop.multiProcessorCount));
             o.Set("devices", Napi::Number::New(env, count));
             o.Set("runtimeVersion", Napi::Number::New(env, runtime));
             o.Set("driverVersion", Napi::Number::New(env, driver));
             return o;
           }));
  exports.Set("cuda", cuda);
}

}  // namespace ws::napi
