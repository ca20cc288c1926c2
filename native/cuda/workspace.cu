// Grow-only device workspaces (common.cuh): one buffer per slot, reallocated only when a larger
// size is asked for, so steady-state steps never allocate.
#include "common.cuh"

namespace ws::cuda {

void* workspace(int slot, size_t bytes) {
  static void* buf[kWsSlots] = {};
  static size_t cap[kWsSlots] = {};
  WS_CHECK(slot >= 0 && slot < kWsSlots, "workspace: bad slot ", slot);
  if (bytes > cap[slot]) {
    if (buf[slot]) WS_CUDA_CHECK(cudaFree(buf[slot]));
    buf[slot] = nullptr;
    cap[slot] = 0;
    WS_CUDA_CHECK(cudaMalloc(&buf[slot], bytes));
    cap[slot] = bytes;
  }
  return buf[slot];
}

}  // namespace ws::cuda
