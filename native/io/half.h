// 16-bit float conversions (bit patterns in uint16_t).
//   bf16: the top 16 bits of an IEEE f32. bf16 -> f32 is exact; f32 -> bf16 rounds to nearest,
//         ties to even (NaN stays a quiet NaN with its sign, +-inf stays inf).
//   f16:  IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits; subnormals). f16 -> f32 is exact;
//         f32 -> f16 rounds to nearest even, overflows to inf, underflows through subnormals to 0.
#pragma once
#include <cstdint>
#include <cstring>

namespace ws::io {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even on the dropped 16 bits
  return (uint16_t)(u >> 16);
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp != 0) return bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return bits_f32(sign);
  // subnormal: man * 2^-24, exact in f32
  float v = (float)man * bits_f32(0x33800000u);  // 2^-24
  return sign ? -v : v;
}

inline uint16_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                        // >= 65520 rounds to inf
  if (a >= 0x38800000u) {                                                         // normal f16 (>= 2^-14)
    uint32_t r = a - (112u << 23);                                                // rebias exponent
    r += 0xfffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
  }
  if (a < 0x33000000u) return sign;  // < 2^-25 rounds to 0 (2^-25 itself ties to even 0)
  // subnormal f16: value = m * 2^-24 with m in [0, 1024]; round a's mantissa to nearest even
  uint32_t e = a >> 23, man = (a & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - e;  // 2^(e-127) * man/2^23 / 2^-24 = man >> (126 - e)
  uint32_t m = man >> shift, rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (m & 1u))) ++m;
  return (uint16_t)(sign | m);
}

}  // namespace ws::io
