// Lazily zeroed host buffers and the process's memory limit (see host_memory.h).
#include "host_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "error.h"
#include "threadpool.h"

namespace ws {

namespace {
constexpr size_t kMapMin = size_t(1) << 20;  // mmap from 1 MiB
constexpr size_t kHuge = size_t(2) << 20;    // transparent huge page size on x86-64 and arm64
size_t map_bytes(size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }
}  // namespace

void* host_alloc_zeroed(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes < kMapMin) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw ws::Error(ws::str("out of memory allocating ", bytes, " bytes"));
    std::memset(p, 0, bytes);
    return p;
  }
  // Map one huge page more than needed and trim, so the block starts on a huge-page boundary.
  const size_t want = map_bytes(bytes);
  void* m = ::mmap(nullptr, want + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw ws::Error(ws::str("out of memory allocating ", bytes, " bytes: ", std::strerror(errno)));
  uintptr_t base = reinterpret_cast<uintptr_t>(m), start = (base + kHuge - 1) / kHuge * kHuge;
  if (start > base) ::munmap(m, start - base);
  const uintptr_t end = start + want, map_end = base + want + kHuge;
  if (map_end > end) ::munmap(reinterpret_cast<void*>(end), map_end - end);
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(start), want, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  return reinterpret_cast<void*>(start);
}

void host_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kMapMin)
    std::free(p);
  else
    ::munmap(p, map_bytes(bytes));
}

void host_prefault(void* p, size_t bytes) {
  if (!p || bytes == 0) return;
  char* base = static_cast<char*>(p);
  const int64_t pages = (int64_t)((bytes + kHuge - 1) / kHuge);  // 2 MiB steps (the last may be short)
  ws::parallel_for(pages, 1, [&](int64_t a, int64_t b) {
    char* s = base + (size_t)a * kHuge;
    const size_t n = std::min(bytes, (size_t)b * kHuge) - (size_t)a * kHuge;
#ifdef MADV_POPULATE_WRITE
    if (bytes >= kMapMin && ::madvise(s, n, MADV_POPULATE_WRITE) == 0) return;
#endif
    std::memset(s, 0, n);
  });
}

namespace {

// A limit file's value: "max" (v2) or a byte count; UINT64_MAX when absent or unreadable.
uint64_t read_limit(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f || !(f >> s) || s == "max") return UINT64_MAX;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  return (end && *end == '\0' && !s.empty()) ? (uint64_t)v : UINT64_MAX;
}

// The smallest limit in `file` of `dir + path` and of each of its ancestors up to `dir`.
uint64_t min_up_tree(const std::string& dir, std::string path, const std::string& file) {
  uint64_t lim = UINT64_MAX;
  for (;;) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    lim = std::min(lim, read_limit(dir + (path == "/" ? "" : path) + "/" + file));
    if (path.empty() || path == "/") break;
    size_t slash = path.rfind('/');
    path = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  }
  return lim;
}

}  // namespace

uint64_t cgroup_memory_limit(const std::string& proc_self_cgroup, const std::string& cgroup_root) {
  std::ifstream f(proc_self_cgroup);
  uint64_t lim = UINT64_MAX;
  std::string line;
  while (std::getline(f, line)) {
    // "ID:CONTROLLERS:PATH": v2 is "0::PATH"; v1 lists "memory" among the controllers.
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') path = "/" + path;
    if (ctrls.empty()) {
      lim = std::min(lim, min_up_tree(cgroup_root, path, "memory.max"));
    } else {
      std::stringstream ss(ctrls);
      std::string c;
      while (std::getline(ss, c, ','))
        if (c == "memory") lim = std::min(lim, min_up_tree(cgroup_root + "/memory", path, "memory.limit_in_bytes"));
    }
  }
  return lim;
}

uint64_t physical_memory() { return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGE_SIZE); }

uint64_t host_memory_limit() { return std::min(physical_memory(), cgroup_memory_limit()); }

}  // namespace ws
