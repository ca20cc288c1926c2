// Errors: every check in the engine throws ws::Error with a message that names what was wrong.
// The binding turns it into a JavaScript exception; nothing in the engine aborts the process.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ws {

struct Error : std::runtime_error {
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// A bad argument (wrong size, out of range): the binding maps it to RangeError.
struct RangeError : Error {
  explicit RangeError(const std::string& msg) : Error(msg) {}
};

template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace ws

#define WS_CHECK(cond, ...)                                 \
  do {                                                      \
    if (!(cond)) throw ::ws::Error(::ws::str(__VA_ARGS__)); \
  } while (0)
#define WS_CHECK_RANGE(cond, ...)                                \
  do {                                                           \
    if (!(cond)) throw ::ws::RangeError(::ws::str(__VA_ARGS__)); \
  } while (0)
