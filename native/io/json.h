// A small strict JSON (RFC 8259) parser and writer: enough for safetensors headers, index files
// and config.json. Strict: no comments, no trailing commas, no NaN/Infinity, no duplicate keys,
// no control characters in strings, valid UTF-16 surrogate pairs, nesting depth <= 128.
// Errors are ws::Error "SOURCE: line L, column C: what was wrong".
//
//   ws::json::Value v = ws::json::parse(text, "model/config.json");
//   int64_t h = v.at("hidden_size", "config.json").as_int("hidden_size");
//   const ws::json::Value* tied = v.get("tie_word_embeddings");   // nullptr when absent
//   std::string out = ws::json::dump(v, 2);                        // indent 2, keys in order
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::json {

enum class Type { Null, Bool, Number, String, Array, Object };
const char* type_name(Type t);

struct Value {
  Type type = Type::Null;
  bool boolean = false;
  double number = 0.0;
  bool is_integer = false;  // the literal had no fraction/exponent and fits in int64
  int64_t integer = 0;      // valid when is_integer
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in document order, keys unique

  Value() = default;
  static Value null() { return Value(); }
  static Value from_bool(bool b);
  static Value from_int(int64_t i);
  static Value from_double(double d);
  static Value from_string(std::string s);
  static Value new_array();
  static Value new_object();

  bool is_null() const { return type == Type::Null; }
  bool is_object() const { return type == Type::Object; }
  bool is_array() const { return type == Type::Array; }
  bool is_string() const { return type == Type::String; }
  bool is_number() const { return type == Type::Number; }
  bool is_bool() const { return type == Type::Bool; }

  // Object member lookup: nullptr when this is not an object or the key is absent.
  const Value* get(const std::string& key) const;
  // Like get, but throws ws::Error "WHERE: missing field \"KEY\"" when absent.
  const Value& at(const std::string& key, const std::string& where) const;
  // Typed access; throws ws::Error "WHAT: expected T, got U" (WHAT names the field).
  int64_t as_int(const std::string& what) const;  // an integer literal (2.0 is accepted too)
  double as_double(const std::string& what) const;
  bool as_bool(const std::string& what) const;
  const std::string& as_string(const std::string& what) const;

  // Building objects/arrays: set replaces an existing key's value, else appends.
  Value& set(const std::string& key, Value v);
  Value& push(Value v);
};

// Parses a whole document (surrounding whitespace allowed, nothing else after the value).
Value parse(std::string_view text, const std::string& source);
// Serialises. indent < 0: compact (no spaces); else pretty with that many spaces per level.
// Doubles are written with the shortest form that reads back exactly; integers exactly.
std::string dump(const Value& v, int indent = -1);
// A JSON string literal (with quotes) for s; non-ASCII UTF-8 passes through unchanged.
std::string quote(std::string_view s);

}  // namespace ws::json
