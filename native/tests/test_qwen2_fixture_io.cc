// The committed Qwen2 fixtures (test/fixtures/qwen2/{tied,untied}, written by
// bench/reference/make_fixtures.py with its pure-Python safetensors writer) through our reader:
// the tensor names, shapes and dtypes are exactly those that config.json implies, the values are
// plausible (norm weights near 1), and our writer reproduces the Python file byte for byte.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../io/json.h"
#include "../io/safetensors.h"
#include "test_util.h"

using namespace ws::io;
namespace json = ws::json;
namespace fs = std::filesystem;

using wstest::read_text;

namespace {

// test/fixtures/qwen2 from this source file's location (CMake compiles absolute paths), else
// relative to the working directory (the repository root or a build folder inside it).
std::string fixture_root() {
  fs::path here(__FILE__);
  std::vector<fs::path> candidates = {here.parent_path().parent_path().parent_path() / "test/fixtures/qwen2",
                                      "test/fixtures/qwen2", "../test/fixtures/qwen2"};
  for (auto& c : candidates)
    if (fs::exists(c / "tied" / "config.json")) return c.string();
  throw ws::Error("test/fixtures/qwen2 not found (run from the repository root)");
}

// Hugging Face names and shapes of a Qwen2 checkpoint, from config.json alone.
std::map<std::string, std::vector<int64_t>> expected_shapes(const json::Value& c, const std::string& where) {
  int64_t V = c.at("vocab_size", where).as_int("vocab_size"), H = c.at("hidden_size", where).as_int("hidden_size");
  int64_t I = c.at("intermediate_size", where).as_int("intermediate_size");
  int64_t L = c.at("num_hidden_layers", where).as_int("num_hidden_layers");
  int64_t nh = c.at("num_attention_heads", where).as_int("num_attention_heads");
  int64_t nkv = c.at("num_key_value_heads", where).as_int("num_key_value_heads");
  bool tied = c.at("tie_word_embeddings", where).as_bool("tie_word_embeddings");
  int64_t D = H / nh, q = nh * D, kv = nkv * D;
  std::map<std::string, std::vector<int64_t>> s;
  s["model.embed_tokens.weight"] = {V, H};
  for (int64_t l = 0; l < L; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    s[p + "self_attn.q_proj.weight"] = {q, H};
    s[p + "self_attn.q_proj.bias"] = {q};
    s[p + "self_attn.k_proj.weight"] = {kv, H};
    s[p + "self_attn.k_proj.bias"] = {kv};
    s[p + "self_attn.v_proj.weight"] = {kv, H};
    s[p + "self_attn.v_proj.bias"] = {kv};
    s[p + "self_attn.o_proj.weight"] = {H, q};
    s[p + "mlp.gate_proj.weight"] = {I, H};
    s[p + "mlp.up_proj.weight"] = {I, H};
    s[p + "mlp.down_proj.weight"] = {H, I};
    s[p + "input_layernorm.weight"] = {H};
    s[p + "post_attention_layernorm.weight"] = {H};
  }
  s["model.norm.weight"] = {H};
  if (!tied) s["lm_head.weight"] = {V, H};
  return s;
}

void check_fixture(const std::string& name) {
  std::string dir = fixture_root() + "/" + name;
  json::Value cfg = json::parse(read_text(dir + "/config.json"), dir + "/config.json");
  CHECK(cfg.at("model_type", "config").as_string("model_type") == "qwen2");
  CHECK(cfg.at("architectures", "config").array.at(0).as_string("architectures") == "Qwen2ForCausalLM");
  auto want = expected_shapes(cfg, dir + "/config.json");

  Checkpoint ck = Checkpoint::open(dir);
  CHECK(!ck.sharded());
  std::vector<std::string> want_names;
  for (auto& kv : want) want_names.push_back(kv.first);
  CHECK(ck.names() == want_names);  // both sorted: exactly the expected set

  std::vector<TensorToWrite> again;
  std::vector<std::vector<float>> store;
  store.reserve(want.size());
  for (auto& kv : want) {
    const TensorInfo* t = ck.find(kv.first);
    if (!t) {
      std::printf("  %s: missing %s\n", name.c_str(), kv.first.c_str());
      CHECK(t);
      continue;
    }
    CHECK(t->dtype == DType::F32);
    CHECK(t->shape == kv.second);
    store.emplace_back((size_t)t->numel());
    std::vector<float>& v = store.back();
    ck.read_f32(kv.first, v.data(), t->numel());
    double sum = 0, sq = 0;
    for (float x : v) {
      CHECK(std::isfinite(x));
      sum += x;
      sq += (double)x * x;
    }
    double mean = sum / v.size(), rms = std::sqrt(sq / v.size());
    if (kv.first.find("norm") != std::string::npos) {
      CHECK(std::fabs(mean - 1.0) < 0.1);  // made as 1 + 0.1 N(0, 1)
    } else {
      CHECK(rms > 0.02 && rms < 1.0);  // made as 0.1 .. 0.3 N(0, 1)
    }
    again.push_back({kv.first, kv.second, v.data()});
  }

  SafetensorsFile f = SafetensorsFile::open(dir + "/model.safetensors");
  CHECK(f.metadata().count("format") && f.metadata().at("format") == "pt");
  // Our writer and the Python writer agree byte for byte (same layout rules).
  char tmpl[] = "/tmp/ws_fx_XXXXXX";
  std::string tmp = mkdtemp(tmpl);
  write_safetensors(tmp + "/model.safetensors", again, DType::F32, {{"format", "pt"}});
  CHECK(read_text(tmp + "/model.safetensors") == read_text(dir + "/model.safetensors"));
  fs::remove_all(tmp);
}

}  // namespace

TEST(tied_fixture_matches_its_config) { check_fixture("tied"); }
TEST(untied_fixture_matches_its_config) { check_fixture("untied"); }

int main() { return wstest::run_tests(); }
