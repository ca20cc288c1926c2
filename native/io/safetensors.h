// safetensors files and Hugging Face checkpoints (one file or a sharded index).
//
// Format: u64 little-endian N, then N bytes of JSON header
//   {"__metadata__": {"format": "pt"}, "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
// (padded with spaces to a multiple of 8), then the data section; [b, e) is relative to it.
// Reading follows the reference implementation's checks: the header fits the file and is at most
// 100 MB, is strict JSON, every tensor has a known dtype, a shape of non-negative integers and
// e - b == numel * dtype size, the tensors tile the data section exactly (no gap, no overlap) and
// the data section ends at the end of the file. Every error is a ws::Error that names the file
// (and the tensor, where one is at fault). Nothing crashes on a bad file.
//
// Usage:
//   using namespace ws::io;
//   Checkpoint ck = Checkpoint::open("models/qwen");   // model.safetensors, else the sharded index
//   for (const std::string& name : ck.names()) {
//     const TensorInfo& t = ck.info(name);              // dtype, shape, numel
//     std::vector<float> buf(t.numel());
//     ck.read_f32(name, buf.data(), t.numel());          // F32/BF16/F16 -> f32, parallel when big
//   }
//   std::vector<TensorToWrite> ts = {{"model.norm.weight", {64}, w}};
//   SaveOptions o; o.dtype = DType::BF16; o.max_shard_bytes = 2'000'000'000;
//   std::vector<std::string> files = save_checkpoint("out_dir", ts, o);  // each file fsync'd
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ws::io {

// Every dtype of the safetensors format (so any valid file can be listed); read_f32 converts
// F32, BF16 and F16 and throws for the others.
enum class DType { BOOL, U8, I8, F8_E4M3, F8_E5M2, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };
const char* dtype_name(DType d);                         // "F32", "BF16", ...
size_t dtype_size(DType d);                              // bytes per element
bool dtype_from_name(const std::string& s, DType* out);  // false when unknown

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
  int64_t numel() const;        // product of shape (1 for a scalar)
  size_t nbytes() const { return (size_t)(end - begin); }
};

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

// One safetensors file (read-only): the header is read through a mapping, the tensors with pread
// (read_f32, read_f32_range). Movable, not copyable; unmaps and closes on destruction.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);  // throws ws::Error naming the file
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }               // in data-offset order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // __metadata__
  const TensorInfo* find(const std::string& name) const;                            // nullptr when absent
  // Raw bytes of a tensor (little-endian, as stored).
  const uint8_t* data(const TensorInfo& t) const { return data_ + t.begin; }
  // Converts tensor `name` to f32 into out[0, numel). Throws (naming file and tensor) when the
  // tensor is absent, numel differs from the tensor's, or the dtype is not F32/BF16/F16.
  void read_f32(const std::string& name, float* out, int64_t numel) const;
  // Elements [first, first + count) of tensor t (one of tensors()) as f32 into out[0, count):
  // read with pread straight into out (F32), or into `scratch` and widened (BF16/F16). Safe to
  // call from several threads at once (each with its own scratch). Throws naming the file and
  // tensor for another dtype, a range outside the tensor or a read error.
  void read_f32_range(const TensorInfo& t, int64_t first, int64_t count, float* out,
                      std::vector<uint16_t>& scratch) const;
  void check_convertible(const TensorInfo& t) const;  // throws unless F32/BF16/F16
  // Asks the kernel to start reading elements [first, first + count) of t into the page cache
  // (posix_fadvise WILLNEED), so a later read_f32_range finds them there; advice only.
  void prefetch(const TensorInfo& t, int64_t first, int64_t count) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A Hugging Face model folder's weights: `model.safetensors` when present (Transformers' order),
// else `model.safetensors.index.json` (weight_map: tensor -> shard file; each shard opened once;
// every listed tensor must be in its shard). names() is the set of tensors (sorted); for a sharded checkpoint,
// tensors that a shard holds but the index does not list are ignored, as Transformers does.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& dir);
  const std::string& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  const std::vector<std::string>& names() const { return names_; }
  const TensorInfo* find(const std::string& name) const;      // nullptr when absent
  const TensorInfo& info(const std::string& name) const;      // throws naming the folder and tensor
  const std::string& file_of(const std::string& name) const;  // path of the file holding it
  void read_f32(const std::string& name, float* out, int64_t numel) const;
  size_t num_files() const { return files_.size(); }
  const SafetensorsFile& file_holding(const std::string& name) const;  // throws naming the folder and tensor

 private:
  std::string dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;  // name -> (file, info)
  std::vector<std::string> names_;
};

// ---- writing ----------------------------------------------------------------------------------

struct TensorToWrite {
  std::string name;  // Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  const float* data = nullptr;  // numel(shape) floats, row-major
};

// Writes one safetensors file at `path` with every tensor in `dtype` (F32, BF16 or F16; BF16/F16
// round to nearest even). Tensors are laid out sorted by name (as the reference writer does for
// one dtype), the header is compact JSON padded with spaces to a multiple of 8, `metadata` (may
// be empty) goes in "__metadata__". The file is written fully, then fsync'd. Throws ws::Error
// (naming the file or tensor) for duplicate/empty names, bad shapes, null data or I/O errors.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata);

struct SaveOptions {
  DType dtype = DType::F32;
  // Shard when the tensor bytes exceed this (Transformers' default "5GB" = 5e9 bytes). Tensors are
  // assigned in the caller's order; a new shard starts when the next tensor would overflow the
  // current one; a tensor bigger than the limit gets a shard of its own.
  uint64_t max_shard_bytes = 5'000'000'000ull;
  bool pt_metadata = true;  // write __metadata__ {"format": "pt"} (Transformers expects it)
};

// Writes the weights of a checkpoint into the existing folder `dir`: `model.safetensors` when
// everything fits one shard, else `model-00001-of-0000N.safetensors` ... plus
// `model.safetensors.index.json` ({"metadata": {"total_size": bytes of tensor data},
// "weight_map": {name: file}}, keys sorted, indent 2). Returns the file names written (relative
// to dir; the index last when sharded).
std::vector<std::string> save_checkpoint(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                                         const SaveOptions& opt);

// Writes `text` to `path` fully and fsyncs it (for config.json and the index). Throws ws::Error.
void write_file_synced(const std::string& path, const std::string& text);

}  // namespace ws::io
