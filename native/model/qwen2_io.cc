// Qwen2 weights and optimizer state to and from safetensors (see qwen2_io.h).
#include "qwen2_io.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "../core/error.h"

namespace ws::model {

namespace {
std::string shape_text(const std::vector<int64_t>& s) {
  std::string r;
  for (auto d : s) r += (r.empty() ? "" : ", ") + std::to_string(d);
  return "[" + r + "]";
}
}  // namespace

void load_weights(Qwen2& m, const std::string& dir) {
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
  std::vector<float> staged(m.flat_size(), 0.0f);
  for (auto& p : m.params()) {
    const ws::io::TensorInfo* t = ck.find(p.name);
    if (!t) throw ws::Error(ws::str(where, ": missing tensor \"", p.name, "\""));
    if (t->shape != p.shape)
      throw ws::Error(ws::str(ck.file_of(p.name), ": tensor \"", p.name, "\" has shape ", shape_text(t->shape),
                              ", config.json implies ", shape_text(p.shape)));
    ck.read_f32(p.name, staged.data() + p.offset, p.numel);
  }
  std::lock_guard<std::mutex> lock(m.mutex());
  m.sync_to_host();  // the optimizer state too, which sync_to_device writes back
  std::memcpy(m.param_data(), staged.data(), staged.size() * sizeof(float));
  m.sync_to_device();
}

std::vector<std::string> save_weights(Qwen2& m, const std::string& dir, const ws::io::SaveOptions& opt) {
  std::lock_guard<std::mutex> lock(m.mutex());
  m.sync_to_host();
  std::vector<ws::io::TensorToWrite> ts;
  for (auto& p : m.params()) ts.push_back({p.name, p.shape, m.param_data() + p.offset});
  return ws::io::save_checkpoint(dir, ts, opt);
}

void save_optimizer(Qwen2& m, const std::string& path) {
  std::lock_guard<std::mutex> lock(m.mutex());
  m.sync_to_host();
  std::vector<ws::io::TensorToWrite> ts;
  for (auto& p : m.params()) {
    ts.push_back({p.name + ".exp_avg", p.shape, m.adam_m() + p.offset});
    ts.push_back({p.name + ".exp_avg_sq", p.shape, m.adam_v() + p.offset});
  }
  ws::io::write_safetensors(path, ts, ws::io::DType::F32, {{"format", "pt"}, {"step", std::to_string(m.step_count())}});
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
  std::vector<float> mm(m.flat_size(), 0.0f), vv(m.flat_size(), 0.0f);
  for (auto& p : m.params()) {
    for (int k = 0; k < 2; ++k) {
      std::string name = p.name + (k ? ".exp_avg_sq" : ".exp_avg");
      const ws::io::TensorInfo* t = f.find(name);
      if (!t) throw ws::Error(ws::str(path, ": missing tensor \"", name, "\""));
      if (t->shape != p.shape)
        throw ws::Error(ws::str(path, ": tensor \"", name, "\" has shape ", shape_text(t->shape), ", expected ",
                                shape_text(p.shape)));
      f.read_f32(name, (k ? vv : mm).data() + p.offset, p.numel);
    }
  }
  std::lock_guard<std::mutex> lock(m.mutex());
  m.sync_to_host();
  std::memcpy(m.adam_m(), mm.data(), mm.size() * sizeof(float));
  std::memcpy(m.adam_v(), vv.data(), vv.size() * sizeof(float));
  m.sync_to_device();
  m.set_step_count(step);
  m.zero_grad();
}

}  // namespace ws::model
