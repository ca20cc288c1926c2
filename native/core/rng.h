// Seeded random numbers: splitmix64 to seed, xoshiro128+-style stream per (seed, stream id).
// Same seed and stream => same numbers on every machine and thread count.
#pragma once
#include <cmath>
#include <cstdint>

namespace ws {

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed, uint64_t stream = 0)
      : s(seed * 0x9E3779B97F4A7C15ull ^ (stream + 1) * 0xD1B54A32D192ED03ull) {}
  uint64_t next_u64() { return splitmix64(s); }
  // Uniform in [0, 1) with 24 random bits.
  float uniform() { return (next_u64() >> 40) * (1.0f / 16777216.0f); }
  // Standard normal (Box-Muller).
  float normal() {
    float u1 = (static_cast<float>(next_u64() >> 40) + 1.0f) * (1.0f / 16777217.0f);  // (0, 1]
    float u2 = uniform();
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530717958647692f * u2);
  }
};

}  // namespace ws
