// The Qwen2 graph against the plain-PyTorch float64 reference (bench/reference/qwen2_ref.py)
// through the committed fixtures test/fixtures/qwen2/{tied,untied}: logprobs at two
// temperatures, the SFT and clipped policy-gradient losses and their gradients, and 3 AdamW
// steps (losses, gradient norms, logprobs after).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../io/json.h"
#include "../model/qwen2.h"
#include "../model/qwen2_io.h"
#include "test_util.h"

namespace json = ws::json;
namespace fs = std::filesystem;
using ws::model::Qwen2;

using wstest::read_text;

namespace {

std::string fixture_dir(const std::string& name) {
  fs::path here(__FILE__);
  for (fs::path c : {here.parent_path().parent_path().parent_path() / "test/fixtures/qwen2",
                     fs::path("test/fixtures/qwen2"), fs::path("../test/fixtures/qwen2")})
    if (fs::exists(c / name / "config.json")) return (c / name).string();
  throw ws::Error("test/fixtures/qwen2 not found (run from the repository root)");
}

ws::model::Qwen2Config config_of(const json::Value& c) {
  const std::string w = "config.json";
  ws::model::Qwen2Config q;
  q.vocab_size = (int)c.at("vocab_size", w).as_int("vocab_size");
  q.hidden_size = (int)c.at("hidden_size", w).as_int("hidden_size");
  q.intermediate_size = (int)c.at("intermediate_size", w).as_int("intermediate_size");
  q.num_layers = (int)c.at("num_hidden_layers", w).as_int("num_hidden_layers");
  q.num_heads = (int)c.at("num_attention_heads", w).as_int("num_attention_heads");
  q.num_kv_heads = (int)c.at("num_key_value_heads", w).as_int("num_key_value_heads");
  q.head_dim = q.hidden_size / q.num_heads;
  q.rms_eps = (float)c.at("rms_norm_eps", w).as_double("rms_norm_eps");
  q.rope_theta = (float)c.at("rope_theta", w).as_double("rope_theta");
  q.tied = c.at("tie_word_embeddings", w).as_bool("tie_word_embeddings");
  return q;
}

std::vector<float> floats(const json::Value& a) {
  std::vector<float> v;
  for (auto& x : a.array) v.push_back((float)x.as_double("value"));
  return v;
}

// One fixture: the model loaded from its folder, the inputs packed as the engine takes them
// (per-target arrays: index t is the prediction of token t+1 of the same sequence).
struct Fixture {
  std::string dir;
  json::Value inputs, expected;
  ws::model::Qwen2Config cfg;
  std::vector<int32_t> tokens, positions, cu{0};
  std::vector<float> weights, advantages, old_logp;
  std::vector<int> seq_of;

  explicit Fixture(const std::string& name) : dir(fixture_dir(name)) {
    cfg = config_of(json::parse(read_text(dir + "/config.json"), dir + "/config.json"));
    inputs = json::parse(read_text(dir + "/inputs.json"), dir + "/inputs.json");
    expected = json::parse(read_text(dir + "/expected.json"), dir + "/expected.json");
    const auto& seqs = inputs.at("sequences", "inputs.json").array;
    const auto& tw = inputs.at("token_weights", "inputs.json").array;
    const auto& pg = inputs.at("pg", "inputs.json");
    const auto& adv = pg.at("advantages", "pg").array;
    const auto& old = pg.at("old_logprobs", "pg").array;
    for (size_t s = 0; s < seqs.size(); ++s) {
      const auto& ids = seqs[s].array;
      for (size_t i = 0; i < ids.size(); ++i) {
        tokens.push_back((int32_t)ids[i].as_int("token"));
        positions.push_back((int32_t)i);
        bool last = i + 1 == ids.size();
        weights.push_back(last ? 0.0f : (float)tw[s].array[i + 1].as_double("w"));
        advantages.push_back((float)adv[s].as_double("a"));
        old_logp.push_back(last ? 0.0f : (float)old[s].array[i].as_double("old"));
        seq_of.push_back((int)s);
      }
      cu.push_back((int32_t)tokens.size());
    }
  }
  ws::model::PackedBatch batch() {
    return {tokens.data(), positions.data(), cu.data(), (int)tokens.size(), (int)cu.size() - 1};
  }
  // Expected per-sequence logprob lists, laid out per target (0 at each sequence's end).
  std::vector<float> per_target(const json::Value& lists) {
    std::vector<float> out;
    for (auto& l : lists.array) {
      for (auto& x : l.array) out.push_back((float)x.as_double("logprob"));
      out.push_back(0.0f);
    }
    return out;
  }
  double num(const json::Value& v, const char* k) { return v.at(k, "expected.json").as_double(k); }
};

void check_grads(Qwen2& m, const json::Value& grads, const char* what) {
  const std::vector<float> all = m.gradients();
  for (auto& [name, g] : grads.object) {
    const ws::model::ParamInfo* p = m.find_param(name);
    if (!p && name == "lm_head.weight") continue;
    CHECK(p != nullptr);
    if (!p) continue;
    auto want = floats(g.at("values", name));
    CHECK(want.size() == (size_t)p->numel);
    std::string label = std::string(what) + " grad " + name;
    CHECK(wstest::allclose(all.data() + p->offset, want.data(), want.size(), 1e-5f, 1e-3f, label.c_str()));
  }
}

void parity(const char* name) {
  Fixture f(name);
  Qwen2 m(f.cfg);
  ws::model::load_weights(m, f.dir);
  const int T = (int)f.tokens.size();
  const auto& lp = f.expected.at("logprobs", "expected.json");

  std::vector<float> got(T);
  m.logprobs(f.batch(), 1.0f, got.data());
  auto want = f.per_target(lp.at("temperature_1", "logprobs"));
  CHECK(wstest::allclose(got.data(), want.data(), T, 1e-4f, 0.0f, "logprobs at temperature 1"));
  float temp = (float)lp.at("temperature", "logprobs").as_double("temperature");
  m.logprobs(f.batch(), temp, got.data());
  want = f.per_target(lp.at("at_temperature", "logprobs"));
  CHECK(wstest::allclose(got.data(), want.data(), T, 1e-4f, 0.0f, "logprobs at temperature 0.7"));

  // SFT: cross-entropy on the completion tokens, normalised by their count.
  const auto& sft = f.expected.at("sft", "expected.json");
  ws::cpu::HeadObjective obj;
  obj.weights = f.weights.data();
  obj.normaliser = (float)f.inputs.at("normaliser", "inputs.json").as_double("normaliser");
  auto r = m.accumulate(f.batch(), obj, nullptr);
  CHECK_NEAR(r.loss, f.num(sft, "loss"), 1e-5 * std::fabs(f.num(sft, "loss")) + 1e-6);
  const std::vector<float> g = m.gradients();
  double norm = std::sqrt(wstest::dot(g.data(), g.data(), m.flat_size()));
  CHECK_NEAR(norm, f.num(sft, "grad_norm"), 1e-4 * f.num(sft, "grad_norm"));
  check_grads(m, sft.at("grads", "sft"), "sft");
  m.zero_grad();

  // Clipped policy gradient with per-sequence advantages and old logprobs.
  const auto& pg = f.expected.at("pg", "expected.json");
  const auto& pin = f.inputs.at("pg", "inputs.json");
  ws::cpu::HeadObjective po;
  po.weights = f.weights.data();
  po.advantages = f.advantages.data();
  po.old_logp = f.old_logp.data();
  po.clip_low = (float)pin.at("clip_low", "pg").as_double("clip_low");
  po.clip_high = (float)pin.at("clip_high", "pg").as_double("clip_high");
  po.normaliser = (float)pin.at("normaliser", "pg").as_double("normaliser");
  r = m.accumulate(f.batch(), po, nullptr);
  CHECK_NEAR(r.loss, f.num(pg, "loss"), 1e-5 * std::fabs(f.num(pg, "loss")) + 1e-6);
  CHECK(r.clipped == pg.at("clipped_tokens", "pg").as_int("clipped_tokens"));
  check_grads(m, pg.at("grads", "pg"), "pg");
  m.zero_grad();

  // 3 AdamW steps from the loaded weights.
  Qwen2 t(f.cfg);
  ws::model::load_weights(t, f.dir);
  const auto& tr = f.expected.at("train", "expected.json");
  ws::model::AdamWConfig opt;
  opt.lr = (float)f.num(tr, "lr");
  opt.beta1 = (float)tr.at("betas", "train").array[0].as_double("beta1");
  opt.beta2 = (float)tr.at("betas", "train").array[1].as_double("beta2");
  opt.eps = (float)f.num(tr, "eps");
  opt.weight_decay = (float)f.num(tr, "weight_decay");
  opt.max_grad_norm = (float)f.num(tr, "max_grad_norm");
  auto losses = floats(tr.at("losses", "train")), norms = floats(tr.at("grad_norms", "train"));
  for (int step = 0; step < (int)losses.size(); ++step) {
    auto rs = t.accumulate(f.batch(), obj, nullptr);
    double gn = t.optimizer_step(opt);
    CHECK_NEAR(rs.loss, losses[step], 1e-3 * std::fabs(losses[step]));
    CHECK_NEAR(gn, norms[step], 1e-3 * norms[step]);
  }
  t.logprobs(f.batch(), 1.0f, got.data());
  want = f.per_target(tr.at("logprobs_after", "train"));
  CHECK(wstest::allclose(got.data(), want.data(), T, 1e-3f, 0.0f, "logprobs after 3 AdamW steps"));
}

}  // namespace

TEST(tied_matches_the_pytorch_reference) { parity("tied"); }
TEST(untied_matches_the_pytorch_reference) { parity("untied"); }

int main() { return wstest::run_tests(); }
