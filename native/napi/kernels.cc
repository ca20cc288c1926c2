// The `kernels` object: every op of native/cpu/ops.h on TypedArrays, for tests and
// microbenchmarks. Each function takes the C signature's arguments in the same order, in
// camelCase: pointers become Float32Array / Int32Array whose length must equal what the shape
// arguments imply, "may be null" pointers also accept null / undefined, sizes are integers.
// The heavy ops also have an `<name>Async` twin that runs on a worker thread and returns a
// Promise (argument errors still throw at the call; engine errors reject the Promise); what
// JavaScript may do to their arrays meanwhile is safe (see Copies). This file only checks and
// converts; the maths lives in native/cpu/.
#include <algorithm>
#include <cstring>
#include <deque>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../cpu/ops.h"
#include "check.h"
#include "modules.h"
#include "task.h"

namespace ws::napi {
namespace {

constexpr int64_t kMaxDim = 2147483647;

// Arrays handed to async work (the `...Async` twins): JavaScript runs while they work, and it may
// detach an ArrayBuffer (transfer, structuredClone, postMessage, ArrayBuffer.prototype.transfer),
// shrink a resizable one or change any value. So index arrays (tokens, positions, targets,
// cuSeqlens, lens), which the kernel trusts once checked, are copied at the call; a Float32Array
// on a SharedArrayBuffer (which can be neither detached nor shrunk) is used in place and held
// until the work ends; any other Float32Array is copied at the call, and an output's copy is
// written back when the work ends, if the array still has its length (else the Promise rejects
// and names it). Synchronous calls use every array in place: no JavaScript runs meanwhile.
struct Copies {
  struct Output {
    Napi::Reference<Napi::Float32Array> array;
    const float* data;
    size_t n;
    const char* name;
  };
  std::deque<std::vector<float>> f32;
  std::deque<std::vector<int32_t>> i32;
  std::vector<Output> outputs;

  // JS thread, when the work has ended: every output back into its array.
  void write_back(Napi::Env env) {
    const char* lost = nullptr;
    for (auto& o : outputs) {
      Napi::Float32Array a = o.array.Value();
      if (a.IsEmpty() || a.ElementLength() != o.n || (o.n > 0 && a.Data() == nullptr)) {
        if (!lost) lost = o.name;
        continue;
      }
      if (o.n > 0) std::memcpy(a.Data(), o.data, o.n * sizeof(float));
    }
    if (lost)
      throw Napi::Error::New(env, str(lost, " was detached or resized while the kernel ran; its result is lost"));
  }
};

// One parsed call: the work to run and what keeps its memory valid.
struct Call {
  std::function<void()> work;
  Task::Done done;                 // result value; null = undefined
  std::vector<Napi::Value> keep;   // arrays used in place (held by an async call until it ends)
  std::shared_ptr<Copies> copies;  // async calls only
};

enum class Mode { Sync, Async };

// A TypedArray whose buffer is a SharedArrayBuffer: JavaScript can neither detach nor shrink it.
bool shared_buffer(Napi::Env env, const Napi::TypedArray& a) {
  napi_value buf;
  if (napi_get_typedarray_info(env, a, nullptr, nullptr, nullptr, &buf, nullptr) != napi_ok) return false;
  bool is_ab = true;
  if (napi_is_arraybuffer(env, buf, &is_ab) != napi_ok) return false;
  return !is_ab;
}

class Args {
 public:
  Args(const Napi::CallbackInfo& info, Mode mode) : info_(info), mode_(mode), env(info.Env()) {
    if (mode == Mode::Async) call.copies = std::make_shared<Copies>();
  }

  int dim(size_t i, const char* name, int64_t lo = 0) { return (int)integer(env, arg(info_, i), name, lo, kMaxDim); }
  float num(size_t i, const char* name) { return (float)number(env, arg(info_, i), name); }
  float num_in(size_t i, const char* name, double lo, double hi) {
    return (float)number_in(env, arg(info_, i), name, lo, hi);
  }
  bool flag(size_t i, const char* name) { return boolean(env, arg(info_, i), name); }
  bool present(size_t i) { return !absent(arg(info_, i)); }
  Napi::Value value(size_t i) { return arg(info_, i); }

  // Float32Arrays the kernel reads (in) or writes (out; a backward adds into what is there).
  float* f32(size_t i, const char* name, double len) { return f32_value(arg(info_, i), name, len, false); }
  float* f32_opt(size_t i, const char* name, double len) { return present(i) ? f32(i, name, len) : nullptr; }
  float* out(size_t i, const char* name, double len) { return f32_value(arg(info_, i), name, len, true); }
  float* out_opt(size_t i, const char* name, double len) { return present(i) ? out(i, name, len) : nullptr; }

  float* f32_value(Napi::Value v, const char* name, double len, bool output) {
    auto a = ws::napi::f32(env, v, name, length(len, name));
    if (mode_ == Mode::Sync || shared_buffer(env, a)) {
      call.keep.push_back(a);
      return a.Data();
    }
    auto& c = call.copies->f32.emplace_back(a.Data(), a.Data() + a.ElementLength());
    if (output) call.copies->outputs.push_back({Napi::Persistent(a), c.data(), c.size(), name});
    return c.data();
  }
  int32_t* i32(size_t i, const char* name, double len) {
    auto a = ws::napi::i32(env, arg(info_, i), name, length(len, name));
    return ints(a);
  }
  // Int32Array of length n whose values lie in [lo, hi).
  int32_t* ids(size_t i, const char* name, double n, int64_t lo, int64_t hi) {
    int32_t* p = i32(i, name, n);
    for (int64_t j = 0; j < (int64_t)n; ++j)
      if (p[j] < lo || p[j] >= hi)
        range_error(env, str(name, "[", j, "] = ", p[j], " is outside [", lo, ", ", hi, ")"));
    return p;
  }
  // cu_seqlens[num_seqs + 1]: 0, non-decreasing, ends at T.
  int32_t* cu_seqlens(size_t i, const char* name, int num_seqs, int T) {
    auto a = ws::napi::i32(env, arg(info_, i), name, length((double)num_seqs + 1, name));
    int32_t* p = ints(a);
    check_cu_seqlens(env, a, name, T);  // (an async call's copy was taken first: same values)
    return p;
  }
  void heads(int Hq, int Hkv) {
    if (Hq < 1 || Hkv < 1 || Hq % Hkv != 0)
      range_error(env, str("Hq (", Hq, ") must be a positive multiple of Hkv (", Hkv, ")"));
  }

  Call call;

 private:
  int32_t* ints(Napi::Int32Array a) {
    if (mode_ == Mode::Sync) {
      call.keep.push_back(a);
      return a.Data();
    }
    return call.copies->i32.emplace_back(a.Data(), a.Data() + a.ElementLength()).data();
  }
  // Array lengths are products of int32 sizes; in double they stay exact below 2^53.
  int64_t length(double len, const char* name) {
    if (len > 9007199254740992.0) range_error(env, str(name, ": the sizes give more than 2^53 elements"));
    return (int64_t)len;
  }
  const Napi::CallbackInfo& info_;
  Mode mode_;

 public:
  Napi::Env env;
};

using Parser = void (*)(Args&);

template <Parser P>
Napi::Value run_sync(const Napi::CallbackInfo& info) {
  Args a(info, Mode::Sync);
  P(a);
  guard(a.env, a.call.work);
  return a.call.done ? a.call.done(a.env) : a.env.Undefined();
}

template <Parser P>
Napi::Value run_async(const Napi::CallbackInfo& info) {
  Args a(info, Mode::Async);
  P(a);
  auto copies = a.call.copies;
  auto work = [w = a.call.work, copies] { w(); };
  auto done = [d = a.call.done, copies](Napi::Env env) -> Napi::Value {
    copies->write_back(env);
    return d ? d(env) : env.Undefined();
  };
  auto task = std::make_unique<Task>(a.env, std::move(work), std::move(done));
  for (auto& v : a.call.keep) task->keep(v);
  auto p = task->promise();
  task->Queue();
  task.release();  // deleted when complete
  return p;
}

// ---- embedding ------------------------------------------------------------------------------
// embeddingForward(out[T*C], tokens[T], wte[V*C], T, C, V)
void embedding_fwd(Args& a) {
  int T = a.dim(3, "T"), C = a.dim(4, "C", 1), V = a.dim(5, "V", 1);
  float* out = a.out(0, "out", (double)T * C);
  int32_t* tok = a.ids(1, "tokens", T, 0, V);
  float* wte = a.f32(2, "wte", (double)V * C);
  a.call.work = [=] { cpu::embedding_forward(out, tok, wte, T, C, V); };
}
// embeddingBackward(dwte[V*C], dout[T*C], tokens[T], T, C, V)
void embedding_bwd(Args& a) {
  int T = a.dim(3, "T"), C = a.dim(4, "C", 1), V = a.dim(5, "V", 1);
  float* dwte = a.out(0, "dwte", (double)V * C);
  float* dout = a.f32(1, "dout", (double)T * C);
  int32_t* tok = a.ids(2, "tokens", T, 0, V);
  a.call.work = [=] { cpu::embedding_backward(dwte, dout, tok, T, C, V); };
}

// ---- rmsnorm --------------------------------------------------------------------------------
// rmsnormForward(out[T*C], rstd[T] | null, x[T*C], w[C], T, C, eps)
void rmsnorm_fwd(Args& a) {
  int T = a.dim(4, "T"), C = a.dim(5, "C", 1);
  float eps = a.num_in(6, "eps", 0, 1);
  float* out = a.out(0, "out", (double)T * C);
  float* rstd = a.out_opt(1, "rstd", T);
  float* x = a.f32(2, "x", (double)T * C);
  float* w = a.f32(3, "w", C);
  a.call.work = [=] { cpu::rmsnorm_forward(out, rstd, x, w, T, C, eps); };
}
// rmsnormBackward(dx[T*C] | null, dw[C] | null, dout[T*C], x[T*C], w[C], rstd[T], T, C)
void rmsnorm_bwd(Args& a) {
  int T = a.dim(6, "T"), C = a.dim(7, "C", 1);
  float* dx = a.out_opt(0, "dx", (double)T * C);
  float* dw = a.out_opt(1, "dw", C);
  float* dout = a.f32(2, "dout", (double)T * C);
  float* x = a.f32(3, "x", (double)T * C);
  float* w = a.f32(4, "w", C);
  float* rstd = a.f32(5, "rstd", T);
  a.call.work = [=] { cpu::rmsnorm_backward(dx, dw, dout, x, w, rstd, T, C); };
}

// ---- rope -----------------------------------------------------------------------------------
// ropeForward(out[T*H*D], x[T*H*D], positions[T], T, H, D, theta); ropeBackward(dx, dout, ...)
template <bool Backward>
void rope(Args& a) {
  int T = a.dim(3, "T"), H = a.dim(4, "H", 1), D = a.dim(5, "D", 2);
  if (D % 2) range_error(a.env, str("D must be even, got ", D));
  float theta = a.num_in(6, "theta", 1.001, 1e12);
  double n = (double)T * H * D;
  float* out = a.out(0, Backward ? "dx" : "out", n);
  float* x = a.f32(1, Backward ? "dout" : "x", n);
  int32_t* pos = a.ids(2, "positions", T, 0, kMaxDim);
  if (Backward)
    a.call.work = [=] { cpu::rope_backward(out, x, pos, T, H, D, theta); };
  else
    a.call.work = [=] { cpu::rope_forward(out, x, pos, T, H, D, theta); };
}

// ---- attention ------------------------------------------------------------------------------
// attentionForward(out[T*Hq*D], lse[T*Hq] | null, q[T*Hq*D], k[T*Hkv*D], v[T*Hkv*D],
//                  cuSeqlens[numSeqs+1], numSeqs, T, Hq, Hkv, D)
void attention_fwd(Args& a) {
  int ns = a.dim(6, "numSeqs", 1), T = a.dim(7, "T"), Hq = a.dim(8, "Hq", 1), Hkv = a.dim(9, "Hkv", 1);
  int D = a.dim(10, "D", 1);
  a.heads(Hq, Hkv);
  float* out = a.out(0, "out", (double)T * Hq * D);
  float* lse = a.out_opt(1, "lse", (double)T * Hq);
  float* q = a.f32(2, "q", (double)T * Hq * D);
  float* k = a.f32(3, "k", (double)T * Hkv * D);
  float* v = a.f32(4, "v", (double)T * Hkv * D);
  int32_t* cu = a.cu_seqlens(5, "cuSeqlens", ns, T);
  a.call.work = [=] { cpu::attention_forward(out, lse, q, k, v, cu, ns, T, Hq, Hkv, D); };
}
// attentionBackward(dq | null, dk | null, dv | null, dout, q, k, v, out, lse, cuSeqlens, numSeqs,
//                   T, Hq, Hkv, D)   (shapes as in attentionForward)
void attention_bwd(Args& a) {
  int ns = a.dim(10, "numSeqs", 1), T = a.dim(11, "T"), Hq = a.dim(12, "Hq", 1), Hkv = a.dim(13, "Hkv", 1);
  int D = a.dim(14, "D", 1);
  a.heads(Hq, Hkv);
  double nq = (double)T * Hq * D, nkv = (double)T * Hkv * D;
  float* dq = a.out_opt(0, "dq", nq);
  float* dk = a.out_opt(1, "dk", nkv);
  float* dv = a.out_opt(2, "dv", nkv);
  float* dout = a.f32(3, "dout", nq);
  float* q = a.f32(4, "q", nq);
  float* k = a.f32(5, "k", nkv);
  float* v = a.f32(6, "v", nkv);
  float* out = a.f32(7, "out", nq);
  float* lse = a.f32(8, "lse", (double)T * Hq);
  int32_t* cu = a.cu_seqlens(9, "cuSeqlens", ns, T);
  a.call.work = [=] { cpu::attention_backward(dq, dk, dv, dout, q, k, v, out, lse, cu, ns, T, Hq, Hkv, D); };
}
// attentionDecode(out[B*Hq*D], q[B*Hq*D], kCache[B*maxLen*Hkv*D], vCache[...], lens[B], B, maxLen,
//                 Hq, Hkv, D)   lens[b] in [1, maxLen]
void attention_dec(Args& a) {
  int B = a.dim(5, "B"), L = a.dim(6, "maxLen", 1), Hq = a.dim(7, "Hq", 1), Hkv = a.dim(8, "Hkv", 1);
  int D = a.dim(9, "D", 1);
  a.heads(Hq, Hkv);
  float* out = a.out(0, "out", (double)B * Hq * D);
  float* q = a.f32(1, "q", (double)B * Hq * D);
  float* kc = a.f32(2, "kCache", (double)B * L * Hkv * D);
  float* vc = a.f32(3, "vCache", (double)B * L * Hkv * D);
  int32_t* lens = a.ids(4, "lens", B, 1, (int64_t)L + 1);
  a.call.work = [=] { cpu::attention_decode(out, q, kc, vc, lens, B, L, Hq, Hkv, D); };
}

// ---- swiglu ---------------------------------------------------------------------------------
// swigluForward(out[N], gate[N], up[N], N)
void swiglu_fwd(Args& a) {
  int64_t N = integer(a.env, a.value(3), "N", 0, (int64_t)1 << 53);
  float* out = a.out(0, "out", (double)N);
  float* gate = a.f32(1, "gate", (double)N);
  float* up = a.f32(2, "up", (double)N);
  a.call.work = [=] { cpu::swiglu_forward(out, gate, up, N); };
}
// swigluBackward(dgate[N] | null, dup[N] | null, dout[N], gate[N], up[N], N)
void swiglu_bwd(Args& a) {
  int64_t N = integer(a.env, a.value(5), "N", 0, (int64_t)1 << 53);
  float* dgate = a.out_opt(0, "dgate", (double)N);
  float* dup = a.out_opt(1, "dup", (double)N);
  float* dout = a.f32(2, "dout", (double)N);
  float* gate = a.f32(3, "gate", (double)N);
  float* up = a.f32(4, "up", (double)N);
  a.call.work = [=] { cpu::swiglu_backward(dgate, dup, dout, gate, up, N); };
}

// ---- matmul ---------------------------------------------------------------------------------
// matmulForward(out[M*N], x[M*K], w[N*K], bias[N] | null, M, K, N)
void matmul_fwd(Args& a) {
  int M = a.dim(4, "M"), K = a.dim(5, "K"), N = a.dim(6, "N");
  float* out = a.out(0, "out", (double)M * N);
  float* x = a.f32(1, "x", (double)M * K);
  float* w = a.f32(2, "w", (double)N * K);
  float* bias = a.f32_opt(3, "bias", N);
  a.call.work = [=] { cpu::matmul_forward(out, x, w, bias, M, K, N); };
}
// matmulBackward(dx[M*K] | null, dw[N*K] | null, dbias[N] | null, dout[M*N], x[M*K], w[N*K], M, K, N)
void matmul_bwd(Args& a) {
  int M = a.dim(6, "M"), K = a.dim(7, "K"), N = a.dim(8, "N");
  float* dx = a.out_opt(0, "dx", (double)M * K);
  float* dw = a.out_opt(1, "dw", (double)N * K);
  float* dbias = a.out_opt(2, "dbias", N);
  float* dout = a.f32(3, "dout", (double)M * N);
  float* x = a.f32(4, "x", (double)M * K);
  float* w = a.f32(5, "w", (double)N * K);
  a.call.work = [=] { cpu::matmul_backward(dx, dw, dbias, dout, x, w, M, K, N); };
}

// ---- sgemm ----------------------------------------------------------------------------------
// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C.
// A holds (transA ? K : M) rows of lda floats (lda >= its row width), B (transB ? N : K) rows of
// ldb, C M rows of ldc.
enum class Gemm { Auto, Ours, Blas };
template <Gemm G>
void sgemm(Args& a) {
  bool ta = a.flag(0, "transA"), tb = a.flag(1, "transB");
  int M = a.dim(2, "M"), N = a.dim(3, "N"), K = a.dim(4, "K");
  float alpha = a.num(5, "alpha"), beta = a.num(10, "beta");
  int lda = a.dim(7, "lda", 1), ldb = a.dim(9, "ldb", 1), ldc = a.dim(12, "ldc", 1);
  auto need_ld = [&](int ld, int width, const char* name) {
    if (ld < width) range_error(a.env, str(name, " (", ld, ") must be >= ", width));
  };
  need_ld(lda, ta ? M : K, "lda");
  need_ld(ldb, tb ? K : N, "ldb");
  need_ld(ldc, N, "ldc");
  float* A = a.f32(6, "A", (double)(ta ? K : M) * lda);
  float* B = a.f32(8, "B", (double)(tb ? N : K) * ldb);
  float* C = a.out(11, "C", (double)M * ldc);
  auto f = G == Gemm::Ours ? cpu::sgemm_ours : G == Gemm::Blas ? cpu::sgemm_blas : cpu::sgemm;
  a.call.work = [=] { f(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); };
}
// setSgemmBackend(0 auto | 1 ours | 2 BLAS)
void set_backend(Args& a) {
  int b = (int)integer(a.env, a.value(0), "backend", 0, 2);
  a.call.work = [=] { cpu::set_sgemm_backend(b); };
}
void have_blas(Args& a) {
  a.call.work = [] {};
  a.call.done = [](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, cpu::have_blas()); };
}
// cpuIsa() -> {isa, available}: the instruction-set level the CPU ops run (native/cpu/dispatch.cc)
// and the levels this build and CPU offer. Throws if $WARMSTART_ISA asks for one they lack.
void cpu_isa(Args& a) {
  auto isa = std::make_shared<std::string>();
  a.call.work = [isa] { *isa = cpu::cpu_isa(); };
  a.call.done = [isa](Napi::Env env) -> Napi::Value {
    auto r = Napi::Object::New(env);
    r.Set("isa", Napi::String::New(env, *isa));
    r.Set("available", Napi::String::New(env, cpu::cpu_isas_available()));
    return r;
  };
}

// ---- fused head -----------------------------------------------------------------------------
// fusedHead(logp[T] | null, dh[T*C] | null, dW[V*C] | null, h[T*C], W[V*C], targets[T], T, C, V,
//           objective | undefined, chunk, scratch[chunk*V] | null) -> {loss, clipped}
// objective: {weights?, advantages?, oldLogp?, refLogp?: Float32Array[T] | null, beta?, clipLow?,
//             clipHigh?, normaliser?, temperature?: number}; targets < 0 are ignored, < V.
void fused_head(Args& a) {
  int T = a.dim(6, "T"), C = a.dim(7, "C", 1), V = a.dim(8, "V", 1), chunk = a.dim(10, "chunk", 1);
  // The objective's fields first: a getter runs JavaScript, which must not run once an array's
  // memory has been taken (it could detach it).
  cpu::HeadObjective obj;
  Napi::Value fields[4];
  const char* keys[4] = {"weights", "advantages", "oldLogp", "refLogp"};
  const char* names[4] = {"objective.weights", "objective.advantages", "objective.oldLogp", "objective.refLogp"};
  if (a.present(9)) {
    Napi::Object o = object(a.env, a.value(9), "objective");
    for (int f = 0; f < 4; ++f) fields[f] = o.Get(keys[f]);
    auto num = [&](const char* key, const char* name, float dflt, double lo, double hi) {
      Napi::Value v = o.Get(key);
      return absent(v) ? dflt : (float)number_in(a.env, v, name, lo, hi);
    };
    obj.beta = num("beta", "objective.beta", 0.0f, -1e30, 1e30);
    obj.clip_low = num("clipLow", "objective.clipLow", 0.2f, 0, 1e30);
    obj.clip_high = num("clipHigh", "objective.clipHigh", 0.2f, 0, 1e30);
    obj.normaliser = num("normaliser", "objective.normaliser", 1.0f, 1e-30, 1e30);
    obj.temperature = num("temperature", "objective.temperature", 1.0f, 1e-30, 1e30);
  }
  float* logp = a.out_opt(0, "logp", T);
  float* dh = a.out_opt(1, "dh", (double)T * C);
  float* dW = a.out_opt(2, "dW", (double)V * C);
  float* h = a.f32(3, "h", (double)T * C);
  float* W = a.f32(4, "W", (double)V * C);
  int32_t* targets = a.ids(5, "targets", T, INT32_MIN, V);
  float* scratch = a.f32_opt(11, "scratch", (double)chunk * V);
  const float* arrays[4] = {nullptr, nullptr, nullptr, nullptr};
  for (int f = 0; f < 4; ++f)
    if (!fields[f].IsEmpty() && !absent(fields[f])) arrays[f] = a.f32_value(fields[f], names[f], T, false);
  obj.weights = arrays[0];
  obj.advantages = arrays[1];
  obj.old_logp = arrays[2];
  obj.ref_logp = arrays[3];
  auto result = std::make_shared<cpu::HeadResult>();
  a.call.work = [=] { *result = cpu::fused_head(logp, dh, dW, h, W, targets, T, C, V, obj, chunk, scratch); };
  a.call.done = [result](Napi::Env env) -> Napi::Value {
    Napi::Object r = Napi::Object::New(env);
    r.Set("loss", Napi::Number::New(env, result->loss));
    r.Set("clipped", Napi::Number::New(env, (double)result->clipped));
    return r;
  };
}

// ---- adamw, gradient norm ---------------------------------------------------------------------
// adamwStep(param[n], grad[n], m[n], v[n], n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
void adamw(Args& a) {
  int64_t n = integer(a.env, a.value(4), "n", 0, (int64_t)1 << 53);
  float lr = a.num_in(5, "lr", 0, 1e30), b1 = a.num_in(6, "beta1", 0, 0.99999994),
        b2 = a.num_in(7, "beta2", 0, 0.99999994), eps = a.num_in(8, "eps", 0, 1e30),
        wd = a.num_in(9, "weightDecay", 0, 1e30);
  int step = a.dim(10, "step", 1);
  float scale = a.num(11, "gradScale");
  float* p = a.out(0, "param", (double)n);
  float* g = a.f32(1, "grad", (double)n);
  float* m = a.out(2, "m", (double)n);
  float* v = a.out(3, "v", (double)n);
  a.call.work = [=] { cpu::adamw_step(p, g, m, v, n, lr, b1, b2, eps, wd, step, scale); };
}
// gradNormSq(g[n], n) -> sum of squares (double)
void grad_norm_sq(Args& a) {
  int64_t n = integer(a.env, a.value(1), "n", 0, (int64_t)1 << 53);
  float* g = a.f32(0, "g", (double)n);
  auto result = std::make_shared<double>(0.0);
  a.call.work = [=] { *result = cpu::grad_norm_sq(g, n); };
  a.call.done = [result](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *result); };
}
// clipScale(totalNorm >= 0, maxNorm > 0) -> min(1, maxNorm / (totalNorm + 1e-6))
void clip_scale(Args& a) {
  double total = number_in(a.env, a.value(0), "totalNorm", 0, 1e300);
  float max_norm = a.num_in(1, "maxNorm", 1e-30, 1e30);
  auto result = std::make_shared<float>(0.0f);
  a.call.work = [=] { *result = cpu::clip_scale(total, max_norm); };
  a.call.done = [result](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *result); };
}

// ---- sampling ---------------------------------------------------------------------------------
// sampleToken(logits[V], V, temperature, topK, topP in (0, 1], u in [0, 1), scratch[2V] | null)
//   -> {token, logprob}
void sample(Args& a) {
  int V = a.dim(1, "V", 1);
  float temp = a.num(2, "temperature");
  int top_k = (int)integer(a.env, a.value(3), "topK", INT32_MIN, INT32_MAX);
  float top_p = a.num_in(4, "topP", 1e-30, 1);
  double u = number_in(a.env, a.value(5), "u", 0, 1);
  if (u >= 1) range_error(a.env, "u must be < 1");
  const float uf = std::min((float)u, 0.99999994f);  // rounding to float must not reach 1
  float* logits = a.f32(0, "logits", V);
  float* scratch = a.f32_opt(6, "scratch", 2.0 * V);
  struct Out {
    int token = 0;
    float logprob = 0;
  };
  auto result = std::make_shared<Out>();
  a.call.work = [=] {
    result->token = cpu::sample_token(logits, V, temp, top_k, top_p, uf, &result->logprob, scratch);
  };
  a.call.done = [result](Napi::Env env) -> Napi::Value {
    Napi::Object r = Napi::Object::New(env);
    r.Set("token", Napi::Number::New(env, result->token));
    r.Set("logprob", Napi::Number::New(env, result->logprob));
    return r;
  };
}

template <Parser P>
void def(Napi::Env env, Napi::Object o, const char* name) {
  o.Set(name, Napi::Function::New(env, run_sync<P>, name));
}
template <Parser P>
void def_async(Napi::Env env, Napi::Object o, const char* name) {
  def<P>(env, o, name);
  std::string async = str(name, "Async");
  o.Set(async, Napi::Function::New(env, run_async<P>, async));
}

}  // namespace

void init_kernels(Napi::Env env, Napi::Object exports) {
  Napi::Object k = Napi::Object::New(env);
  def<embedding_fwd>(env, k, "embeddingForward");
  def<embedding_bwd>(env, k, "embeddingBackward");
  def<rmsnorm_fwd>(env, k, "rmsnormForward");
  def<rmsnorm_bwd>(env, k, "rmsnormBackward");
  def<rope<false>>(env, k, "ropeForward");
  def<rope<true>>(env, k, "ropeBackward");
  def_async<attention_fwd>(env, k, "attentionForward");
  def_async<attention_bwd>(env, k, "attentionBackward");
  def_async<attention_dec>(env, k, "attentionDecode");
  def<swiglu_fwd>(env, k, "swigluForward");
  def<swiglu_bwd>(env, k, "swigluBackward");
  def_async<matmul_fwd>(env, k, "matmulForward");
  def_async<matmul_bwd>(env, k, "matmulBackward");
  def<sgemm<Gemm::Auto>>(env, k, "sgemm");
  def<sgemm<Gemm::Ours>>(env, k, "sgemmOurs");
  def<sgemm<Gemm::Blas>>(env, k, "sgemmBlas");
  def<set_backend>(env, k, "setSgemmBackend");
  def<have_blas>(env, k, "haveBlas");
  def<cpu_isa>(env, k, "cpuIsa");
  def_async<fused_head>(env, k, "fusedHead");
  def<adamw>(env, k, "adamwStep");
  def<grad_norm_sq>(env, k, "gradNormSq");
  def<clip_scale>(env, k, "clipScale");
  def<sample>(env, k, "sampleToken");
  exports.Set("kernels", k);
}

}  // namespace ws::napi
