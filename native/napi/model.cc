// Binding for the Qwen2 model (native/model/qwen2.h): a `Model` class whose long calls run on a
// worker thread and return Promises. Only checks and conversions here; the TypeScript layer
// (lib/engine/model.ts) owns the public API. Inputs are copied before the work starts, so the
// caller may reuse its arrays at once; the model itself is shared with running work, so a
// garbage-collected wrapper never frees a model that a worker still uses.
#include <napi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../core/host_memory.h"
#include "../io/safetensors.h"
#include "../model/qwen2.h"
#include "../model/qwen2_io.h"
#include "check.h"
#include "modules.h"
#include "task.h"

namespace ws::napi {
namespace {

// The longest a load waits for the main thread to answer one progress report.
constexpr std::chrono::milliseconds kProgressWait{2000};

using ws::model::Qwen2;
using ws::model::Qwen2Config;

std::vector<int32_t> copy_i32(const Napi::Int32Array& a) { return {a.Data(), a.Data() + a.ElementLength()}; }
std::vector<float> copy_f32(const Napi::Float32Array& a) { return {a.Data(), a.Data() + a.ElementLength()}; }

// An optional number field of an options object: absent -> def.
double opt_number(Napi::Env env, const Napi::Object& o, const char* key, const char* name, double lo, double hi,
                  double def) {
  Napi::Value v = o.Get(key);
  if (absent(v)) return def;
  return number_in(env, v, name, lo, hi);
}

// A packed batch from (tokens, positions, cuSeqlens), every value checked against the model.
struct BatchCopy {
  std::vector<int32_t> tokens, positions, cu;
  ws::model::PackedBatch view() {
    return {tokens.data(), positions.data(), cu.data(), (int)tokens.size(), (int)cu.size() - 1};
  }
};

BatchCopy batch_arg(const Napi::CallbackInfo& info, size_t i, int vocab) {
  Napi::Env env = info.Env();
  auto tokens = i32(env, arg(info, i), "tokens");
  int64_t T = tokens.ElementLength();
  if (T < 1 || T > (1 << 24)) range_error(env, str("tokens must have length in [1, 16777216], got ", T));
  auto positions = i32(env, arg(info, i + 1), "positions", T);
  auto cu = i32(env, arg(info, i + 2), "cuSeqlens");
  ids_in_range(env, tokens, "tokens", 0, vocab);
  ids_in_range(env, positions, "positions", 0, 1 << 24);
  check_cu_seqlens(env, cu, "cuSeqlens", T);
  for (size_t s = 1; s < cu.ElementLength(); ++s)
    if (cu[s] == cu[s - 1]) range_error(env, str("cuSeqlens: sequence ", s - 1, " is empty"));
  return {copy_i32(tokens), copy_i32(positions), copy_i32(cu)};
}

// {vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, rmsEps,
//  ropeTheta, tied}: lib/engine/addon-types.ts NativeConfig.
Qwen2Config config_arg(Napi::Env env, Napi::Value v) {
  auto o = object(env, v, "config");
  Qwen2Config c;
  c.vocab_size = (int)integer(env, o.Get("vocabSize"), "config.vocabSize", 1, 1 << 22);
  c.hidden_size = (int)integer(env, o.Get("hiddenSize"), "config.hiddenSize", 1, 1 << 16);
  c.intermediate_size = (int)integer(env, o.Get("intermediateSize"), "config.intermediateSize", 1, 1 << 18);
  c.num_layers = (int)integer(env, o.Get("numLayers"), "config.numLayers", 1, 1024);
  c.num_heads = (int)integer(env, o.Get("numHeads"), "config.numHeads", 1, 1024);
  c.num_kv_heads = (int)integer(env, o.Get("numKvHeads"), "config.numKvHeads", 1, 1024);
  c.head_dim = (int)integer(env, o.Get("headDim"), "config.headDim", 2, 4096);
  c.rms_eps = (float)number_in(env, o.Get("rmsEps"), "config.rmsEps", 1e-12, 1.0);
  c.rope_theta = (float)number_in(env, o.Get("ropeTheta"), "config.ropeTheta", 1.0, 1e12);
  c.tied = boolean(env, o.Get("tied"), "config.tied");
  if (c.num_heads % c.num_kv_heads != 0)
    range_error(env, str("config.numKvHeads (", c.num_kv_heads, ") must divide config.numHeads (", c.num_heads, ")"));
  if (c.head_dim % 2 != 0) range_error(env, str("config.headDim must be even, got ", c.head_dim));
  return c;
}

// 'cpu' or 'cuda' (whether this build runs it is the caller's check).
ws::model::Device device_arg(Napi::Env env, Napi::Value v, const char* name) {
  std::string d = string(env, v, name);
  if (d == "cuda") return ws::model::Device::CUDA;
  if (d != "cpu") range_error(env, str(name, " must be 'cpu' or 'cuda', got '", d, "'"));
  return ws::model::Device::CPU;
}

// Parameters of a model of this config (the engine's own layout, without alignment padding).
double num_params(const Qwen2Config& c) {
  double n = 0;
  for (auto& p : Qwen2::layout(c, nullptr)) n += (double)p.numel;
  return n;
}

// Runs f; an engine error about a file gets the name of the argument that gave the path.
template <typename F>
void naming(const char* arg_name, F&& f) {
  try {
    f();
  } catch (const ws::RangeError& e) {
    throw ws::RangeError(ws::str(arg_name, ": ", e.what()));
  } catch (const ws::Error& e) {
    throw ws::Error(ws::str(arg_name, ": ", e.what()));
  }
}

// A file or folder path: a non-empty string.
std::string path_arg(Napi::Env env, Napi::Value v, const char* name) {
  std::string p = string(env, v, name);
  if (p.empty()) range_error(env, str(name, " must not be empty"));
  if (p.find('\0') != std::string::npos) range_error(env, str(name, " must not contain a NUL character"));
  return p;
}

Napi::Float32Array to_js(Napi::Env env, const std::vector<float>& v) {
  auto a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}

// Carries generate()'s steps from the worker thread to a JavaScript callback (see generate), and
// the prompts it cancels back: one flag per prompt that the worker reads before each token.
// Steps wait in a buffer; one callback takes all that are there, so a consumer slower than the
// engine gets several steps per call. At most kAhead steps are buffered or being delivered (the
// engine waits for room): a prompt that a callback cancels gets at most kAhead more tokens.
// The worker never waits once the stream is closed: when the call is cancelled (its environment
// goes away, task.h) or the callback is finalized (the environment is torn down). It touches the
// ThreadSafeFunction only under the lock and never after its finalizer, which frees it.
struct StepStream : std::enable_shared_from_this<StepStream> {
  static constexpr size_t kAhead = 2;
  using Flags = std::vector<std::atomic<uint8_t>>;
  std::shared_ptr<Flags> cancel;
  std::string error;  // the callback's first throw (read and written on the main thread only)

  explicit StepStream(std::shared_ptr<Flags> flags) : cancel(std::move(flags)) {}

  static std::shared_ptr<StepStream> make(Napi::Env env, Napi::Function fn, std::shared_ptr<Flags> flags) {
    auto s = std::make_shared<StepStream>(std::move(flags));
    s->tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "warmstart.generate.onStep", 0, 1, [s](Napi::Env) {
      {
        std::lock_guard<std::mutex> lk(s->mu_);
        s->finalized_ = true;
      }
      for (auto& c : *s->cancel) c.store(1);  // nobody reads the tokens any more
      s->close();
    });
    return s;
  }

  // Worker thread: queue one step; schedule a callback unless one is already on its way.
  void send(const ws::model::StepTokens& st) {
    std::unique_lock<std::mutex> lk(mu_);
    room_.wait(lk, [&] { return unread_ < kAhead || closed_; });
    if (closed_) return;
    pending_.push_back(st);
    ++unread_;
    if (scheduled_) return;
    scheduled_ = true;
    auto self = shared_from_this();  // a queued call keeps the stream alive after generate() returns
    if (finalized_ ||
        tsfn_.NonBlockingCall([self](Napi::Env env, Napi::Function js) { self->flush(env, js); }) != napi_ok) {
      closed_ = true;  // the environment is going away: nobody will read the steps
      pending_.clear();
    }
  }

  // Worker thread, once: the callback's last use.
  void release() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!finalized_) tsfn_.Release();
  }

  // Any thread: no more steps; a worker waiting for room goes on at once.
  void close() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
      pending_.clear();
    }
    room_.notify_all();
  }

 private:
  // Main thread: hand every waiting step to JS; they make room once the callback has seen them.
  void flush(Napi::Env env, Napi::Function js) {
    std::vector<ws::model::StepTokens> steps;
    {
      std::lock_guard<std::mutex> lk(mu_);
      steps.swap(pending_);
      scheduled_ = false;
    }
    if (env != nullptr && !steps.empty()) deliver(env, js, steps);
    {
      std::lock_guard<std::mutex> lk(mu_);
      unread_ -= std::min(unread_, steps.size());
    }
    room_.notify_all();
  }

  void deliver(Napi::Env env, Napi::Function js, const std::vector<ws::model::StepTokens>& steps) {
    try {
      size_t n = 0;
      for (auto& st : steps) n += st.seq.size();
      auto seq = Napi::Int32Array::New(env, n);
      auto tok = Napi::Int32Array::New(env, n);
      auto lp = Napi::Float32Array::New(env, n);
      size_t o = 0;
      for (auto& st : steps) {
        for (size_t i = 0; i < st.seq.size(); ++i, ++o) {
          seq[o] = st.seq[i];
          tok[o] = st.token[i];
          lp[o] = st.logprob[i];
        }
      }
      Napi::Value r = js.Call({seq, tok, lp});
      if (!r.IsArray()) return;
      auto a = r.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value v = a.Get(i);
        if (!v.IsNumber()) continue;
        double d = v.As<Napi::Number>().DoubleValue();
        if (d >= 0 && d < (double)cancel->size() && d == std::floor(d)) (*cancel)[(size_t)d].store(1);
      }
    } catch (const Napi::Error& e) {
      if (error.empty()) error = str("options.onStep threw: ", e.Message());
      for (auto& c : *cancel) c.store(1);
    } catch (...) {
      if (error.empty()) error = "options.onStep failed";
      for (auto& c : *cancel) c.store(1);
    }
  }

  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  std::condition_variable room_;
  std::vector<ws::model::StepTokens> pending_;
  size_t unread_ = 0;  // steps queued or being delivered
  bool scheduled_ = false, closed_ = false, finalized_ = false;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "Model",
        {InstanceMethod("load", &ModelWrap::load), InstanceMethod("initRandom", &ModelWrap::init_random),
         InstanceMethod("logprobs", &ModelWrap::logprobs), InstanceMethod("accumulate", &ModelWrap::accumulate),
         InstanceMethod("optimizerStep", &ModelWrap::optimizer_step), InstanceMethod("zeroGrad", &ModelWrap::zero_grad),
         InstanceMethod("pendingMicroBatches", &ModelWrap::pending),
         InstanceMethod("stepCount", &ModelWrap::step_count), InstanceMethod("numParams", &ModelWrap::num_params),
         InstanceMethod("generate", &ModelWrap::generate), InstanceMethod("saveTensors", &ModelWrap::save_tensors),
         InstanceMethod("saveOptimizer", &ModelWrap::save_optimizer),
         InstanceMethod("loadOptimizer", &ModelWrap::load_optimizer),
         InstanceMethod("tensorNames", &ModelWrap::tensor_names), InstanceMethod("arenaBytes", &ModelWrap::arena_bytes),
         InstanceMethod("gradients", &ModelWrap::gradients), InstanceMethod("dispose", &ModelWrap::dispose)});
  }

  // new Model(config, device?: 'cpu' | 'cuda')   ('cuda' only in the CUDA addon)
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    guard(env, [&] {
      Qwen2Config c = config_arg(env, arg(info, 0));
      ws::model::Device device = ws::model::Device::CPU;
      if (!absent(arg(info, 1))) {
        device = device_arg(env, arg(info, 1), "device");
        if (!ws::model::device_available(device))
          range_error(env, "device 'cuda' needs the CUDA addon (npm run build:cuda); this is the CPU build");
      }
      // Refuse a model that loading cannot fit in the memory this process may use (physical RAM
      // or the cgroup's limit, whichever is smaller) rather than be killed half-way.
      const double n = ws::napi::num_params(c);
      const double need = (double)ws::model::load_host_bytes(n, device);
      const double phys = (double)ws::physical_memory(), lim = (double)ws::host_memory_limit();
      if (need > lim)
        range_error(env, str("config: loading the model's ", n, " parameters needs ", need / (1 << 30),
                             " GiB of host memory, more than the ", lim / (1 << 30), " GiB this process may use (",
                             lim < phys ? "its cgroup's memory limit" : "the machine's memory", ")"));
      model_ = std::make_shared<Qwen2>(c, device);
    });
  }

 private:
  std::shared_ptr<Qwen2> model_;  // null once disposed

  // The model, or an Error for a call after dispose().
  const std::shared_ptr<Qwen2>& live(Napi::Env env) const {
    if (!model_) throw Napi::Error::New(env, "the model was disposed (Model.dispose()); load it again to use it");
    return model_;
  }
  int vocab(Napi::Env env) const { return live(env)->config().vocab_size; }

  // dispose(): drops this wrapper's model. Its memory (host and device) is freed now, or when the
  // last call still running on it ends; every later call throws. Calling it again does nothing.
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

  // on_cancel: how to stop the work early when its environment goes away (task.h).
  Napi::Value run(Napi::Env env, Task::Work work, Task::Done done, std::function<void()> on_cancel = nullptr) {
    auto t = std::make_unique<Task>(env, std::move(work), std::move(done));
    if (on_cancel) t->on_cancel(std::move(on_cancel));
    auto p = t->promise();
    t->Queue();
    t.release();  // deleted when complete
    return p;
  }

  // load(dir, onProgress?) -> Promise<number> (bytes of tensor data read). A fresh model is
  // written in place; one that holds weights keeps them unless every tensor was read (qwen2_io.h).
  // onProgress(done, total) runs on the main thread after each chunk of about 64 MiB, and the next
  // chunk waits for its answer (at most kProgressWait; a slower main thread gets the latest counts
  // only); when it returns true (or throws), the load stops before its next chunk and the Promise
  // rejects with "loading aborted".
  Napi::Value load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string dir = path_arg(env, arg(info, 0), "dir");
    Napi::Value on_progress = arg(info, 1);
    if (!absent(on_progress) && !on_progress.IsFunction()) type_error(env, "onProgress must be a function");
    // The callback's ThreadSafeFunction is touched only under `mu` and never after its finalizer
    // (which frees it when the environment is torn down). `stop` ends the load before its next
    // chunk: set by the callback, or by the environment going away (task.h).
    struct Progress {
      Napi::ThreadSafeFunction tsfn;
      bool has_tsfn = false, finalized = false, scheduled = false;  // guarded by mu
      std::atomic<bool> stop{false};
      std::atomic<uint64_t> done{0}, total{0};
      std::mutex mu;  // with cv: the worker waits (at most kProgressWait) for the call to be answered
      std::condition_variable cv;
      void halt() {
        stop = true;
        std::lock_guard<std::mutex> lk(mu);
        cv.notify_all();
      }
    };
    auto pr = std::make_shared<Progress>();
    if (!absent(on_progress)) {
      pr->tsfn = Napi::ThreadSafeFunction::New(env, on_progress.As<Napi::Function>(), "warmstart.load.onProgress", 0, 1,
                                               [pr](Napi::Env) {
                                                 {
                                                   std::lock_guard<std::mutex> lk(pr->mu);
                                                   pr->finalized = true;
                                                 }
                                                 pr->cv.notify_all();
                                               });
      pr->has_tsfn = true;
    }
    auto m = live(info.Env());
    auto total = std::make_shared<uint64_t>(0);
    return run(
        env,
        [m, dir, pr, total] {
          struct Release {  // the callback's last use, whatever happens
            Progress* p;
            ~Release() {
              std::lock_guard<std::mutex> lk(p->mu);
              if (p->has_tsfn && !p->finalized) p->tsfn.Release();
            }
          } release{pr.get()};
          ws::model::LoadControl ctl;
          ctl.progress = [pr, total](uint64_t done, uint64_t all) {
            *total = all;
            pr->done = done;
            pr->total = all;
            std::unique_lock<std::mutex> lk(pr->mu);
            if (!pr->has_tsfn || pr->finalized || pr->scheduled) return;  // a call on its way reads the latest counts
            pr->scheduled = true;
            napi_status st = pr->tsfn.NonBlockingCall([pr](Napi::Env, Napi::Function js) {
              try {
                Napi::Value r = js.Call({Napi::Number::New(js.Env(), (double)pr->done.load()),
                                         Napi::Number::New(js.Env(), (double)pr->total.load())});
                if (r.IsBoolean() && r.As<Napi::Boolean>().Value()) pr->stop = true;
              } catch (...) {
                pr->stop = true;
              }
              {
                std::lock_guard<std::mutex> lk(pr->mu);
                pr->scheduled = false;
              }
              pr->cv.notify_all();
            });
            if (st != napi_ok) {
              pr->scheduled = false;
              return;
            }
            // Each chunk's report is answered before the next chunk starts, so a stop asked for in
            // onProgress takes effect at once; a main thread that does not answer within
            // kProgressWait (busy, or shutting down) never holds the load longer than that.
            pr->cv.wait_for(lk, kProgressWait, [&] { return !pr->scheduled || pr->finalized || pr->stop; });
          };
          ctl.cancel = &pr->stop;
          naming("dir", [&] { ws::model::load_weights(*m, dir, ctl); });
        },
        [total](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, (double)*total); }, [pr] { pr->halt(); });
  }

  // initRandom(seed, std)
  Napi::Value init_random(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t seed = (uint64_t)integer(env, arg(info, 0), "seed", 0, (int64_t(1) << 53));
    float sd = (float)number_in(env, arg(info, 1), "std", 0.0, 10.0);
    auto m = live(info.Env());
    return run(
        env, [m, seed, sd] { m->init_random(seed, sd); }, nullptr);
  }

  // logprobs(tokens, positions, cuSeqlens, temperature) -> Promise<Float32Array[T]> aligned to targets
  Napi::Value logprobs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto b = std::make_shared<BatchCopy>(batch_arg(info, 0, vocab(env)));
    float temp = (float)number_in(env, arg(info, 3), "temperature", 1e-6, 1e6);
    auto out = std::make_shared<std::vector<float>>(b->tokens.size());
    auto m = live(info.Env());
    return run(
        env, [m, b, temp, out] { m->logprobs(b->view(), temp, out->data()); },
        [out](Napi::Env e) -> Napi::Value { return to_js(e, *out); });
  }

  // accumulate(tokens, positions, cuSeqlens, objective, recompute?) -> Promise<{loss, clipped, logprobs}>
  // objective: {weights?, advantages?, oldLogprobs?, refLogprobs?: Float32Array[T], beta, clipLow,
  //             clipHigh, normaliser, temperature}; recompute: activation checkpointing (default false)
  Napi::Value accumulate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto b = std::make_shared<BatchCopy>(batch_arg(info, 0, vocab(env)));
    int64_t T = (int64_t)b->tokens.size();
    auto o = object(env, arg(info, 3), "objective");
    struct Obj {
      std::vector<float> w, adv, old, ref;
      ws::cpu::HeadObjective h;
    };
    auto ob = std::make_shared<Obj>();
    auto opt_arr = [&](const char* key, const char* name, std::vector<float>& dst) {
      Napi::Value v = o.Get(key);
      if (absent(v)) return;
      auto a = f32(env, v, name, T);
      for (size_t i = 0; i < a.ElementLength(); ++i)
        if (!std::isfinite(a[i])) range_error(env, str(name, "[", i, "] is not finite"));
      dst = copy_f32(a);
    };
    opt_arr("weights", "objective.weights", ob->w);
    opt_arr("advantages", "objective.advantages", ob->adv);
    opt_arr("oldLogprobs", "objective.oldLogprobs", ob->old);
    opt_arr("refLogprobs", "objective.refLogprobs", ob->ref);
    for (size_t i = 0; i < ob->w.size(); ++i)
      if (ob->w[i] < 0) range_error(env, str("objective.weights[", i, "] must be >= 0, got ", ob->w[i]));
    ob->h.beta = (float)opt_number(env, o, "beta", "objective.beta", 0.0, 1e6, 0.0);
    ob->h.clip_low = (float)opt_number(env, o, "clipLow", "objective.clipLow", 0.0, 1.0, 0.2);
    ob->h.clip_high = (float)opt_number(env, o, "clipHigh", "objective.clipHigh", 0.0, 1e6, 0.2);
    ob->h.normaliser = (float)opt_number(env, o, "normaliser", "objective.normaliser", 1e-30, 1e30, 1.0);
    ob->h.temperature = (float)opt_number(env, o, "temperature", "objective.temperature", 1e-6, 1e6, 1.0);
    if (ob->h.beta > 0 && ob->ref.empty())
      range_error(env, "objective.refLogprobs is required when objective.beta > 0");
    ob->h.weights = ob->w.empty() ? nullptr : ob->w.data();
    ob->h.advantages = ob->adv.empty() ? nullptr : ob->adv.data();
    ob->h.old_logp = ob->old.empty() ? nullptr : ob->old.data();
    ob->h.ref_logp = ob->ref.empty() ? nullptr : ob->ref.data();
    const bool recompute = absent(arg(info, 4)) ? false : boolean(env, arg(info, 4), "recompute");
    auto out = std::make_shared<std::vector<float>>(T);
    auto res = std::make_shared<ws::model::StepResult>();
    auto m = live(info.Env());
    return run(
        env, [m, b, ob, out, res, recompute] { *res = m->accumulate(b->view(), ob->h, out->data(), recompute); },
        [out, res](Napi::Env e) -> Napi::Value {
          auto r = Napi::Object::New(e);
          r.Set("loss", res->loss);
          r.Set("clipped", (double)res->clipped);
          r.Set("logprobs", to_js(e, *out));
          return r;
        });
  }

  // optimizerStep({lr, beta1, beta2, eps, weightDecay, maxGradNorm}) -> Promise<gradNorm>
  Napi::Value optimizer_step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = object(env, arg(info, 0), "options");
    ws::model::AdamWConfig c;
    c.lr = (float)number_in(env, o.Get("lr"), "options.lr", 0.0, 10.0);
    c.beta1 = (float)number_in(env, o.Get("beta1"), "options.beta1", 0.0, 0.999999);
    c.beta2 = (float)number_in(env, o.Get("beta2"), "options.beta2", 0.0, 0.999999999);
    c.eps = (float)number_in(env, o.Get("eps"), "options.eps", 0.0, 1.0);
    c.weight_decay = (float)number_in(env, o.Get("weightDecay"), "options.weightDecay", 0.0, 10.0);
    c.max_grad_norm = (float)number_in(env, o.Get("maxGradNorm"), "options.maxGradNorm", 0.0, 1e30);
    auto m = live(info.Env());
    auto norm = std::make_shared<double>(0.0);
    return run(
        env, [m, c, norm] { *norm = m->optimizer_step(c); },
        [norm](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, *norm); });
  }

  // zeroGrad() -> Promise<void>: after the call running now, if any.
  Napi::Value zero_grad(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    return run(
        info.Env(), [m] { m->zero_grad(); }, nullptr);
  }
  // arenaBytes() -> Promise<number>: bytes of the activation arena the model holds now.
  Napi::Value arena_bytes(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    auto bytes = std::make_shared<double>(0.0);
    return run(
        info.Env(), [m, bytes] { *bytes = (double)m->arena_bytes(); },
        [bytes](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, *bytes); });
  }
  // gradients() -> Promise<Float32Array>: the accumulated gradients in the flat parameter layout
  // (zero before any step; copied from the device on CUDA).
  Napi::Value gradients(const Napi::CallbackInfo& info) {
    auto m = live(info.Env());
    auto out = std::make_shared<std::vector<float>>();
    return run(
        info.Env(), [m, out] { *out = m->gradients(); }, [out](Napi::Env e) -> Napi::Value { return to_js(e, *out); });
  }
  // The two counters are atomics in the engine: read at once, never waiting for a running call.
  Napi::Value pending(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), (double)live(info.Env())->pending_micro_batches());
  }
  Napi::Value step_count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), (double)live(info.Env())->step_count());
  }
  Napi::Value num_params(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), ws::napi::num_params(live(info.Env())->config()));
  }
  Napi::Value tensor_names(const Napi::CallbackInfo& info) {
    const auto& params = live(info.Env())->params();
    auto a = Napi::Array::New(info.Env(), params.size());
    for (size_t i = 0; i < params.size(); ++i) a.Set((uint32_t)i, params[i].name);
    return a;
  }

  // generate(tokens, positions, cuSeqlens, {maxNewTokens, maxNewTokensPerPrompt?: Int32Array
  //          (one limit per prompt, each <= maxNewTokens), temperature, topK, topP, seed, firstStream?,
  //          stopTokens?: Int32Array (any length, absent = none), onStep?: function,
  //          vocabLimit?: number in [1, vocabSize] (only ids below it are sampled)})
  //   -> Promise<{tokens: Int32Array[], logprobs: Float32Array[], finish: ('stop'|'length'|'abort')[]}>
  // The prompts are a packed batch, checked as logprobs' is (positions count from 0 in each).
  // onStep(seq Int32Array, token Int32Array, logprob Float32Array) runs on the main thread after
  // decoding steps with the tokens they added, in order (one call may carry several steps; calls
  // may still arrive after the Promise settles); when it returns an array of prompt indices,
  // those prompts get at most two more tokens and finish as 'abort'. If it throws, every prompt
  // is aborted and the Promise rejects.
  Napi::Value generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto b = std::make_shared<BatchCopy>(batch_arg(info, 0, vocab(env)));
    auto o = object(env, arg(info, 3), "options");
    auto opt = std::make_shared<ws::model::GenerateOptions>();
    opt->max_new_tokens = (int)integer(env, o.Get("maxNewTokens"), "options.maxNewTokens", 1, 1 << 20);
    opt->temperature = (float)number_in(env, o.Get("temperature"), "options.temperature", 0.0, 1e6);
    opt->top_k = (int)integer(env, o.Get("topK"), "options.topK", 0, vocab(env));
    opt->top_p = (float)number_in(env, o.Get("topP"), "options.topP", 1e-9, 1.0);
    if (!absent(o.Get("vocabLimit")))
      opt->vocab_limit = (int)integer(env, o.Get("vocabLimit"), "options.vocabLimit", 1, vocab(env));
    opt->seed = (uint64_t)integer(env, o.Get("seed"), "options.seed", 0, int64_t(1) << 53);
    if (!absent(o.Get("firstStream")))
      opt->first_stream = (uint64_t)integer(env, o.Get("firstStream"), "options.firstStream", 0, int64_t(1) << 53);
    if (!absent(o.Get("stopTokens"))) {
      auto stops = i32(env, o.Get("stopTokens"), "options.stopTokens");
      ids_in_range(env, stops, "options.stopTokens", 0, vocab(env));
      opt->stop_tokens = copy_i32(stops);
    }
    const int64_t B = (int64_t)b->cu.size() - 1;
    if (!absent(o.Get("maxNewTokensPerPrompt"))) {
      auto lim = i32(env, o.Get("maxNewTokensPerPrompt"), "options.maxNewTokensPerPrompt", B);
      ids_in_range(env, lim, "options.maxNewTokensPerPrompt", 1, (int64_t)opt->max_new_tokens + 1);
      opt->max_new_per_seq = copy_i32(lim);
    }
    Napi::Value on_step = o.Get("onStep");
    if (!absent(on_step) && !on_step.IsFunction()) type_error(env, "options.onStep must be a function");
    int64_t longest = 0;
    for (size_t s = 0; s + 1 < b->cu.size(); ++s) longest = std::max<int64_t>(longest, b->cu[s + 1] - b->cu[s]);
    if (longest + opt->max_new_tokens > (1 << 24))
      range_error(env, "options.maxNewTokens: prompt + new tokens exceed 16777216");
    // One cancel flag per prompt: set by onStep's answer, or for every prompt when the
    // environment goes away (task.h), so that the call ends after its current token.
    auto flags = std::make_shared<StepStream::Flags>((size_t)B);
    opt->cancel = flags->data();
    auto stream = absent(on_step) ? nullptr : StepStream::make(env, on_step.As<Napi::Function>(), flags);
    if (stream) opt->on_step = [stream](const ws::model::StepTokens& st) { stream->send(st); };
    auto g = std::make_shared<ws::model::Generation>();
    auto m = live(info.Env());
    auto on_cancel = [flags, stream] {
      for (auto& c : *flags) c.store(1);
      if (stream) stream->close();
    };
    return run(
        env,
        [m, b, opt, g, stream, flags] {
          struct Release {  // the callback's last use, whatever happens
            StepStream* s;
            ~Release() {
              if (s) s->release();
            }
          } release{stream.get()};
          *g = m->generate(b->view(), *opt);
        },
        [g, stream](Napi::Env e) -> Napi::Value {
          if (stream && !stream->error.empty()) throw Napi::Error::New(e, stream->error);
          auto r = Napi::Object::New(e);
          auto ts = Napi::Array::New(e, g->tokens.size()), ls = Napi::Array::New(e, g->tokens.size()),
               fs = Napi::Array::New(e, g->tokens.size());
          for (size_t s = 0; s < g->tokens.size(); ++s) {
            auto t = Napi::Int32Array::New(e, g->tokens[s].size());
            if (!g->tokens[s].empty())
              std::memcpy(t.Data(), g->tokens[s].data(), g->tokens[s].size() * sizeof(int32_t));
            ts.Set((uint32_t)s, t);
            ls.Set((uint32_t)s, to_js(e, g->logprobs[s]));
            const ws::model::Finish f = g->finish[s];
            fs.Set((uint32_t)s, f == ws::model::Finish::Stop        ? "stop"
                                : f == ws::model::Finish::Cancelled ? "abort"
                                                                    : "length");
          }
          r.Set("tokens", ts);
          r.Set("logprobs", ls);
          r.Set("finish", fs);
          return r;
        },
        on_cancel);
  }

  static ws::io::DType dtype_arg(Napi::Env env, Napi::Value v, const char* name) {
    std::string s = string(env, v, name);
    if (s == "f32") return ws::io::DType::F32;
    if (s == "bf16") return ws::io::DType::BF16;
    if (s == "f16") return ws::io::DType::F16;
    range_error(env, str(name, " must be \"f32\", \"bf16\" or \"f16\", got \"", s, "\""));
  }

  // saveTensors(dir, dtype, maxShardBytes) -> Promise<string[]> (files written into the existing dir)
  Napi::Value save_tensors(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string dir = path_arg(env, arg(info, 0), "dir");
    ws::io::SaveOptions so;
    so.dtype = dtype_arg(env, arg(info, 1), "dtype");
    so.max_shard_bytes = (uint64_t)integer(env, arg(info, 2), "maxShardBytes", 1, int64_t(1) << 53);
    auto files = std::make_shared<std::vector<std::string>>();
    auto m = live(info.Env());
    return run(
        env, [m, dir, so, files] { naming("dir", [&] { *files = ws::model::save_weights(*m, dir, so); }); },
        [files](Napi::Env e) -> Napi::Value {
          auto a = Napi::Array::New(e, files->size());
          for (size_t i = 0; i < files->size(); ++i) a.Set((uint32_t)i, (*files)[i]);
          return a;
        });
  }

  // saveOptimizer(path): one f32 safetensors file with NAME.exp_avg / NAME.exp_avg_sq for every
  // parameter and the step count in its metadata.
  Napi::Value save_optimizer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string path = path_arg(env, arg(info, 0), "path");
    auto m = live(info.Env());
    return run(
        env, [m, path] { naming("path", [&] { ws::model::save_optimizer(*m, path); }); }, nullptr);
  }

  // loadOptimizer(path): the reverse; nothing changes unless every tensor is present and fits.
  Napi::Value load_optimizer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string path = path_arg(env, arg(info, 0), "path");
    auto m = live(info.Env());
    return run(
        env, [m, path] { naming("path", [&] { ws::model::load_optimizer(*m, path); }); }, nullptr);
  }
};

// measureArena(config, device, tokens, train, recompute?) -> bytes of the activation arena of one
// pass over `tokens` tokens (train: with what backward keeps; recompute: only each layer's input
// and one layer's activations); measureGeneration(config, device, sequences,
// maxLen) -> bytes generate() allocates for that many sequences of maxLen cache rows. Measured by
// the engine's own carving (Qwen2::measure_arena / measure_generation), with no model.
Napi::Value measure_arena(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    Qwen2Config c = config_arg(env, arg(info, 0));
    ws::model::Device d = device_arg(env, arg(info, 1), "device");
    int T = (int)integer(env, arg(info, 2), "tokens", 1, 1 << 24);
    bool train = boolean(env, arg(info, 3), "train");
    bool recompute = absent(arg(info, 4)) ? false : boolean(env, arg(info, 4), "recompute");
    return Napi::Number::New(env, (double)Qwen2::measure_arena(c, d, T, train, recompute));
  });
}

Napi::Value measure_generation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    Qwen2Config c = config_arg(env, arg(info, 0));
    ws::model::Device d = device_arg(env, arg(info, 1), "device");
    int B = (int)integer(env, arg(info, 2), "sequences", 1, 1 << 20);
    int max_len = (int)integer(env, arg(info, 3), "maxLen", 1, 1 << 24);
    return Napi::Number::New(env, (double)Qwen2::measure_generation(c, d, B, max_len));
  });
}

}  // namespace

void init_model(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", ModelWrap::define(env));
  exports.Set("measureArena", Napi::Function::New(env, measure_arena));
  exports.Set("measureGeneration", Napi::Function::New(env, measure_generation));
}

}  // namespace ws::napi
