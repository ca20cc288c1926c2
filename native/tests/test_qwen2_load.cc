// Loading a Qwen2 checkpoint into the model (native/model/qwen2_io.cc): a sharded bf16 (and f16,
// and f32) checkpoint gives parameters bit-identical to an independent conversion of the values
// that were saved (bf16: nearest of the two neighbouring bf16 values in double, ties to even;
// f16: the compiler's _Float16), into a fresh model and into one that already holds weights;
// a bad checkpoint leaves the weights untouched; progress counts every byte and an abort stops.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../model/qwen2.h"
#include "../model/qwen2_io.h"
#include "test_util.h"

using ws::model::Qwen2;
using ws::model::Qwen2Config;
namespace fs = std::filesystem;

namespace {

Qwen2Config small_config() {
  Qwen2Config c;
  c.vocab_size = 301;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 3;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.tied = false;
  return c;
}

// Random everywhere (norm weights and biases too), with a few values that round in every way.
void randomise(Qwen2& m, uint64_t seed) {
  m.init_random(seed, 0.7f);
  auto r = wstest::randn(m.flat_size(), seed + 1, 0.5f);
  m.write_host(false, [&](ws::model::HostState& h) {
    for (auto& p : m.params())
      if (p.shape.size() == 1)
        for (int64_t i = 0; i < p.numel; ++i) h.params[p.offset + i] += r[p.offset + i];
  });
  std::vector<float> all;
  m.read_host(false, [&](const ws::model::HostState& h) { all.assign(h.params, h.params + m.flat_size()); });
  float* x = all.data() + m.params()[0].offset;
  // (an infinite weight would be refused at load, so the overflow edge is the last finite one)
  const uint32_t special[] = {0x3f808000u /* tie, even */,
                              0x3f818000u /* tie, odd */,
                              0x3f80ffffu,
                              0x00000001u,
                              0x477fefffu /* largest float that f16 keeps finite */,
                              0x80000000u};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i) std::memcpy(&x[i], &special[i], 4);
  m.write_host(false, [&](ws::model::HostState& h) { std::memcpy(h.params, all.data(), all.size() * sizeof(float)); });
}

std::vector<float> host_params(Qwen2& m) {
  std::vector<float> out;
  m.read_host(false, [&](const ws::model::HostState& h) { out.assign(h.params, h.params + m.flat_size()); });
  return out;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// bf16 reference: the two bf16 neighbours of x (truncated, and one ulp further from zero), the
// nearer one in double arithmetic, ties to the even mantissa. Finite inputs only.
float bf16_reference(float x) {
  uint32_t lo = bits(x) & 0xffff0000u, hi = lo + 0x10000u;
  // past the largest bf16 the next value is inf, which rounding treats as 2^128
  double vh = (hi & 0x7fffffffu) == 0x7f800000u ? std::copysign(std::ldexp(1.0, 128), x) : (double)from_bits(hi);
  double dl = std::fabs((double)x - (double)from_bits(lo)), dh = std::fabs(vh - (double)x);
  if (dl < dh) return from_bits(lo);
  if (dh < dl) return from_bits(hi);
  return ((lo >> 16) & 1u) ? from_bits(hi) : from_bits(lo);
}
float f16_reference(float x) { return (float)(_Float16)x; }

std::string temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("ws-load-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void check_loaded(const Qwen2& want_src, Qwen2& got, ws::io::DType dt, const char* what) {
  Qwen2& src = const_cast<Qwen2&>(want_src);
  const std::vector<float> src_params = host_params(src), got_params = host_params(got);
  int bad = 0;
  for (auto& p : src.params()) {
    for (int64_t i = 0; i < p.numel; ++i) {
      float x = src_params[p.offset + i];
      float want = dt == ws::io::DType::F32 ? x : dt == ws::io::DType::BF16 ? bf16_reference(x) : f16_reference(x);
      float have = got_params[p.offset + i];
      if (bits(have) != bits(want) && bad++ < 5)
        std::printf("  %s: %s[%lld]: got %08x, want %08x (saved %08x)\n", what, p.name.c_str(), (long long)i,
                    bits(have), bits(want), bits(x));
    }
  }
  CHECK(bad == 0);
}

void save_load(ws::io::DType dt, uint64_t shard_bytes, bool fresh_target, const char* tag) {
  Qwen2 a(small_config());
  randomise(a, 11);
  std::string dir = temp_dir(tag);
  ws::io::SaveOptions so;
  so.dtype = dt;
  so.max_shard_bytes = shard_bytes;
  auto files = ws::model::save_weights(a, dir, so);
  if (shard_bytes < 100000) CHECK(files.size() > 3 && files.back() == "model.safetensors.index.json");
  Qwen2 b(small_config());
  if (!fresh_target) randomise(b, 99);
  ws::model::load_weights(b, dir);
  check_loaded(a, b, dt, tag);
  fs::remove_all(dir);
}

}  // namespace

TEST(sharded_bf16_bit_identical_to_reference) { save_load(ws::io::DType::BF16, 20000, true, "bf16-sharded"); }
TEST(sharded_bf16_into_loaded_model) { save_load(ws::io::DType::BF16, 20000, false, "bf16-reload"); }
TEST(sharded_f16_bit_identical_to_reference) { save_load(ws::io::DType::F16, 30000, true, "f16-sharded"); }
TEST(single_f32_bit_identical) { save_load(ws::io::DType::F32, 5'000'000'000ull, true, "f32-single"); }
TEST(sharded_f32_into_loaded_model) { save_load(ws::io::DType::F32, 50000, false, "f32-reload"); }

int main() { return wstest::run_tests(); }
