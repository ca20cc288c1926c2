// safetensors I/O: JSON parser, half-float conversions (exact / round-to-nearest-even against a
// brute-force nearest search), f32/bf16/f16 round trips, sharded checkpoints, and every kind of
// corrupt file giving an error that names the file (and tensor), never a crash.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../io/half.h"
#include "../io/json.h"
#include "../io/safetensors.h"
#include "test_util.h"

using namespace ws::io;
namespace json = ws::json;

namespace {

// Temporary folders, removed when the test program exits.
struct TmpDirs {
  std::vector<std::string> dirs;
  ~TmpDirs() {
    for (auto& d : dirs) std::filesystem::remove_all(d);
  }
};
TmpDirs g_tmp;

std::string tmp_dir() {
  char tmpl[] = "/tmp/ws_st_XXXXXX";
  char* d = mkdtemp(tmpl);
  if (!d) throw ws::Error("mkdtemp failed");
  g_tmp.dirs.push_back(d);
  return d;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), (std::streamsize)bytes.size());
}

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// Runs f; returns the ws::Error message, or "" when nothing was thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ws::Error& e) {
    return e.what();
  }
  return "";
}

#define CHECK_ERROR(expr, ...)                                                                                \
  do {                                                                                                        \
    std::string _m = error_of([&] { expr; });                                                                 \
    if (_m.empty()) {                                                                                         \
      std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);                                  \
      ++wstest::failures();                                                                                   \
    } else {                                                                                                  \
      for (const std::string& _want : std::vector<std::string>{__VA_ARGS__})                                  \
        if (!contains(_m, _want)) {                                                                           \
          std::printf("  %s:%d: error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, _m.c_str(), _want.c_str()); \
          ++wstest::failures();                                                                               \
        }                                                                                                     \
    }                                                                                                         \
  } while (0)

bool bits_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

// Nearest representable value by brute force over a sorted table of candidates (double maths),
// ties to the candidate with an even bit pattern: the definition of round-to-nearest-even.
uint16_t nearest(const std::vector<std::pair<double, uint16_t>>& table, double x) {
  auto it = std::lower_bound(table.begin(), table.end(), std::make_pair(x, (uint16_t)0));
  if (it == table.begin()) return it->second;
  if (it == table.end()) return table.back().second;
  auto lo = it - 1;
  if (it->first == x) return it->second;
  double dl = x - lo->first, dh = it->first - x;
  if (dl < dh) return lo->second;
  if (dh < dl) return it->second;
  return (lo->second & 1) ? it->second : lo->second;
}

// The positive finite values of a 16-bit format, plus the first value past the largest (where
// rounding goes to infinity: the "next" representable if the exponent range went on).
std::vector<std::pair<double, uint16_t>> positive_table(float (*to_f32)(uint16_t), uint16_t inf_bits, double past_max) {
  std::vector<std::pair<double, uint16_t>> t;
  for (uint32_t h = 0; h < inf_bits; ++h) t.push_back({(double)to_f32((uint16_t)h), (uint16_t)h});
  t.push_back({past_max, inf_bits});
  return t;
}

std::vector<TensorToWrite> sample_tensors(std::vector<std::vector<float>>& store) {
  std::vector<std::vector<int64_t>> shapes = {{5, 7}, {3}, {}, {0, 4}, {2, 3, 4}, {70000}};
  std::vector<std::string> names = {"model.layers.0.self_attn.q_proj.weight",
                                    "model.norm.weight",
                                    "scalar",
                                    "empty",
                                    "lm_head.weight",
                                    "model.embed_tokens.weight"};
  store.clear();
  std::vector<TensorToWrite> ts;
  for (size_t i = 0; i < shapes.size(); ++i) {
    int64_t n = 1;
    for (auto d : shapes[i]) n *= d;
    store.push_back(wstest::randn((size_t)n, 100 + i));
  }
  for (size_t i = 0; i < shapes.size(); ++i) ts.push_back({names[i], shapes[i], store[i].data()});
  return ts;
}

}  // namespace

// ---- JSON ---------------------------------------------------------------------------------------

TEST(json_parses_documents) {
  json::Value v = json::parse(
      " {\"a\": [1, -2, 3.5e2, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\", \"big\": 9007199254740993,"
      " \"neg\": -0, \"f\": 1e-06, \"u\": \"caf\xc3\xa9\"} ",
      "doc");
  CHECK(v.is_object());
  CHECK(v.object.size() == 6);
  const json::Value& a = v.at("a", "doc");
  CHECK(a.array.size() == 6);
  CHECK(a.array[0].is_integer && a.array[0].integer == 1);
  CHECK(a.array[1].as_int("a1") == -2);
  CHECK(!a.array[2].is_integer && a.array[2].number == 350.0);
  CHECK(a.array[3].as_bool("t") && !a.array[4].as_bool("f") && a.array[5].is_null());
  CHECK(v.at("s", "doc").as_string("s") == "x\xc3\xa9\xf0\x9f\x98\x80\n\"");
  CHECK(v.at("big", "doc").as_int("big") == 9007199254740993LL);  // exact beyond 2^53
  CHECK(v.at("f", "doc").as_double("f") == 1e-6);
  CHECK(v.at("u", "doc").as_string("u") == "caf\xc3\xa9");
  CHECK(v.get("missing") == nullptr);
  CHECK_ERROR(v.at("missing", "cfg.json"), "cfg.json", "missing field \"missing\"");
  CHECK_ERROR(v.at("s", "doc").as_int("hidden_size"), "hidden_size", "expected an integer");
}

TEST(json_rejects_invalid_documents_with_position) {
  const char* bad[] = {"",
                       "{",
                       "{\"a\":1,}",
                       "[1,]",
                       "{\"a\" 1}",
                       "{'a':1}",
                       "{\"a\":01}",
                       "{\"a\":1.}",
                       "{\"a\":-}",
                       "{\"a\":1e}",
                       "NaN",
                       "[Infinity]",
                       "{\"a\":tru}",
                       "\"abc",
                       "\"a\x01\"",
                       "\"\\x\"",
                       "\"\\ud800\"",
                       "\"\\udc00\"",
                       "\"\\ud800\\u0041\"",
                       "\"\xff\"",
                       "\"\xc0\xaf\"",
                       "\"\xed\xa0\x80\"",
                       "{\"a\":1} x",
                       "{\"a\":1,\"a\":2}",
                       "// c\n{}",
                       "[1e999]"};
  for (const char* b : bad) {
    std::string m = error_of([&] { json::parse(b, "bad.json"); });
    if (m.empty() || !contains(m, "bad.json: line ")) {
      std::printf("  input %s: error \"%s\"\n", b, m.c_str());
      ++wstest::failures();
    }
  }
  CHECK_ERROR(json::parse("{\n  \"a\": 1,\n  \"a\": 2}", "x.json"), "x.json: line 3, column 3", "duplicate key \"a\"");
  std::string deep(200, '[');
  CHECK_ERROR(json::parse(deep, "deep.json"), "deep.json", "nesting");
  std::string ok_deep = std::string(100, '[') + std::string(100, ']');
  CHECK(json::parse(ok_deep, "ok").is_array());
}

TEST(json_dump_round_trips) {
  json::Value v = json::Value::new_object();
  v.set("architectures", json::Value::new_array()).push(json::Value::from_string("Qwen2ForCausalLM"));
  v.set("eps", json::Value::from_double(1e-6));
  v.set("theta", json::Value::from_double(1000000.0));
  v.set("lr", json::Value::from_double(0.1));
  v.set("n", json::Value::from_int(-42));
  v.set("tied", json::Value::from_bool(true));
  v.set("q", json::Value::from_string("a\"b\\c\n\x01"));
  v.set("none", json::Value());
  v.set("n", json::Value::from_int(7));  // replaces
  std::string compact = json::dump(v);
  CHECK(compact ==
        "{\"architectures\":[\"Qwen2ForCausalLM\"],\"eps\":1e-06,\"theta\":1000000.0,\"lr\":0.1,"
        "\"n\":7,\"tied\":true,\"q\":\"a\\\"b\\\\c\\n\\u0001\",\"none\":null}");
  for (int indent : {-1, 2}) {
    json::Value back = json::parse(json::dump(v, indent), "rt");
    CHECK(json::dump(back) == compact);
  }
  CHECK(json::dump(json::Value::from_double(0.1 + 0.2)) == "0.30000000000000004");
}

TEST(json_mutations_parse_or_throw) {
  // A config-like document with single bytes replaced, inserted or deleted: each either parses
  // or throws ws::Error naming the source, never anything else (ASan builds check memory too).
  const std::string doc =
      "{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 896, \"rms_norm_eps\": 1e-06,"
      " \"rope_theta\": 1000000.0, \"tie_word_embeddings\": true, \"rope_scaling\": null,"
      " \"name\": \"caf\u00e9 \\ud83d\\ude00\\n\", \"ids\": [-1, 0, 2.5e3, [{}]]}";
  CHECK(json::parse(doc, "doc").object.size() == 8);
  ws::Rng rng(3);
  const char alphabet[] = "{}[]\",:.-+eE0123456789 \\untrfals\x00\x7f\xc3\xa9\xff";
  int ok = 0, thrown = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = doc;
    for (int k = 0, n = 1 + (int)(rng.next_u64() % 3); k < n; ++k) {
      size_t at = rng.next_u64() % m.size();
      char c = alphabet[rng.next_u64() % (sizeof alphabet - 1)];
      switch (rng.next_u64() % 3) {
        case 0:
          m[at] = c;
          break;
        case 1:
          m.insert(m.begin() + (long)at, c);
          break;
        default:
          m.erase(at, 1);
      }
    }
    try {
      json::parse(m, "mutant.json");
      ++ok;
    } catch (const ws::Error& e) {
      ++thrown;
      if (!contains(e.what(), "mutant.json: line ")) {
        CHECK(contains(e.what(), "mutant.json: line "));
        break;
      }
    }
  }
  CHECK(ok > 0 && thrown > 0);
}

// ---- half floats --------------------------------------------------------------------------------

TEST(bf16_exact_on_representable_values) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = bf16_to_f32((uint16_t)h);
    CHECK(f32_bits(f) == h << 16);
    if (!std::isnan(f) && f32_to_bf16(f) != h) {
      CHECK(f32_to_bf16(f) == h);
      break;
    }
    if (std::isnan(f)) CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f))));
  }
}

TEST(bf16_rounds_to_nearest_even) {
  // hand-picked ties: 1 + 2^-8 is halfway between 1 (even) and 1 + 2^-7 (odd) -> 1
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
  CHECK(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie between odd 0x3f81 and even 0x3f82
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);  // above half -> up
  CHECK(f32_to_bf16(-(1.0f + 3 * std::ldexp(1.0f, -8))) == 0xbf82);
  CHECK(f32_to_bf16(3.4e38f) == 0x7f80);  // rounds past the largest bf16 to inf
  CHECK(f32_to_bf16(INFINITY) == 0x7f80 && f32_to_bf16(-INFINITY) == 0xff80);
  // random floats of every magnitude against the brute-force nearest (ties to even)
  auto table = positive_table(bf16_to_f32, 0x7f80, std::ldexp(1.0, 128));
  ws::Rng rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint32_t u = (uint32_t)(rng.next_u64() & 0x7fffffffu);
    if (u >= 0x7f800000u) continue;
    if (i % 3 == 0) u = (u & 0xffff0000u) | 0x8000u;  // exact ties
    float f = bits_f32(u);
    uint16_t got = f32_to_bf16(f), want = nearest(table, (double)f);
    if (got != want) {
      std::printf("  bf16(%a): got %04x want %04x\n", f, got, want);
      ++wstest::failures();
      break;
    }
    CHECK(f32_to_bf16(-f) == (uint16_t)(want | 0x8000u));
  }
}

TEST(f16_exact_and_rounds_to_nearest_even) {
  for (uint32_t h = 0; h < 65536; ++h) {
    uint32_t e = (h >> 10) & 31, m = h & 1023;
    double want = e == 0 ? std::ldexp((double)m, -24) : std::ldexp(1.0 + m / 1024.0, (int)e - 15);
    if (h & 0x8000) want = -want;
    float f = f16_to_f32((uint16_t)h);
    if (e == 31) {
      CHECK(m ? std::isnan(f) : std::isinf(f));
      continue;
    }
    if ((double)f != want || f32_to_f16(f) != h) {
      std::printf("  f16 %04x: %a want %a, back %04x\n", h, f, want, f32_to_f16(f));
      ++wstest::failures();
      break;
    }
  }
  CHECK(f32_to_f16(65519.0f) == 0x7bff && f32_to_f16(65520.0f) == 0x7c00);
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);            // tie with 0 -> 0
  CHECK(f32_to_f16(std::ldexp(1.0f, -25) * 1.0001f) == 0x0001);  // above half -> min subnormal
  CHECK(f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);            // tie 1 (odd) / 2 (even) -> 2
  auto table = positive_table(f16_to_f32, 0x7c00, 65536.0);
  ws::Rng rng(11);
  for (int i = 0; i < 200000; ++i) {
    // magnitudes around the f16 range: 2^-30 .. 2^17
    float f = std::ldexp(1.0f + rng.uniform(), (int)(rng.next_u64() % 48) - 30);
    if (i % 4 == 0) f = f16_to_f32((uint16_t)(rng.next_u64() % 0x7bff)) * (1.0f + std::ldexp(1.0f, -11));  // near ties
    uint16_t got = f32_to_f16(f), want = nearest(table, (double)f);
    if (got != want) {
      std::printf("  f16(%a): got %04x want %04x\n", f, got, want);
      ++wstest::failures();
      break;
    }
  }
}

// ---- round trips --------------------------------------------------------------------------------

TEST(round_trip_f32_bit_exact_with_reference_layout) {
  std::string dir = tmp_dir();
  std::vector<std::vector<float>> store;
  auto ts = sample_tensors(store);
  auto files = save_checkpoint(dir, ts, SaveOptions{});
  CHECK(files.size() == 1 && files[0] == "model.safetensors");
  std::string path = dir + "/model.safetensors";
  std::string bytes = read_bytes(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  std::string header = bytes.substr(8, n);
  CHECK(
      header.rfind(
          "{\"__metadata__\":{\"format\":\"pt\"},\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[0,0]},",
          0) == 0);

  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.tensors().size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    const TensorInfo* t = f.find(ts[i].name);
    CHECK(t && t->dtype == DType::F32 && t->shape == ts[i].shape);
    std::vector<float> back((size_t)t->numel());
    f.read_f32(ts[i].name, back.data(), t->numel());
    CHECK(bits_equal(back, store[i]));
  }
  CHECK(f.find("scalar")->shape.empty() && f.find("scalar")->numel() == 1);
  CHECK_ERROR(f.read_f32("model.norm.weight", store[1].data(), 4), path, "model.norm.weight", "has 3 elements");
  CHECK_ERROR(f.read_f32("nope", store[1].data(), 3), path, "no tensor \"nope\"");

  Checkpoint ck = Checkpoint::open(dir);
  CHECK(!ck.sharded() && ck.num_files() == 1 && ck.names().size() == ts.size());
  CHECK(std::is_sorted(ck.names().begin(), ck.names().end()));
  std::vector<float> emb(70000);
  ck.read_f32("model.embed_tokens.weight", emb.data(), 70000);  // > 2^16: the parallel path
  CHECK(bits_equal(emb, store[5]));
  CHECK_ERROR(ck.info("lm_head.bias"), dir, "lm_head.bias");
}

TEST(round_trip_bf16_and_f16_round_to_nearest_even) {
  std::string dir = tmp_dir();
  std::vector<std::vector<float>> store;
  auto ts = sample_tensors(store);
  for (DType dt : {DType::BF16, DType::F16}) {
    SaveOptions o;
    o.dtype = dt;
    o.pt_metadata = false;
    save_checkpoint(dir, ts, o);
    SafetensorsFile f = SafetensorsFile::open(dir + "/model.safetensors");
    CHECK(f.metadata().empty());
    for (size_t i = 0; i < ts.size(); ++i) {
      const TensorInfo* t = f.find(ts[i].name);
      CHECK(t && t->dtype == dt && t->nbytes() == store[i].size() * 2);
      std::vector<float> back(store[i].size()), want(store[i].size());
      f.read_f32(ts[i].name, back.data(), (int64_t)back.size());
      for (size_t k = 0; k < want.size(); ++k)
        want[k] = dt == DType::BF16 ? bf16_to_f32(f32_to_bf16(store[i][k])) : f16_to_f32(f32_to_f16(store[i][k]));
      CHECK(bits_equal(back, want));
      // and the stored value is the nearest: error at most half an ulp (2^-9 relative for bf16)
      for (size_t k = 0; k < want.size(); ++k)
        if (dt == DType::BF16 && std::fabs(back[k] - store[i][k]) > std::fabs(store[i][k]) * (1.0f / 256)) {
          CHECK(false);
          break;
        }
    }
  }
}

TEST(sharded_round_trip_with_index) {
  std::string dir = tmp_dir();
  std::vector<std::vector<float>> store;
  auto ts = sample_tensors(store);
  // bytes in f32: 140, 12, 4, 0, 96, 280000. Limit 200: [q_proj], [norm, scalar, empty, lm_head], [embed]
  SaveOptions o;
  o.max_shard_bytes = 200;
  auto files = save_checkpoint(dir, ts, o);
  CHECK(files.size() == 4);
  CHECK(files[0] == "model-00001-of-00003.safetensors" && files[2] == "model-00003-of-00003.safetensors");
  CHECK(files[3] == "model.safetensors.index.json");
  json::Value idx = json::parse(read_bytes(dir + "/model.safetensors.index.json"), "index");
  CHECK(idx.at("metadata", "i").at("total_size", "i").as_int("total_size") == 140 + 12 + 4 + 96 + 280000);
  const json::Value& wm = idx.at("weight_map", "i");
  CHECK(wm.object.size() == ts.size());
  CHECK(std::is_sorted(wm.object.begin(), wm.object.end(), [](auto& a, auto& b) { return a.first < b.first; }));
  CHECK(wm.at("model.layers.0.self_attn.q_proj.weight", "i").as_string("s") == "model-00001-of-00003.safetensors");
  CHECK(wm.at("lm_head.weight", "i").as_string("s") == "model-00002-of-00003.safetensors");
  CHECK(wm.at("model.embed_tokens.weight", "i").as_string("s") == "model-00003-of-00003.safetensors");

  Checkpoint ck = Checkpoint::open(dir);
  CHECK(ck.sharded() && ck.num_files() == 3 && ck.names().size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    std::vector<float> back(store[i].size());
    ck.read_f32(ts[i].name, back.data(), (int64_t)back.size());
    CHECK(bits_equal(back, store[i]));
  }
  CHECK(contains(ck.file_of("lm_head.weight"), "model-00002-of-00003.safetensors"));

  // an index entry whose shard lacks the tensor, a missing shard, a bad shard name, corrupt JSON
  std::string index = read_bytes(dir + "/model.safetensors.index.json");
  std::string bad = index;
  bad.replace(bad.find("\"lm_head.weight\": \"model-00002"), 30, "\"lm_head.weight\": \"model-00001");
  write_bytes(dir + "/model.safetensors.index.json", bad);
  CHECK_ERROR(Checkpoint::open(dir), "model.safetensors.index.json", "lm_head.weight",
              "model-00001-of-00003.safetensors");
  bad = index;
  bad.replace(bad.find("model-00003-of-00003"), 20, "model-00009-of-00003");
  write_bytes(dir + "/model.safetensors.index.json", bad);
  CHECK_ERROR(Checkpoint::open(dir), "model-00009-of-00003.safetensors", "file not found");
  bad = index;
  bad.replace(bad.find("model-00003-of-00003"), 20, "../../etc/passwd0000");
  write_bytes(dir + "/model.safetensors.index.json", bad);
  CHECK_ERROR(Checkpoint::open(dir), "model.safetensors.index.json", "must be a file name");
  write_bytes(dir + "/model.safetensors.index.json", index.substr(0, index.size() / 2));
  CHECK_ERROR(Checkpoint::open(dir), "model.safetensors.index.json: line ");
  write_bytes(dir + "/model.safetensors.index.json", "{\"metadata\": {}}");
  CHECK_ERROR(Checkpoint::open(dir), "model.safetensors.index.json", "weight_map");
  // a tensor larger than the limit gets its own shard
  o.max_shard_bytes = 100;
  std::string dir2 = tmp_dir();
  CHECK(save_checkpoint(dir2, ts, o).size() == 5);
  // with both forms in one folder, model.safetensors wins (Transformers' order)
  write_safetensors(dir2 + "/model.safetensors", {ts[1]}, DType::F32, {});
  Checkpoint both = Checkpoint::open(dir2);
  CHECK(!both.sharded() && both.names().size() == 1 && both.names()[0] == "model.norm.weight");
}

TEST(writer_rejects_bad_input_and_leaves_no_file) {
  std::string dir = tmp_dir();
  float x[4] = {1, 2, 3, 4};
  std::map<std::string, std::string> none;
  CHECK_ERROR(write_safetensors(dir + "/a.safetensors", {{"w", {2, 2}, x}, {"w", {4}, x}}, DType::F32, none),
              "a.safetensors", "\"w\" given twice");
  CHECK_ERROR(write_safetensors(dir + "/a.safetensors", {{"w", {2, -2}, x}}, DType::F32, none), "\"w\"",
              "invalid shape");
  CHECK_ERROR(write_safetensors(dir + "/a.safetensors", {{"w", {2}, nullptr}}, DType::F32, none), "\"w\"", "null data");
  CHECK_ERROR(write_safetensors(dir + "/a.safetensors", {{"w", {2}, x}}, DType::I64, none), "I64");
  CHECK_ERROR(write_safetensors(dir + "/no/such/dir/a.safetensors", {{"w", {2}, x}}, DType::F32, none),
              "no/such/dir/a.safetensors", "cannot create");
  struct stat st;
  CHECK(::stat((dir + "/a.safetensors").c_str(), &st) != 0);
  CHECK_ERROR(save_checkpoint(dir, {}, SaveOptions{}), dir, "no tensors");
}

// ---- corrupt files ------------------------------------------------------------------------------

namespace {

// A small valid file with two F32 tensors and one BF16 tensor, written by hand (header as text).
std::string make_file(const std::string& header, size_t data_bytes) {
  std::string h = header;
  uint64_t n = h.size();
  std::string out(8, '\0');
  std::memcpy(&out[0], &n, 8);
  out += h;
  for (size_t i = 0; i < data_bytes; ++i) out += (char)(i * 37 + 11);
  return out;
}

}  // namespace

TEST(errors_for_missing_and_hand_made_corrupt_files) {
  std::string dir = tmp_dir();
  CHECK_ERROR(SafetensorsFile::open(dir + "/missing.safetensors"), dir + "/missing.safetensors", "file not found");
  CHECK_ERROR(SafetensorsFile::open(dir), dir, "not a regular file");
  CHECK_ERROR(Checkpoint::open(dir), dir, "no model.safetensors");
  CHECK_ERROR(Checkpoint::open(dir + "/nowhere"), dir + "/nowhere", "not found");

  std::string p = dir + "/x.safetensors";
  auto expect = [&](const std::string& header, size_t data, std::vector<std::string> wants) {
    write_bytes(p, make_file(header, data));
    std::string m = error_of([&] { SafetensorsFile::open(p); });
    bool ok = !m.empty() && contains(m, p);
    for (auto& w : wants) ok = ok && contains(m, w);
    if (!ok) {
      std::printf("  header %s: error \"%s\"\n", header.c_str(), m.c_str());
      ++wstest::failures();
    }
  };
  // valid baseline
  std::string good =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_"
      "offsets\":[8,14]}}";
  write_bytes(p, make_file(good, 14));
  CHECK(SafetensorsFile::open(p).tensors().size() == 2);
  expect(good, 13, {"\"b\"", "truncated"});
  expect(good, 15, {"1 bytes after the last tensor"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, {"\"a\"", "needs 12"});
  expect("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, {"\"a\"", "unsupported dtype \"Q4\""});
  expect(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_"
      "offsets\":[4,12]}}",
      12, {"\"b\"", "overlap tensor \"a\""});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, {"\"a\"", "gap of 4 bytes"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, {"\"a\"", "end before begin"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, {"\"a\"", "non-negative"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, {"\"a\"", "non-negative integers"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8,
         {"\"a\"", "too large"});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, {"\"a\"", "missing field \"data_offsets\""});
  expect("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, {"\"a\"", "[begin, end]"});
  expect("{\"a\":[1]}", 0, {"\"a\"", "expected an object"});
  expect("{\"__metadata__\":{\"format\":1}}", 0, {"__metadata__"});
  expect(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_"
      "offsets\":[8,16]}}",
      16, {"duplicate key \"a\""});
  expect("[1, 2]  ", 0, {"corrupt header"});
  expect("{\"a\":{\"dtype\":\"F32\",", 0, {"header: line 1"});
  // an unsupported dtype for reading (valid file) names the tensor
  write_bytes(p, make_file("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8));
  SafetensorsFile f = SafetensorsFile::open(p);
  float out[2];
  CHECK_ERROR(f.read_f32("ids", out, 1), p, "\"ids\"", "unsupported dtype I64");
}

TEST(huge_or_absurd_header_length) {
  std::string dir = tmp_dir();
  std::string p = dir + "/h.safetensors";
  std::string good = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  std::string bytes = make_file(good, 8);
  for (uint64_t n : std::vector<uint64_t>{~0ull, 1ull << 63, kMaxHeaderBytes + 1, (uint64_t)bytes.size() - 7,
                                          (uint64_t)bytes.size()}) {
    std::string b = bytes;
    std::memcpy(&b[0], &n, 8);
    write_bytes(p, b);
    std::string m = error_of([&] { SafetensorsFile::open(p); });
    if (!contains(m, p) || !contains(m, "header length")) {
      std::printf("  n=%llu: \"%s\"\n", (unsigned long long)n, m.c_str());
      ++wstest::failures();
    }
  }
  // a 100 MB + 1 header length in a big-enough sparse file is refused for its size alone
  std::string big = bytes;
  uint64_t n = kMaxHeaderBytes + 1;
  std::memcpy(&big[0], &n, 8);
  write_bytes(p, big);
  CHECK(::truncate(p.c_str(), (off_t)(kMaxHeaderBytes + 64)) == 0);
  CHECK_ERROR(SafetensorsFile::open(p), p, "100 MB");
}

TEST(truncation_at_every_offset_is_an_error_naming_the_file) {
  std::string dir = tmp_dir();
  float w[6] = {1, 2, 3, 4, 5, 6};
  write_safetensors(dir + "/full.safetensors", {{"w", {2, 3}, w}, {"b", {2}, w}}, DType::F32, {{"format", "pt"}});
  std::string bytes = read_bytes(dir + "/full.safetensors");
  std::string p = dir + "/cut.safetensors";
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    write_bytes(p, bytes.substr(0, cut));
    std::string m = error_of([&] { SafetensorsFile::open(p); });
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    bool ok = contains(m, p);
    if (cut >= 8 + n)
      ok = ok && contains(m, "truncated") && (contains(m, "\"w\"") || contains(m, "\"b\""));
    else if (cut >= 8)
      ok = ok && contains(m, "header length");
    if (!ok) {
      std::printf("  cut at %zu: \"%s\"\n", cut, m.c_str());
      ++wstest::failures();
      break;
    }
  }
}

TEST(flipped_header_bytes_never_crash) {
  std::string dir = tmp_dir();
  float w[6] = {1, 2, 3, 4, 5, 6};
  write_safetensors(dir + "/full.safetensors", {{"w", {2, 3}, w}, {"b", {2}, w}}, DType::BF16, {{"format", "pt"}});
  std::string bytes = read_bytes(dir + "/full.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  std::string p = dir + "/flip.safetensors";
  int errors = 0, opened = 0;
  for (size_t i = 0; i < 8 + n; ++i) {
    for (unsigned x : {0x01u, 0x02u, 0x10u, 0x20u, 0x80u, 0xffu}) {
      std::string b = bytes;
      b[i] = (char)(b[i] ^ x);
      write_bytes(p, b);
      try {
        SafetensorsFile f = SafetensorsFile::open(p);
        // still a consistent file (e.g. a renamed tensor or a changed metadata value): readable
        ++opened;
        for (auto& t : f.tensors()) {
          std::vector<float> out((size_t)t.numel());
          f.read_f32(t.name, out.data(), t.numel());
        }
      } catch (const ws::Error& e) {
        ++errors;
        if (!contains(e.what(), p)) {
          std::printf("  flip %zu^%02x: \"%s\" does not name the file\n", i, x, e.what());
          ++wstest::failures();
        }
      }
    }
  }
  CHECK(errors > 0 && opened > 0);
  CHECK(errors > opened);  // most flips break the header
}

int main() { return wstest::run_tests(); }
