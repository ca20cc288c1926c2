// Host memory for the model's large buffers, and how much of it this process may use.
//
// host_alloc_zeroed(bytes) returns 64-byte-aligned zero memory. Blocks of 1 MiB or more come
// straight from mmap: the kernel supplies zero pages on first touch, so nothing is written up
// front, a buffer that is overwritten (loaded weights) is written once, and each page lands
// with the thread that first touches it (the op that uses it). They are 2 MiB aligned and marked
// for transparent huge pages (fewer, cheaper faults). Smaller blocks: aligned_alloc + memset.
// host_free(p, bytes) takes the same byte count back.
//
// host_memory_limit() = min(physical RAM, the cgroup's limit): cgroup v2 memory.max of this
// process's cgroup and every ancestor, or cgroup v1 memory.limit_in_bytes. The paths are
// parameters so a test can point them at a fake tree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ws {

void* host_alloc_zeroed(size_t bytes);  // throws ws::Error ("out of memory ...") on failure
void host_free(void* p, size_t bytes);  // p may be null
// Faults in [p, p + bytes) of a host_alloc_zeroed block by writing it, split across the thread
// pool (madvise MADV_POPULATE_WRITE where the kernel has it, else memset). A buffer that is
// first read and then written (gradients that ops add into, Adam moments) otherwise takes two
// faults per page, the second replacing the shared zero page, which on a busy machine costs
// several times this one pass.
void host_prefault(void* p, size_t bytes);

// The cgroup limit alone (UINT64_MAX when none is set or none can be read).
uint64_t cgroup_memory_limit(const std::string& proc_self_cgroup = "/proc/self/cgroup",
                             const std::string& cgroup_root = "/sys/fs/cgroup");
uint64_t physical_memory();
uint64_t host_memory_limit();

}  // namespace ws
