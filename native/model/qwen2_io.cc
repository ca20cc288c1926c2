// Qwen2 weights and optimizer state to and from safetensors (see qwen2_io.h).
#include "qwen2_io.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "../core/error.h"
#include "../core/threadpool.h"
#ifdef WS_CUDA
#include "../cuda/upload.h"
#endif

namespace ws::model {

using ws::model::Device;

namespace {
std::string shape_text(const std::vector<int64_t>& s) {
  std::string r;
  for (auto d : s) r += (r.empty() ? "" : ", ") + std::to_string(d);
  return "[" + r + "]";
}
}  // namespace

namespace {

// A run of elements of one tensor and where they go in the flat parameter buffer.
struct Piece {
  const ws::io::SafetensorsFile* file;
  const ws::io::TensorInfo* info;
  int64_t first, count, dst;  // elements of the tensor; dst: offset in floats
};

constexpr int64_t kPiece = int64_t(1) << 20;  // elements one thread reads at a time (4 MiB of fp32)
constexpr int64_t kChunk = int64_t(1) << 24;  // elements between progress reports (and per CUDA upload)

// Reads the pieces [p0, p1) in parallel into out + (dst - base). A NaN or infinite weight is an
// error naming its file, tensor and element (found at load, not at the first generate).
void read_pieces(const std::vector<Piece>& ps, size_t p0, size_t p1, float* out, int64_t base) {
  std::mutex mu;
  size_t bad_piece = p1;
  int64_t bad_elem = 0;
  float bad_value = 0;
  ws::parallel_for((int64_t)(p1 - p0), 1, [&](int64_t a, int64_t b) {
    std::vector<uint16_t> scratch;
    for (int64_t i = a; i < b; ++i) {
      const Piece& p = ps[p0 + (size_t)i];
      float* x = out + (p.dst - base);
      p.file->read_f32_range(*p.info, p.first, p.count, x, scratch);
      for (int64_t j = 0; j < p.count; ++j) {
        if (std::isfinite(x[j])) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (p0 + (size_t)i < bad_piece) {
          bad_piece = p0 + (size_t)i;
          bad_elem = p.first + j;
          bad_value = x[j];
        }
        break;
      }
    }
  });
  if (bad_piece < p1) {
    const Piece& p = ps[bad_piece];
    throw ws::Error(ws::str(p.file->path(), ": tensor \"", p.info->name, "\" holds ",
                            std::isnan(bad_value) ? "NaN" : "an infinite value", " at element ", bad_elem,
                            "; the weights are damaged"));
  }
}

}  // namespace

uint64_t load_host_bytes(double num_params, Device d) {
  const double scratch = (double)ws::num_threads() * kPiece * 2;  // one 16-bit piece per reader
  if (d == Device::CPU) return (uint64_t)(num_params * sizeof(float) + scratch);
  return (uint64_t)(2.0 * kChunk * sizeof(float) + scratch);  // two pinned chunks
}

void load_weights(Qwen2& m, const std::string& dir, const LoadControl& ctl) {
  // Every check first (names, shapes, dtypes), so that once writing starts only an I/O error or
  // an abort can stop it.
  auto ck = ws::io::Checkpoint::open(dir);
  const std::string where = dir + (ck.sharded() ? "/model.safetensors.index.json" : "/model.safetensors");
  std::set<std::string> expected;
  for (auto& p : m.params()) expected.insert(p.name);
  for (auto& name : ck.names()) {
    bool ignorable = (name == "lm_head.weight" && m.config().tied)  // a tied head saved anyway
                     || name.find("rotary_emb.inv_freq") != std::string::npos;
    if (!expected.count(name) && !ignorable)
      throw ws::Error(
          ws::str(where, ": unexpected tensor \"", name, "\" (not part of the model config.json describes)"));
  }
  std::vector<Piece> pieces;
  uint64_t total = 0;
  for (auto& p : m.params()) {  // in flat-buffer order
    const ws::io::TensorInfo* t = ck.find(p.name);
    if (!t) throw ws::Error(ws::str(where, ": missing tensor \"", p.name, "\""));
    if (t->shape != p.shape)
      throw ws::Error(ws::str(ck.file_of(p.name), ": tensor \"", p.name, "\" has shape ", shape_text(t->shape),
                              ", config.json implies ", shape_text(p.shape)));
    const ws::io::SafetensorsFile& f = ck.file_holding(p.name);
    f.check_convertible(*t);
    total += t->nbytes();
    for (int64_t first = 0; first < p.numel; first += kPiece)
      pieces.push_back({&f, t, first, std::min(kPiece, p.numel - first), p.offset + first});
  }

  // A fresh model (no weights yet: loadModel) is written in place; one that holds weights gets
  // them only once all were read (into a second buffer, swapped in): Qwen2::load_master.
  m.load_master([&](float* dst) {  // dst: on the model's device
    // Chunks of consecutive pieces spanning at most kChunk floats of the flat buffer.
    const bool host = m.device() == Device::CPU;
#ifdef WS_CUDA
    std::unique_ptr<ws::cuda::PinnedUpload> up;
    if (!host) up = std::make_unique<ws::cuda::PinnedUpload>((size_t)kChunk * sizeof(float));
#endif
    // The chunk after [c0, c1): its pieces are handed to the kernel's readahead while c0's are read.
    auto chunk_end = [&](size_t c0) {
      size_t c1 = c0 + 1;
      while (c1 < pieces.size() && pieces[c1].dst + pieces[c1].count - pieces[c0].dst <= kChunk) ++c1;
      return c1;
    };
    auto prefetch = [&](size_t a, size_t b) {
      for (size_t i = a; i < b; ++i) pieces[i].file->prefetch(*pieces[i].info, pieces[i].first, pieces[i].count);
    };
    uint64_t done = 0;
    if (!pieces.empty()) prefetch(0, chunk_end(0));
    for (size_t c0 = 0; c0 < pieces.size();) {
      if (ctl.cancel && ctl.cancel->load()) throw ws::Error(ws::str(dir, ": loading aborted"));
      const size_t c1 = chunk_end(c0);
      if (c1 < pieces.size()) prefetch(c1, chunk_end(c1));
      if (host) {
        read_pieces(pieces, c0, c1, dst, 0);
      } else {
#ifdef WS_CUDA
        float* h = static_cast<float*>(up->next());
        read_pieces(pieces, c0, c1, h, pieces[c0].dst);
        for (size_t i = c0; i < c1; ++i)
          up->copy(dst + pieces[i].dst, (size_t)(pieces[i].dst - pieces[c0].dst) * sizeof(float),
                   (size_t)pieces[i].count * sizeof(float));
        up->submit();
#endif
      }
      for (size_t i = c0; i < c1; ++i) done += (uint64_t)pieces[i].count * ws::io::dtype_size(pieces[i].info->dtype);
      if (ctl.progress) ctl.progress(done, total);
      c0 = c1;
    }
#ifdef WS_CUDA
    if (up) up->finish();
#endif
  });
}

std::vector<std::string> save_weights(Qwen2& m, const std::string& dir, const ws::io::SaveOptions& opt) {
  std::vector<std::string> files;
  m.read_host(false, [&](const ws::model::HostState& h) {
    std::vector<ws::io::TensorToWrite> ts;
    for (auto& p : m.params()) ts.push_back({p.name, p.shape, h.params + p.offset});
    files = ws::io::save_checkpoint(dir, ts, opt);
  });
  return files;
}

void save_optimizer(Qwen2& m, const std::string& path) {
  m.read_host(true, [&](const ws::model::HostState& h) {
    std::vector<ws::io::TensorToWrite> ts;
    for (auto& p : m.params()) {
      ts.push_back({p.name + ".exp_avg", p.shape, h.adam_m + p.offset});
      ts.push_back({p.name + ".exp_avg_sq", p.shape, h.adam_v + p.offset});
    }
    ws::io::write_safetensors(path, ts, ws::io::DType::F32, {{"format", "pt"}, {"step", std::to_string(h.step)}});
  });
}

void load_optimizer(Qwen2& m, const std::string& path) {
  auto f = ws::io::SafetensorsFile::open(path);
  auto it = f.metadata().find("step");
  if (it == f.metadata().end()) throw ws::Error(ws::str(path, ": missing metadata \"step\""));
  char* end = nullptr;
  long long step = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || step < 0)
    throw ws::Error(ws::str(path, ": metadata \"step\" is not a count: \"", it->second, "\""));
  if (f.tensors().size() != 2 * m.params().size())
    throw ws::Error(ws::str(path, ": holds ", f.tensors().size(), " tensors, this model's optimizer state has ",
                            2 * m.params().size()));
  Buffer mm, vv;  // zero pages: read into once, then copied in (all or nothing)
  mm.reset(Device::CPU, (size_t)m.flat_size() * sizeof(float));
  vv.reset(Device::CPU, (size_t)m.flat_size() * sizeof(float));
  for (auto& p : m.params()) {
    for (int k = 0; k < 2; ++k) {
      std::string name = p.name + (k ? ".exp_avg_sq" : ".exp_avg");
      const ws::io::TensorInfo* t = f.find(name);
      if (!t) throw ws::Error(ws::str(path, ": missing tensor \"", name, "\""));
      if (t->shape != p.shape)
        throw ws::Error(ws::str(path, ": tensor \"", name, "\" has shape ", shape_text(t->shape), ", expected ",
                                shape_text(p.shape)));
      f.read_f32(name, (k ? vv : mm).f32() + p.offset, p.numel);
    }
  }
  m.write_host(true, [&](ws::model::HostState& h) {  // drops accumulated gradients too
    std::memcpy(h.adam_m, mm.f32(), mm.bytes());
    std::memcpy(h.adam_v, vv.f32(), vv.bytes());
    h.step = step;
  });
}

}  // namespace ws::model
