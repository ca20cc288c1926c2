// Pinned, double-buffered host -> device upload (see upload.h). Chunk i's copies are recorded by
// event i; next() waits on that event before the host overwrites chunk i.
#include "common.cuh"
#include "upload.h"

namespace ws::cuda {

PinnedUpload::PinnedUpload(size_t chunk_bytes) : bytes_(chunk_bytes) {
  try {
    cudaStream_t s;
    WS_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream_ = s;
    for (int i = 0; i < 2; ++i) {
      cudaEvent_t e;
      WS_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      done_[i] = e;
      WS_CUDA_CHECK(cudaHostAlloc(&host_[i], bytes_, cudaHostAllocDefault));
    }
  } catch (...) {
    release();
    throw;
  }
}

PinnedUpload::~PinnedUpload() { release(); }

void PinnedUpload::release() {  // never throws: errors here are ignored
  if (stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  for (int i = 0; i < 2; ++i) {
    if (host_[i]) cudaFreeHost(host_[i]);
    if (done_[i]) cudaEventDestroy(static_cast<cudaEvent_t>(done_[i]));
  }
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  host_[0] = host_[1] = done_[0] = done_[1] = stream_ = nullptr;
}

void* PinnedUpload::next() {
  WS_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(done_[cur_])));
  return host_[cur_];
}

void PinnedUpload::copy(void* dst, size_t offset, size_t bytes) {
  WS_CHECK(offset + bytes <= bytes_, "PinnedUpload: copy of [", offset, ", ", offset + bytes, ") outside the ", bytes_,
           "-byte chunk");
  if (bytes)
    WS_CUDA_CHECK(cudaMemcpyAsync(dst, static_cast<char*>(host_[cur_]) + offset, bytes, cudaMemcpyHostToDevice,
                                  static_cast<cudaStream_t>(stream_)));
}

void PinnedUpload::submit() {
  WS_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(done_[cur_]), static_cast<cudaStream_t>(stream_)));
  cur_ ^= 1;
}

void PinnedUpload::finish() { WS_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_))); }

}  // namespace ws::cuda
