// Argument checks for the binding. Every getter names the argument in its error:
//   TypeError for a wrong JavaScript type or TypedArray kind, RangeError for a wrong length or
//   value. The engine's own ws::Error / ws::RangeError become Error / RangeError (see guard()).
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../core/error.h"

namespace ws::napi {

[[noreturn]] inline void type_error(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] inline void range_error(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

inline Napi::Value arg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

inline double number(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) type_error(env, str(name, " must be a number"));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) range_error(env, str(name, " must be finite, got ", d));
  return d;
}

inline double number_in(Napi::Env env, Napi::Value v, const char* name, double lo, double hi) {
  double d = number(env, v, name);
  if (d < lo || d > hi) range_error(env, str(name, " must be in [", lo, ", ", hi, "], got ", d));
  return d;
}

inline int64_t integer(Napi::Env env, Napi::Value v, const char* name, int64_t lo, int64_t hi) {
  double d = number(env, v, name);
  if (d != std::floor(d)) range_error(env, str(name, " must be an integer, got ", d));
  if (d < (double)lo || d > (double)hi) range_error(env, str(name, " must be in [", lo, ", ", hi, "], got ", d));
  return (int64_t)d;
}

inline bool boolean(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsBoolean()) type_error(env, str(name, " must be a boolean"));
  return v.As<Napi::Boolean>().Value();
}

inline std::string string(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) type_error(env, str(name, " must be a string"));
  return v.As<Napi::String>().Utf8Value();
}

inline const char* typed_array_kind(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array:
      return "Float32Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_float64_array:
      return "Float64Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint16_array:
      return "Uint16Array";
    default:
      return "another TypedArray";
  }
}

// A TypedArray of the given kind; `len` < 0 accepts any length, else it must match exactly.
template <typename T>
inline Napi::TypedArrayOf<T> typed(Napi::Env env, Napi::Value v, const char* name, napi_typedarray_type kind,
                                   int64_t len) {
  if (!v.IsTypedArray()) type_error(env, str(name, " must be a ", typed_array_kind(kind)));
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != kind)
    type_error(env, str(name, " must be a ", typed_array_kind(kind), ", got ", typed_array_kind(ta.TypedArrayType())));
  if (len >= 0 && (int64_t)ta.ElementLength() != len)
    range_error(env, str(name, " must have length ", len, ", got ", ta.ElementLength()));
  return v.As<Napi::TypedArrayOf<T>>();
}

inline Napi::Float32Array f32(Napi::Env env, Napi::Value v, const char* name, int64_t len = -1) {
  return typed<float>(env, v, name, napi_float32_array, len);
}
inline Napi::Int32Array i32(Napi::Env env, Napi::Value v, const char* name, int64_t len = -1) {
  return typed<int32_t>(env, v, name, napi_int32_array, len);
}
// null/undefined -> empty optional array (data() == nullptr)
inline bool absent(Napi::Value v) { return v.IsNull() || v.IsUndefined(); }

// Every value of an Int32Array in [lo, hi).
inline void ids_in_range(Napi::Env env, const Napi::Int32Array& a, const char* name, int64_t lo, int64_t hi) {
  for (size_t i = 0; i < a.ElementLength(); ++i)
    if (a[i] < lo || a[i] >= hi) range_error(env, str(name, "[", i, "] = ", a[i], " is outside [", lo, ", ", hi, ")"));
}

// cu_seqlens[n+1]: starts at 0, non-decreasing, ends at T.
inline void check_cu_seqlens(Napi::Env env, const Napi::Int32Array& cu, const char* name, int64_t T) {
  size_t n = cu.ElementLength();
  if (n < 2) range_error(env, str(name, " must have at least 2 entries"));
  if (cu[0] != 0) range_error(env, str(name, "[0] must be 0, got ", cu[0]));
  for (size_t i = 1; i < n; ++i)
    if (cu[i] < cu[i - 1]) range_error(env, str(name, " must be non-decreasing (index ", i, ")"));
  if (cu[n - 1] != T) range_error(env, str(name, " must end at ", T, ", got ", cu[n - 1]));
}

inline Napi::Object object(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) type_error(env, str(name, " must be an object"));
  return v.As<Napi::Object>();
}

// Runs f and converts engine errors into JavaScript errors.
template <typename F>
inline auto guard(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ws::RangeError& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace ws::napi
