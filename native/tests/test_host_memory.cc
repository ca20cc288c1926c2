// core/host_memory: lazily zeroed buffers are zero, aligned and writable at every size; the
// cgroup limit is read from fake v2 and v1 trees (the smallest limit on the path up, "max" and
// absent files meaning none), and host_memory_limit never exceeds physical memory.
#include "../core/host_memory.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::string tree(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("ws-cgroup-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void put(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST(zeroed_aligned_writable_at_every_size) {
  for (size_t bytes :
       {size_t(1), size_t(4000), (size_t(1) << 20) - 1, size_t(1) << 20, size_t(3) << 20, (size_t(5) << 20) + 12345}) {
    auto* p = static_cast<unsigned char*>(ws::host_alloc_zeroed(bytes));
    CHECK(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < bytes; i += 997) nonzero += p[i] != 0;
    nonzero += p[bytes - 1] != 0;
    CHECK(nonzero == 0);
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 7;
    p[bytes - 1] = 9;
    CHECK(p[bytes - 1] == 9);
    ws::host_free(p, bytes);
  }
  CHECK(ws::host_alloc_zeroed(0) == nullptr);
}

TEST(cgroup_v2_smallest_limit_up_the_path) {
  std::string r = tree("v2");
  put(r + "/proc_cgroup", "0::/user.slice/job\n");
  put(r + "/fs/memory.max", "max\n");
  put(r + "/fs/user.slice/memory.max", "8589934592\n");
  put(r + "/fs/user.slice/job/memory.max", "max\n");
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == 8589934592ull);
  put(r + "/fs/user.slice/job/memory.max", "1073741824\n");
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == 1073741824ull);
  put(r + "/proc_cgroup", "0::/\n");  // a cgroup namespace: the root of the mount is ours
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == UINT64_MAX);
  put(r + "/fs/memory.max", "2147483648\n");
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == 2147483648ull);
  fs::remove_all(r);
}

TEST(cgroup_v1_memory_controller) {
  std::string r = tree("v1");
  put(r + "/proc_cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  put(r + "/fs/memory/docker/abc/memory.limit_in_bytes", "3221225472\n");
  put(r + "/fs/memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "no limit"
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == 3221225472ull);
  put(r + "/fs/memory/docker/abc/memory.limit_in_bytes", "garbage\n");
  CHECK(ws::cgroup_memory_limit(r + "/proc_cgroup", r + "/fs") == 9223372036854771712ull);
  CHECK(ws::cgroup_memory_limit(r + "/missing", r + "/fs") == UINT64_MAX);
  fs::remove_all(r);
}

TEST(limit_at_most_physical_memory) {
  CHECK(ws::physical_memory() > (uint64_t(1) << 26));
  CHECK(ws::host_memory_limit() <= ws::physical_memory());
}

int main() { return wstest::run_tests(); }
