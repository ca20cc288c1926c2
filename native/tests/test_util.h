// A minimal C++ test harness for the engine's tests (no framework to download).
//   TEST(name) { CHECK(cond); CHECK_NEAR(a, b, tol); }  ...  int main() { return run_tests(); }
// Helpers: random fills (never zeros), allclose with tol + |ref|*eps, and a finite-difference
// gradient check in double.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <functional>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/rng.h"

namespace wstest {

struct Case {
  const char* name;
  void (*fn)();
};
inline std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
inline int& failures() {
  static int f = 0;
  return f;
}
struct Reg {
  Reg(const char* n, void (*f)()) { registry().push_back({n, f}); }
};

inline int run_tests() {
  int failed_cases = 0;
  for (auto& c : registry()) {
    int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::printf("  exception: %s\n", e.what());
      ++failures();
    }
    bool ok = failures() == before;
    failed_cases += !ok;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
  }
  std::printf("%zu passed, %d failed\n", registry().size() - failed_cases, failed_cases);
  return failed_cases ? 1 : 0;
}

// The whole file as text (fixtures: config.json, expected.json); throws naming the path.
inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ws::Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
  ws::Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) {
    float z = r.normal() * scale;
    x = z == 0.0f ? scale * 1e-3f : z;
  }
  return v;
}

inline std::vector<float> uniform(size_t n, uint64_t seed, float lo, float hi) {
  ws::Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * r.uniform();
  return v;
}

// max over i of |a - ref| - (tol + |ref| * eps); <= 0 means all close. Prints the worst index.
inline bool allclose(const float* a, const float* ref, size_t n, float tol, float eps, const char* what) {
  double worst = -1e30;
  size_t wi = 0;
  for (size_t i = 0; i < n; ++i) {
    double excess = std::fabs((double)a[i] - ref[i]) - (tol + std::fabs((double)ref[i]) * eps);
    if (std::isnan(a[i]) != std::isnan(ref[i])) excess = 1e30;
    if (excess > worst) {
      worst = excess;
      wi = i;
    }
  }
  if (worst > 0) {
    std::printf("  %s: mismatch at %zu: got %.8g want %.8g (tol %g + |ref|*%g)\n", what, wi, a[wi], ref[wi], tol, eps);
    return false;
  }
  return true;
}

// Finite-difference gradient check. `loss` evaluates a scalar from the current value of x (in
// float, but the caller accumulates in double). `analytic` is the gradient the backward produced.
// Central differences with step h; checks |num - ana| <= tol + eps * |num| on every element
// (or on `max_checks` elements spread over x, to keep big tensors fast).
inline bool gradcheck(std::vector<float>& x, const std::vector<float>& analytic, const std::function<double()>& loss,
                      const char* what, double h = 1e-2, double tol = 2e-3, double eps = 2e-2, size_t max_checks = 64) {
  size_t n = x.size();
  size_t stride = n > max_checks ? n / max_checks : 1;
  bool ok = true;
  for (size_t i = 0; i < n; i += stride) {
    float orig = x[i];
    x[i] = orig + (float)h;
    double lp = loss();
    x[i] = orig - (float)h;
    double lm = loss();
    x[i] = orig;
    double num = (lp - lm) / (2 * h);
    double err = std::fabs(num - analytic[i]);
    if (err > tol + eps * std::fabs(num)) {
      std::printf("  %s[%zu]: numeric %.8g analytic %.8g\n", what, i, num, analytic[i]);
      ok = false;
      break;
    }
  }
  return ok;
}

// Sum_i x[i] * r[i] in double: a random projection that turns any output into a scalar loss.
inline double dot(const float* x, const float* r, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (double)x[i] * r[i];
  return s;
}

}  // namespace wstest

#define TEST(name)                            \
  static void name();                         \
  static wstest::Reg name##_reg(#name, name); \
  static void name()
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++wstest::failures();                                                  \
    }                                                                        \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                                         \
  do {                                                                                                                \
    double _a = (a), _b = (b);                                                                                        \
    if (!(std::fabs(_a - _b) <= (tol))) {                                                                             \
      std::printf("  %s:%d: %s = %.9g, %s = %.9g, |diff| > %g\n", __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); \
      ++wstest::failures();                                                                                           \
    }                                                                                                                 \
  } while (0)
#define CHECK_THROWS(expr)                                                   \
  do {                                                                       \
    bool _t = false;                                                         \
    try {                                                                    \
      expr;                                                                  \
    } catch (const std::exception&) {                                        \
      _t = true;                                                             \
    }                                                                        \
    if (!_t) {                                                               \
      std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr); \
      ++wstest::failures();                                                  \
    }                                                                        \
  } while (0)
