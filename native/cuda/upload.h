// Host -> device upload in pinned chunks (used by the model loader, native/model/qwen2_io.cc):
// two page-locked chunks, double-buffered on one stream, so the host fills one chunk while the
// GPU copies the other, and no host copy of the whole model is ever made.
//   PinnedUpload up(64 << 20);
//   for each chunk: float* h = (float*)up.next(); fill h; up.copy(dst_dev, 0, bytes); up.submit();
//   up.finish();
#pragma once
#include <cstddef>

namespace ws::cuda {

class PinnedUpload {
 public:
  explicit PinnedUpload(size_t chunk_bytes);  // throws ws::Error when pinned memory is refused
  ~PinnedUpload();
  PinnedUpload(const PinnedUpload&) = delete;
  PinnedUpload& operator=(const PinnedUpload&) = delete;
  size_t chunk_bytes() const { return bytes_; }
  void* next();                                       // the chunk to fill (its last upload done)
  void copy(void* dst, size_t offset, size_t bytes);  // queue chunk[offset, +bytes) -> dst (device)
  void submit();                                      // the chunk's copies are queued: switch chunks
  void finish();                                      // wait for every queued copy

 private:
  void release();
  size_t bytes_ = 0;
  void* host_[2] = {nullptr, nullptr};
  void* done_[2] = {nullptr, nullptr};  // cudaEvent_t
  void* stream_ = nullptr;              // cudaStream_t
  int cur_ = 0;
};

}  // namespace ws::cuda
