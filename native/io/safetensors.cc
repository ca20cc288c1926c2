// safetensors reading (mmap + validation), f32 conversion, writing and sharded checkpoints.
#include "safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "half.h"
#include "json.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace ws::io {

namespace {

struct DTypeRow {
  DType d;
  const char* name;
  size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {DType::BOOL, "BOOL", 1},       {DType::U8, "U8", 1},   {DType::I8, "I8", 1},   {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1}, {DType::I16, "I16", 2}, {DType::U16, "U16", 2}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},       {DType::I32, "I32", 4}, {DType::U32, "U32", 4}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},         {DType::I64, "I64", 8}, {DType::U64, "U64", 8},
};

std::string errno_text(int e) { return std::strerror(e); }

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block (see open below)
  WS_CHECK(fd >= 0, path, ": cannot open: ", errno_text(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ws::Error(ws::str(path, ": not a regular file"));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      throw ws::Error(ws::str(path, ": read failed: ", errno_text(e)));
    }
    if (r == 0) break;
    out.append(buf, (size_t)r);
    if (out.size() > kMaxHeaderBytes) {
      ::close(fd);
      throw ws::Error(ws::str(path, ": larger than 100 MB, not an index file"));
    }
  }
  ::close(fd);
  return out;
}

// Writes all of [p, p+n) to fd, retrying partial writes.
void write_all(int fd, const void* p, size_t n, const std::string& path) {
  const char* c = (const char*)p;
  while (n) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    WS_CHECK(w > 0, path, ": write failed: ", errno_text(errno));
    c += w;
    n -= (size_t)w;
  }
}

// Opens path for writing; on any exception in body the file is closed and removed.
template <typename F>
void write_synced(const std::string& path, F&& body) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  WS_CHECK(fd >= 0, path, ": cannot create: ", errno_text(errno));
  try {
    body(fd);
    WS_CHECK(::fsync(fd) == 0, path, ": fsync failed: ", errno_text(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(path.c_str());
    throw ws::Error(ws::str(path, ": close failed: ", errno_text(e)));
  }
}

// numel of a shape, or -1 on overflow beyond 2^62.
int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > (int64_t(1) << 62) / d) return -1;
    n *= d;
  }
  return n;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

TensorInfo parse_tensor_entry(const std::string& name, const json::Value& v, const std::string& path) {
  std::string where = ws::str(path, ": tensor \"", name, "\"");
  WS_CHECK(v.is_object(), where, ": expected an object, got ", json::type_name(v.type));
  TensorInfo t;
  t.name = name;
  const std::string& dt = v.at("dtype", where).as_string(where + ": dtype");
  WS_CHECK(dtype_from_name(dt, &t.dtype), where, ": unsupported dtype \"", dt, "\"");
  const json::Value& shape = v.at("shape", where);
  WS_CHECK(shape.is_array(), where, ": shape: expected an array, got ", json::type_name(shape.type));
  for (auto& d : shape.array) {
    WS_CHECK(d.is_number() && d.is_integer && d.integer >= 0, where, ": shape ", json::dump(shape),
             " must hold non-negative integers");
    t.shape.push_back(d.integer);
  }
  const json::Value& off = v.at("data_offsets", where);
  WS_CHECK(off.is_array() && off.array.size() == 2, where, ": data_offsets must be [begin, end]");
  for (auto& o : off.array)
    WS_CHECK(o.is_number() && o.is_integer && o.integer >= 0, where, ": data_offsets ", json::dump(off),
             " must be non-negative integers");
  t.begin = (uint64_t)off.array[0].integer;
  t.end = (uint64_t)off.array[1].integer;
  WS_CHECK(t.begin <= t.end, where, ": data_offsets [", t.begin, ", ", t.end, "] end before begin");
  int64_t n = checked_numel(t.shape);
  WS_CHECK(n >= 0, where, ": shape ", shape_text(t.shape), " is too large");
  uint64_t want = (uint64_t)n * dtype_size(t.dtype);
  WS_CHECK(t.end - t.begin == want, where, ": data_offsets [", t.begin, ", ", t.end, "] hold ", t.end - t.begin,
           " bytes but shape ", shape_text(t.shape), " of ", dt, " needs ", want);
  return t;
}

}  // namespace

const char* dtype_name(DType d) {
  for (auto& r : kDTypes)
    if (r.d == d) return r.name;
  return "?";
}

size_t dtype_size(DType d) {
  for (auto& r : kDTypes)
    if (r.d == d) return r.size;
  return 0;
}

bool dtype_from_name(const std::string& s, DType* out) {
  for (auto& r : kDTypes)
    if (s == r.name) {
      *out = r.d;
      return true;
    }
  return false;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---- reading ------------------------------------------------------------------------------------

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_size_);
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
    map_ = o.map_;
    map_size_ = o.map_size_;
    data_ = o.data_;
    tensors_ = std::move(o.tensors_);
    index_ = std::move(o.index_);
    metadata_ = std::move(o.metadata_);
    o.map_ = nullptr;
    o.map_size_ = 0;
    o.data_ = nullptr;
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
  if (fd_ >= 0) ::close(fd_);
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it is
  // then refused below as not a regular file (reads from regular files ignore the flag).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    WS_CHECK(e != ENOENT, path, ": file not found");
    throw ws::Error(ws::str(path, ": cannot open: ", errno_text(e)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ws::Error(ws::str(path, ": not a regular file"));
  }
  uint64_t size = (uint64_t)st.st_size;
  if (size < 8) {
    ::close(fd);
    throw ws::Error(
        ws::str(path, ": truncated safetensors file (", size, " bytes; the 8-byte header length is missing)"));
  }
  f.fd_ = fd;  // kept for read_f32_range; closed with f
  void* m = ::mmap(nullptr, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  WS_CHECK(m != MAP_FAILED, path, ": mmap failed: ", errno_text(errno));
  f.map_ = m;
  f.map_size_ = (size_t)size;
  const uint8_t* base = (const uint8_t*)m;

  uint64_t n;
  std::memcpy(&n, base, 8);
  WS_CHECK(n <= kMaxHeaderBytes, path, ": header length ", n,
           " bytes exceeds the 100 MB limit (corrupt or not a safetensors file)");
  WS_CHECK(n <= size - 8, path, ": header length ", n, " is larger than the file (", size,
           " bytes): truncated or corrupt file");
  WS_CHECK(n >= 2 && base[8] == '{', path, ": corrupt header (it must be a JSON object starting with '{')");
  json::Value header = json::parse(std::string_view((const char*)base + 8, (size_t)n), path + " header");
  WS_CHECK(header.is_object(), path, ": corrupt header (not a JSON object)");

  for (auto& kv : header.object) {
    if (kv.first == "__metadata__") {
      WS_CHECK(kv.second.is_object(), path, ": __metadata__ must be an object of strings");
      for (auto& m2 : kv.second.object) {
        WS_CHECK(m2.second.is_string(), path, ": __metadata__ \"", m2.first, "\" must be a string");
        f.metadata_[m2.first] = m2.second.string;
      }
      continue;
    }
    f.tensors_.push_back(parse_tensor_entry(kv.first, kv.second, path));
  }

  // The tensors must tile the data section: sorted by offset, no gap, no overlap, ending at EOF.
  uint64_t data_size = size - 8 - n;
  std::stable_sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (auto& t : f.tensors_) {
    WS_CHECK(t.end <= data_size, path, ": tensor \"", t.name, "\": data_offsets [", t.begin, ", ", t.end,
             "] run past the end of the file (data section is ", data_size, " bytes): truncated file");
    WS_CHECK(t.begin >= pos, path, ": tensor \"", t.name, "\": data_offsets [", t.begin, ", ", t.end,
             "] overlap tensor \"", prev ? prev->name : "", "\"");
    WS_CHECK(t.begin == pos, path, ": tensor \"", t.name, "\": data_offsets [", t.begin, ", ", t.end,
             "] leave a gap of ", t.begin - pos, " bytes after offset ", pos);
    pos = t.end;
    prev = &t;
  }
  WS_CHECK(pos == data_size, path, ": ", data_size - pos, " bytes after the last tensor (header and data disagree)");
  f.data_ = base + 8 + n;
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::read_f32(const std::string& name, float* out, int64_t numel) const {
  const TensorInfo* t = find(name);
  WS_CHECK(t, path_, ": no tensor \"", name, "\"");
  WS_CHECK(t->numel() == numel, path_, ": tensor \"", name, "\" has ", t->numel(), " elements (shape ",
           shape_text(t->shape), "), the caller expects ", numel);
  WS_CHECK(out || numel == 0, path_, ": tensor \"", name, "\": null output buffer");
  check_convertible(*t);
  constexpr int64_t kPiece = int64_t(1) << 20;
  const int64_t pieces = (numel + kPiece - 1) / kPiece;
  ws::parallel_for(pieces, 1, [&](int64_t p0, int64_t p1) {
    std::vector<uint16_t> scratch;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t first = p * kPiece;
      read_f32_range(*t, first, std::min(kPiece, numel - first), out + first, scratch);
    }
  });
}

void SafetensorsFile::check_convertible(const TensorInfo& t) const {
  WS_CHECK(t.dtype == DType::F32 || t.dtype == DType::BF16 || t.dtype == DType::F16, path_, ": tensor \"", t.name,
           "\": unsupported dtype ", dtype_name(t.dtype), " (F32, BF16 and F16 can be loaded)");
}

void SafetensorsFile::prefetch(const TensorInfo& t, int64_t first, int64_t count) const {
  const size_t es = dtype_size(t.dtype);
  const uint64_t at = (uint64_t)(data_ - static_cast<const uint8_t*>(map_)) + t.begin + (uint64_t)first * es;
  ::posix_fadvise(fd_, (off_t)at, (off_t)((uint64_t)count * es), POSIX_FADV_WILLNEED);
}

void SafetensorsFile::read_f32_range(const TensorInfo& t, int64_t first, int64_t count, float* out,
                                     std::vector<uint16_t>& scratch) const {
  check_convertible(t);
  WS_CHECK(first >= 0 && count >= 0 && first + count <= t.numel(), path_, ": tensor \"", t.name, "\": elements [",
           first, ", ", first + count, ") are outside its ", t.numel());
  if (count == 0) return;
  const size_t es = dtype_size(t.dtype);
  const uint64_t at = (uint64_t)(data_ - static_cast<const uint8_t*>(map_)) + t.begin + (uint64_t)first * es;
  void* dst = out;
  if (t.dtype != DType::F32) {
    if (scratch.size() < (size_t)count) scratch.resize((size_t)count);
    dst = scratch.data();
  }
  // pread straight into place (or the 16-bit scratch): no mapping, so the file's pages never
  // count in this process's memory; each byte is read once.
  size_t want = (size_t)count * es, got = 0;
  while (got < want) {
    ssize_t r = ::pread(fd_, static_cast<char*>(dst) + got, want - got, (off_t)(at + got));
    if (r < 0 && errno == EINTR) continue;
    WS_CHECK(r > 0, path_, ": tensor \"", t.name, "\": read failed at byte ", at + got, ": ",
             r == 0 ? std::string("unexpected end of file (truncated while open?)") : errno_text(errno));
    got += (size_t)r;
  }
  if (t.dtype == DType::BF16)
    for (int64_t i = 0; i < count; ++i) out[i] = bf16_to_f32(scratch[(size_t)i]);
  else if (t.dtype == DType::F16)
    for (int64_t i = 0; i < count; ++i) out[i] = f16_to_f32(scratch[(size_t)i]);
}

// ---- checkpoints ---------------------------------------------------------------------------------

Checkpoint Checkpoint::open(const std::string& dir) {
  Checkpoint ck;
  ck.dir_ = dir;
  struct stat st;
  WS_CHECK(::stat(dir.c_str(), &st) == 0, dir, ": model folder not found");
  WS_CHECK(S_ISDIR(st.st_mode), dir, ": not a folder");
  std::string single = join_path(dir, "model.safetensors");
  std::string index_path = join_path(dir, "model.safetensors.index.json");
  if (file_exists(single)) {
    ck.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(single)));
    for (auto& t : ck.files_[0]->tensors()) ck.where_[t.name] = {0, &t};
  } else {
    WS_CHECK(file_exists(index_path), dir, ": no model.safetensors or model.safetensors.index.json");
    ck.sharded_ = true;
    json::Value idx = json::parse(read_text_file(index_path), index_path);
    const json::Value& wm = idx.at("weight_map", index_path);
    WS_CHECK(wm.is_object(), index_path, ": weight_map must be an object");
    WS_CHECK(!wm.object.empty(), index_path, ": weight_map is empty");
    std::map<std::string, size_t> shard_of_file;
    for (auto& kv : wm.object) {
      const std::string& file = kv.second.as_string(ws::str(index_path, ": weight_map \"", kv.first, "\""));
      WS_CHECK(!file.empty() && file.find('/') == std::string::npos && file.find('\\') == std::string::npos &&
                   file != "." && file != "..",
               index_path, ": weight_map \"", kv.first, "\": shard \"", file, "\" must be a file name in the folder");
      auto it = shard_of_file.find(file);
      if (it == shard_of_file.end()) {
        ck.files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(join_path(dir, file))));
        it = shard_of_file.emplace(file, ck.files_.size() - 1).first;
      }
      const SafetensorsFile& sf = *ck.files_[it->second];
      const TensorInfo* t = sf.find(kv.first);
      WS_CHECK(t, index_path, ": tensor \"", kv.first, "\" is listed in shard ", file, " but ", sf.path(),
               " has no such tensor");
      ck.where_[kv.first] = {it->second, t};
    }
  }
  for (auto& kv : ck.where_) ck.names_.push_back(kv.first);
  return ck;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : it->second.second;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  const TensorInfo* t = find(name);
  WS_CHECK(t, dir_, ": checkpoint has no tensor \"", name, "\"");
  return *t;
}

const std::string& Checkpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  WS_CHECK(it != where_.end(), dir_, ": checkpoint has no tensor \"", name, "\"");
  return files_[it->second.first]->path();
}

const SafetensorsFile& Checkpoint::file_holding(const std::string& name) const {
  auto it = where_.find(name);
  WS_CHECK(it != where_.end(), dir_, ": checkpoint has no tensor \"", name, "\"");
  return *files_[it->second.first];
}

void Checkpoint::read_f32(const std::string& name, float* out, int64_t numel) const {
  auto it = where_.find(name);
  WS_CHECK(it != where_.end(), dir_, ": checkpoint has no tensor \"", name, "\"");
  files_[it->second.first]->read_f32(name, out, numel);
}

// ---- writing -------------------------------------------------------------------------------------

void write_file_synced(const std::string& path, const std::string& text) {
  write_synced(path, [&](int fd) { write_all(fd, text.data(), text.size(), path); });
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata) {
  WS_CHECK(dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16, path,
           ": can write F32, BF16 or F16, not ", dtype_name(dtype));
  size_t es = dtype_size(dtype);
  std::set<std::string> names;
  for (auto& t : tensors) {
    WS_CHECK(!t.name.empty() && t.name != "__metadata__", path, ": invalid tensor name \"", t.name, "\"");
    WS_CHECK(names.insert(t.name).second, path, ": tensor \"", t.name, "\" given twice");
    int64_t n = checked_numel(t.shape);
    WS_CHECK(n >= 0, path, ": tensor \"", t.name, "\": invalid shape ", shape_text(t.shape));
    WS_CHECK(t.data || n == 0, path, ": tensor \"", t.name, "\": null data");
  }
  std::vector<const TensorToWrite*> order;
  for (auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });

  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (auto& kv : metadata) {
      if (!first) h += ',';
      first = false;
      h += json::quote(kv.first) + ":" + json::quote(kv.second);
    }
    h += "}";
  }
  uint64_t off = 0;
  for (auto* t : order) {
    uint64_t bytes = (uint64_t)checked_numel(t->shape) * es;
    if (h.size() > 1) h += ',';
    h += json::quote(t->name) + ":{\"dtype\":\"" + dtype_name(dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t->shape.size(); ++i) h += (i ? "," : "") + std::to_string(t->shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + bytes) + "]}";
    off += bytes;
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  WS_CHECK(h.size() <= kMaxHeaderBytes, path, ": header would exceed 100 MB");

  write_synced(path, [&](int fd) {
    uint64_t n = h.size();
    write_all(fd, &n, 8, path);
    write_all(fd, h.data(), h.size(), path);
    constexpr int64_t kChunk = 1 << 20;
    std::vector<uint16_t> buf;
    for (auto* t : order) {
      int64_t numel = checked_numel(t->shape);
      if (dtype == DType::F32) {
        write_all(fd, t->data, (size_t)numel * 4, path);
        continue;
      }
      for (int64_t b = 0; b < numel; b += kChunk) {
        int64_t e = std::min(numel, b + kChunk);
        buf.resize((size_t)(e - b));
        ws::parallel_for(e - b, int64_t(1) << 15, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i)
            buf[(size_t)i] = dtype == DType::BF16 ? f32_to_bf16(t->data[b + i]) : f32_to_f16(t->data[b + i]);
        });
        write_all(fd, buf.data(), buf.size() * 2, path);
      }
    }
  });
}

std::vector<std::string> save_checkpoint(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                                         const SaveOptions& opt) {
  WS_CHECK(!tensors.empty(), dir, ": no tensors to save");
  WS_CHECK(opt.max_shard_bytes > 0, dir, ": max_shard_bytes must be positive");
  size_t es = dtype_size(opt.dtype);
  std::vector<std::vector<TensorToWrite>> shards(1);
  uint64_t cur = 0, total = 0;
  for (auto& t : tensors) {
    int64_t n = checked_numel(t.shape);
    WS_CHECK(n >= 0, dir, ": tensor \"", t.name, "\": invalid shape ", shape_text(t.shape));
    uint64_t bytes = (uint64_t)n * es;
    if (!shards.back().empty() && cur + bytes > opt.max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(t);
    cur += bytes;
    total += bytes;
  }
  std::map<std::string, std::string> meta;
  if (opt.pt_metadata) meta["format"] = "pt";
  std::vector<std::string> written;
  if (shards.size() == 1) {
    write_safetensors(join_path(dir, "model.safetensors"), shards[0], opt.dtype, meta);
    written.push_back("model.safetensors");
    return written;
  }
  std::set<std::string> seen;
  for (auto& t : tensors) WS_CHECK(seen.insert(t.name).second, dir, ": tensor \"", t.name, "\" given twice");
  std::map<std::string, std::string> weight_map;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    write_safetensors(join_path(dir, name), shards[s], opt.dtype, meta);
    written.push_back(name);
    for (auto& t : shards[s]) weight_map[t.name] = name;
  }
  json::Value index = json::Value::new_object();
  json::Value md = json::Value::new_object();
  md.set("total_size", json::Value::from_int((int64_t)total));
  index.set("metadata", std::move(md));
  json::Value wm = json::Value::new_object();
  for (auto& kv : weight_map) wm.set(kv.first, json::Value::from_string(kv.second));  // sorted keys
  index.set("weight_map", std::move(wm));
  write_file_synced(join_path(dir, "model.safetensors.index.json"), json::dump(index, 2) + "\n");
  written.push_back("model.safetensors.index.json");
  return written;
}

}  // namespace ws::io
