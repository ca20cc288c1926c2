// A Qwen2 model's weights and optimizer state on disk, in Hugging Face names (native/io does
// the safetensors format). Loading is all or nothing: tensors are read into a staging buffer
// and copied into the model only when every one was found, shaped right and converted.
// These functions take the model's lock for the moment they touch its buffers.
#pragma once
#include <string>
#include <vector>

#include "../io/safetensors.h"
#include "qwen2.h"

namespace ws::model {

// Reads model.safetensors or the sharded index of `dir`. Errors name the file and tensor:
// a missing or unexpected tensor, a shape that config.json does not imply, a dtype that is not
// F32/BF16/F16, and every format error of native/io.
void load_weights(Qwen2& m, const std::string& dir);

// Writes the weights into the existing folder `dir` (native/io's save_checkpoint); returns the files.
std::vector<std::string> save_weights(Qwen2& m, const std::string& dir, const ws::io::SaveOptions& opt);

// AdamW state: one f32 safetensors file holding NAME.exp_avg and NAME.exp_avg_sq for every
// parameter, the step count in its metadata ("step").
void save_optimizer(Qwen2& m, const std::string& path);
void load_optimizer(Qwen2& m, const std::string& path);

}  // namespace ws::model
