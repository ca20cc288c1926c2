// A Qwen2 model's weights and optimizer state on disk, in Hugging Face names (native/io does
// the safetensors format). Loading checks every tensor's name, shape and dtype before it writes
// anything, then reads each tensor with pread straight into its place (bf16/f16 widened on the
// way, several threads at once): into the parameters themselves when the model is fresh() (no
// weights yet, as loadModel makes it), else into a second buffer that replaces the parameters
// only once every tensor was read. On CUDA the converted chunks go through two pinned buffers to
// the device; no host copy of the model is made. These functions touch the model only through its locked calls
// (Qwen2::load_master, read_host, write_host).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../io/safetensors.h"
#include "qwen2.h"

namespace ws::model {

// Reads model.safetensors or the sharded index of `dir`. Errors name the file and tensor:
// a missing or unexpected tensor, a shape that config.json does not imply, a dtype that is not
// F32/BF16/F16, and every format error of native/io.
struct LoadControl {
  // Called on the loading thread after each chunk (about 64 MiB of parameters) with the bytes of
  // tensor data read so far and in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Set by another thread: the load stops before its next chunk with ws::Error "loading aborted".
  const std::atomic<bool>* cancel = nullptr;
};
void load_weights(Qwen2& m, const std::string& dir, const LoadControl& ctl = {});

// Host bytes that making and loading a model of `num_params` parameters on device d needs: on
// the CPU the fp32 parameters (the only copy) and the readers' scratch; on CUDA only the pinned
// chunks and scratch (the parameters live on the device).
uint64_t load_host_bytes(double num_params, Device d);

// Writes the weights into the existing folder `dir` (native/io's save_checkpoint); returns the files.
std::vector<std::string> save_weights(Qwen2& m, const std::string& dir, const ws::io::SaveOptions& opt);

// AdamW state: one f32 safetensors file holding NAME.exp_avg and NAME.exp_avg_sq for every
// parameter, the step count in its metadata ("step").
void save_optimizer(Qwen2& m, const std::string& path);
void load_optimizer(Qwen2& m, const std::string& path);

}  // namespace ws::model
