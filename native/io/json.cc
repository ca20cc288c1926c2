// Strict JSON: a recursive-descent parser over the text (depth-limited), and a writer.
#include "json.h"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "../core/error.h"

namespace ws::json {

const char* type_name(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "a boolean";
    case Type::Number:
      return "a number";
    case Type::String:
      return "a string";
    case Type::Array:
      return "an array";
    case Type::Object:
      return "an object";
  }
  return "?";
}

Value Value::from_bool(bool b) {
  Value v;
  v.type = Type::Bool;
  v.boolean = b;
  return v;
}
Value Value::from_int(int64_t i) {
  Value v;
  v.type = Type::Number;
  v.is_integer = true;
  v.integer = i;
  v.number = (double)i;
  return v;
}
Value Value::from_double(double d) {
  Value v;
  v.type = Type::Number;
  v.number = d;
  return v;
}
Value Value::from_string(std::string s) {
  Value v;
  v.type = Type::String;
  v.string = std::move(s);
  return v;
}
Value Value::new_array() {
  Value v;
  v.type = Type::Array;
  return v;
}
Value Value::new_object() {
  Value v;
  v.type = Type::Object;
  return v;
}

const Value* Value::get(const std::string& key) const {
  if (type != Type::Object) return nullptr;
  for (auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const Value& Value::at(const std::string& key, const std::string& where) const {
  WS_CHECK(type == Type::Object, where, ": expected an object, got ", type_name(type));
  const Value* v = get(key);
  WS_CHECK(v, where, ": missing field \"", key, "\"");
  return *v;
}

int64_t Value::as_int(const std::string& what) const {
  WS_CHECK(type == Type::Number, what, ": expected an integer, got ", type_name(type));
  if (is_integer) return integer;
  WS_CHECK(std::floor(number) == number && std::fabs(number) < 9.007199254740992e15, what,
           ": expected an integer, got ", number);
  return (int64_t)number;
}

double Value::as_double(const std::string& what) const {
  WS_CHECK(type == Type::Number, what, ": expected a number, got ", type_name(type));
  return number;
}

bool Value::as_bool(const std::string& what) const {
  WS_CHECK(type == Type::Bool, what, ": expected a boolean, got ", type_name(type));
  return boolean;
}

const std::string& Value::as_string(const std::string& what) const {
  WS_CHECK(type == Type::String, what, ": expected a string, got ", type_name(type));
  return string;
}

Value& Value::set(const std::string& key, Value v) {
  WS_CHECK(type == Type::Object, "json: set(\"", key, "\") on ", type_name(type));
  for (auto& kv : object)
    if (kv.first == key) {
      kv.second = std::move(v);
      return kv.second;
    }
  object.emplace_back(key, std::move(v));
  return object.back().second;
}

Value& Value::push(Value v) {
  WS_CHECK(type == Type::Array, "json: push on ", type_name(type));
  array.push_back(std::move(v));
  return array.back();
}

// ---- parser -----------------------------------------------------------------------------------
namespace {

constexpr int kMaxDepth = 128;

class Parser {
 public:
  Parser(std::string_view s, const std::string& source) : s_(s), source_(source) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < i_ && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw ws::Error(ws::str(source_, ": line ", line, ", column ", col, ": ", what));
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  void expect_word(const char* w) {
    for (const char* p = w; *p; ++p, ++i_)
      if (i_ >= s_.size() || s_[i_] != *p) fail(ws::str("invalid literal (expected \"", w, "\")"));
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 128");
    if (i_ >= s_.size()) fail("unexpected end of input");
    char c = s_[i_];
    switch (c) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return Value::from_string(string());
      case 't':
        expect_word("true");
        return Value::from_bool(true);
      case 'f':
        expect_word("false");
        return Value::from_bool(false);
      case 'n':
        expect_word("null");
        return Value();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        fail(ws::str("unexpected character '", printable(c), "'"));
    }
  }

  static std::string printable(char c) {
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  Value object(int depth) {
    ++i_;  // {
    Value v = Value::new_object();
    std::set<std::string> seen;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return v;
    }
    for (;;) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string key");
      size_t key_at = i_;
      std::string key = string();
      if (!seen.insert(key).second) {
        i_ = key_at;
        fail(ws::str("duplicate key \"", key, "\""));
      }
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') fail("expected ':'");
      ++i_;
      skip_ws();
      Value member = value(depth + 1);
      v.object.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return v;
      }
      fail("expected ',' or '}'");
    }
  }

  Value array(int depth) {
    ++i_;  // [
    Value v = Value::new_array();
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return v;
    }
    for (;;) {
      skip_ws();
      v.array.push_back(value(depth + 1));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return v;
      }
      fail("expected ',' or ']'");
    }
  }

  unsigned hex4() {
    unsigned u = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      if (i_ >= s_.size()) fail("unexpected end of input in \\u escape");
      char c = s_[i_];
      u <<= 4;
      if (c >= '0' && c <= '9')
        u |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f')
        u |= (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        u |= (unsigned)(c - 'A' + 10);
      else
        fail("invalid \\u escape");
    }
    return u;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80)
      out += (char)cp;
    else if (cp < 0x800) {
      out += (char)(0xc0 | (cp >> 6));
      out += (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += (char)(0xe0 | (cp >> 12));
      out += (char)(0x80 | ((cp >> 6) & 0x3f));
      out += (char)(0x80 | (cp & 0x3f));
    } else {
      out += (char)(0xf0 | (cp >> 18));
      out += (char)(0x80 | ((cp >> 12) & 0x3f));
      out += (char)(0x80 | ((cp >> 6) & 0x3f));
      out += (char)(0x80 | (cp & 0x3f));
    }
  }

  // Checks one UTF-8 sequence starting at i_ (a lead byte >= 0x80) and copies it.
  void utf8_char(std::string& out) {
    unsigned char c = (unsigned char)s_[i_];
    int n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else
      fail("invalid UTF-8 in string");
    if (i_ + n >= s_.size()) fail("invalid UTF-8 in string");
    for (int k = 1; k <= n; ++k) {
      unsigned char d = (unsigned char)s_[i_ + k];
      if ((d & 0xc0) != 0x80) fail("invalid UTF-8 in string");
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      fail("invalid UTF-8 in string");
    out.append(s_.data() + i_, n + 1);
    i_ += n + 1;
  }

  std::string string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if ((unsigned char)c < 0x20) fail("control character in string");
      if ((unsigned char)c >= 0x80) {
        utf8_char(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) fail("unterminated string");
      char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xdc00 && cp <= 0xdfff) fail("unpaired low surrogate in \\u escape");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (i_ + 1 >= s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
              fail("unpaired high surrogate in \\u escape");
            i_ += 2;
            unsigned lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail("unpaired high surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          --i_;
          fail(ws::str("invalid escape '\\", printable(e), "'"));
      }
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  Value number() {
    size_t start = i_;
    bool neg = false, integral = true;
    if (s_[i_] == '-') {
      neg = true;
      ++i_;
    }
    if (i_ >= s_.size() || !digit(s_[i_])) fail("invalid number");
    if (s_[i_] == '0') {
      ++i_;
      if (i_ < s_.size() && digit(s_[i_])) fail("invalid number (leading zero)");
    } else {
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      integral = false;
      ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) fail("invalid number (digit expected after '.')");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integral = false;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) fail("invalid number (digit expected in exponent)");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    std::string lit(s_.substr(start, i_ - start));
    Value v;
    v.type = Type::Number;
    v.number = std::strtod(lit.c_str(), nullptr);
    if (!std::isfinite(v.number)) {
      i_ = start;
      fail("number out of range");
    }
    if (integral) {
      // exact int64 parse; falls back to the double when it does not fit
      uint64_t mag = 0;
      bool fits = true;
      for (size_t k = neg ? 1 : 0; k < lit.size(); ++k) {
        unsigned d = (unsigned)(lit[k] - '0');
        if (mag > (UINT64_MAX - d) / 10) {
          fits = false;
          break;
        }
        mag = mag * 10 + d;
      }
      if (fits && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
        v.is_integer = true;
        v.integer = neg ? (int64_t)(0 - mag) : (int64_t)mag;
      }
    }
    return v;
  }

  std::string_view s_;
  const std::string& source_;
  size_t i_ = 0;
};

void dump_to(std::string& out, const Value& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append((size_t)(indent * lvl), ' ');
  };
  switch (v.type) {
    case Type::Null:
      out += "null";
      break;
    case Type::Bool:
      out += v.boolean ? "true" : "false";
      break;
    case Type::Number: {
      if (v.is_integer) {
        out += std::to_string(v.integer);
        break;
      }
      WS_CHECK(std::isfinite(v.number), "json: cannot write a non-finite number");
      // Python's repr: the shortest digits that read back exactly, fixed notation for
      // exponents in [-4, 16), else scientific (1e-06, 1.5e+16).
      char buf[48];
      int prec = 0;
      for (; prec < 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*e", prec, v.number);
        if (std::strtod(buf, nullptr) == v.number) break;
      }
      int exp10 = std::atoi(std::strchr(buf, 'e') + 1);
      if (exp10 >= -4 && exp10 < 16) std::snprintf(buf, sizeof buf, "%.*f", std::max(prec - exp10, 0), v.number);
      std::string s = buf;
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      out += s;
      break;
    }
    case Type::String:
      out += quote(v.string);
      break;
    case Type::Array:
      if (v.array.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      for (size_t k = 0; k < v.array.size(); ++k) {
        if (k) out += ',';
        newline(level + 1);
        dump_to(out, v.array[k], indent, level + 1);
      }
      newline(level);
      out += ']';
      break;
    case Type::Object:
      if (v.object.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      for (size_t k = 0; k < v.object.size(); ++k) {
        if (k) out += ',';
        newline(level + 1);
        out += quote(v.object[k].first);
        out += indent < 0 ? ":" : ": ";
        dump_to(out, v.object[k].second, indent, level + 1);
      }
      newline(level);
      out += '}';
      break;
  }
}

}  // namespace

Value parse(std::string_view text, const std::string& source) { return Parser(text, source).document(); }

std::string dump(const Value& v, int indent) {
  std::string out;
  dump_to(out, v, indent, 0);
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if ((unsigned char)c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", (unsigned)(unsigned char)c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace ws::json
