// Tasks and the environment's list of them (task.h). Three things end the work of an
// environment that goes away:
//  - a probe: while an environment has tasks in flight, a watcher thread asks its JS thread every
//    kProbeEvery (through an unreferenced ThreadSafeFunction) whether JavaScript can still run
//    there. When a Worker is terminated or ends, Node stops its JavaScript and then waits for its
//    async work before it runs any cleanup hook, so the probe is how a Worker's tasks learn to stop
//    (a generate with no onStep would otherwise hold the Worker, and its terminate(), for ever);
//  - the environment's cleanup hook (napi_add_env_cleanup_hook): cancel every task, then wait
//    until none runs, so no work outlives the memory it uses;
//  - a process 'exit' listener, because process.exit() on the main thread runs no cleanup hook:
//    Node joins the thread pool and ends, so a running task would hold the process. The listener
//    cancels every task; if one still runs kExitGrace later (an op with no cancel point, such as
//    one long forward pass), the process ends anyway with the exit code it was given.
#include "task.h"

#include <unistd.h>

#include <cstdio>
#include <new>
#include <thread>

#if defined(__linux__)
#include <sys/syscall.h>
#elif defined(__APPLE__)
#include <pthread.h>
#endif

#include "../core/error.h"

namespace ws::napi {

namespace {

constexpr std::chrono::milliseconds kExitGrace{1000};
constexpr std::chrono::milliseconds kProbeEvery{100};

bool on_main_thread() {
#if defined(__linux__)
  return (pid_t)syscall(SYS_gettid) == getpid();
#elif defined(__APPLE__)
  return pthread_main_np() != 0;
#else
  return false;  // no watchdog: process.exit() waits for the cancelled work
#endif
}

struct Instance {
  std::shared_ptr<Jobs> jobs = std::make_shared<Jobs>();
};

void cleanup(void* arg) {
  auto* jobs = static_cast<std::shared_ptr<Jobs>*>(arg);
  (*jobs)->cancel_all();
  (*jobs)->wait_idle();
  delete jobs;
}

// The watcher: one thread for the process, pinging every environment with tasks in flight.
// Never destroyed (the detached thread uses it until the process ends).
struct Watcher {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::weak_ptr<Jobs>> envs;
  bool started = false;
};
Watcher& watcher() {
  static auto* w = new Watcher();
  return *w;
}

void watch_loop() {
  Watcher& w = watcher();
  std::unique_lock<std::mutex> lk(w.mu);
  for (;;) {
    std::vector<std::shared_ptr<Jobs>> busy;
    for (size_t i = 0; i < w.envs.size();) {
      auto j = w.envs[i].lock();
      if (!j) {
        w.envs[i] = w.envs.back();
        w.envs.pop_back();
        continue;
      }
      if (j->busy()) busy.push_back(std::move(j));
      ++i;
    }
    if (busy.empty()) {
      w.cv.wait(lk);
      continue;
    }
    lk.unlock();
    for (auto& j : busy) j->ping();
    busy.clear();
    lk.lock();
    w.cv.wait_for(lk, kProbeEvery);
  }
}

void watch(const std::shared_ptr<Jobs>& jobs) {
  Watcher& w = watcher();
  std::lock_guard<std::mutex> lk(w.mu);
  w.envs.push_back(jobs);
  if (!w.started) {
    w.started = true;
    std::thread(watch_loop).detach();
  }
}

void wake_watcher() {
  Watcher& w = watcher();
  { std::lock_guard<std::mutex> lk(w.mu); }
  w.cv.notify_all();
}

napi_value probe_target(napi_env, napi_callback_info) { return nullptr; }

// JS thread: can JavaScript still run here? (No once a Worker is terminated or ending.)
void probe_call(napi_env env, napi_value js, void* context, void*) {
  if (env == nullptr || js == nullptr) return;
  napi_value undef = nullptr, r;
  napi_get_undefined(env, &undef);
  napi_status s = napi_call_function(env, undef, js, 0, nullptr, &r);
  if (s != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
  }
  static_cast<Jobs*>(context)->probe_answered(s != napi_ok);
}

void probe_finalize(napi_env, void* data, void*) {
  auto* jobs = static_cast<std::shared_ptr<Jobs>*>(data);
  (*jobs)->probe_finalized();
  delete jobs;
}

// process.on('exit', code => ...): see the top of this file.
Napi::Value on_exit(const Napi::CallbackInfo& info) {
  std::shared_ptr<Jobs> jobs = Jobs::of(info.Env());
  if (!jobs) return info.Env().Undefined();
  jobs->cancel_all();
  if (jobs->running() == 0 || !on_main_thread()) return info.Env().Undefined();
  int code = 0;
  if (info.Length() > 0 && info[0].IsNumber()) code = info[0].As<Napi::Number>().Int32Value();
  std::thread([jobs, code] {
    if (jobs->wait_idle(kExitGrace)) return;
    std::fprintf(stderr, "warmstart: native work still running %lld ms after exit; ending the process\n",
                 (long long)kExitGrace.count());
    std::fflush(stderr);
    _exit(code);
  }).detach();
  return info.Env().Undefined();
}

}  // namespace

// ---- Jobs -------------------------------------------------------------------------------------

std::shared_ptr<Jobs> Jobs::of(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) return nullptr;
  return static_cast<Instance*>(data)->jobs;
}

void Jobs::add(const std::shared_ptr<Job>& j) {
  bool cancel;
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back(j);
    cancel = closing_;
  }
  if (cancel) j->cancelled = true;
  wake_watcher();
}

void Jobs::remove(const Job* j) {
  std::lock_guard<std::mutex> lk(mu_);
  for (size_t i = 0; i < jobs_.size(); ++i)
    if (jobs_[i].get() == j) {
      jobs_[i] = jobs_.back();
      jobs_.pop_back();
      return;
    }
}

bool Jobs::begin(const std::shared_ptr<Job>& j) {
  std::lock_guard<std::mutex> lk(mu_);
  if (j->cancelled) return false;
  ++running_;
  return true;
}

void Jobs::end() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    --running_;
  }
  idle_.notify_all();
}

void Jobs::cancel_all() {
  std::vector<std::shared_ptr<Job>> told;
  {
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = true;
    for (auto& j : jobs_)
      if (!j->cancelled.exchange(true)) told.push_back(j);
  }
  for (auto& j : told) {
    try {
      if (j->on_cancel) j->on_cancel();
    } catch (...) {
      // a hook that fails leaves its work to finish on its own
    }
  }
}

bool Jobs::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lk(mu_);
  return idle_.wait_for(lk, limit, [&] { return running_ == 0; });
}

void Jobs::wait_idle() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_.wait(lk, [&] { return running_ == 0; });
}

int Jobs::running() {
  std::lock_guard<std::mutex> lk(mu_);
  return running_;
}

bool Jobs::busy() {
  std::lock_guard<std::mutex> lk(mu_);
  return !jobs_.empty() && probe_ != nullptr && !probe_gone_;
}

void Jobs::set_probe(napi_threadsafe_function tsfn) {
  std::lock_guard<std::mutex> lk(mu_);
  probe_ = tsfn;
}

void Jobs::ping() {
  std::lock_guard<std::mutex> lk(mu_);
  if (probe_ == nullptr || probe_gone_ || probe_asked_) return;
  // under the lock: probe_finalized() (which takes it too) cannot free the probe meanwhile
  if (napi_call_threadsafe_function(probe_, nullptr, napi_tsfn_nonblocking) == napi_ok) probe_asked_ = true;
}

void Jobs::probe_answered(bool stopping) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    probe_asked_ = false;
  }
  if (stopping) cancel_all();
}

void Jobs::probe_finalized() {
  std::lock_guard<std::mutex> lk(mu_);
  probe_gone_ = true;
}

void init_jobs(Napi::Env env, Napi::Object) {
  auto* inst = new Instance();
  env.SetInstanceData<Instance>(inst);
  auto* hook_ref = new std::shared_ptr<Jobs>(inst->jobs);
  if (napi_add_env_cleanup_hook(env, cleanup, hook_ref) != napi_ok) delete hook_ref;
  // The probe: an unreferenced ThreadSafeFunction (it never keeps the loop alive) that Node
  // finalizes when it tears the environment down.
  napi_value target, name;
  napi_threadsafe_function probe;
  auto* probe_ref = new std::shared_ptr<Jobs>(inst->jobs);
  if (napi_create_function(env, "warmstartProbe", NAPI_AUTO_LENGTH, probe_target, nullptr, &target) == napi_ok &&
      napi_create_string_utf8(env, "warmstart.probe", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_threadsafe_function(env, target, nullptr, name, 0, 1, probe_ref, probe_finalize, inst->jobs.get(),
                                      probe_call, &probe) == napi_ok) {
    napi_unref_threadsafe_function(env, probe);
    inst->jobs->set_probe(probe);
    watch(inst->jobs);
  } else {
    delete probe_ref;
  }
  Napi::Value process = env.Global().Get("process");
  if (!process.IsObject()) return;
  Napi::Value on = process.As<Napi::Object>().Get("on");
  if (!on.IsFunction()) return;
  on.As<Napi::Function>().Call(
      process, {Napi::String::New(env, "exit"), Napi::Function::New(env, on_exit, "warmstartCancelOnExit")});
}

// ---- Task -------------------------------------------------------------------------------------

Task::Task(Napi::Env env, Work work, Done done)
    : env_(env),
      jobs_(Jobs::of(env)),
      job_(std::make_shared<Jobs::Job>()),
      work_(std::move(work)),
      done_(std::move(done)) {
  if (!jobs_) throw Napi::Error::New(env, "warmstart: the addon was not initialised in this environment");
  if (napi_create_promise(env, &deferred_, &promise_) != napi_ok) throw Napi::Error::New(env);
  napi_value name;
  if (napi_create_string_utf8(env, "warmstart", NAPI_AUTO_LENGTH, &name) != napi_ok) throw Napi::Error::New(env);
  if (napi_create_async_work(env, nullptr, name, execute, complete, this, &work_handle_) != napi_ok)
    throw Napi::Error::New(env);
}

Task::~Task() {
  for (napi_ref r : refs_) napi_delete_reference(env_, r);
  if (work_handle_) napi_delete_async_work(env_, work_handle_);
}

Napi::Promise Task::promise() const { return Napi::Promise(env_, promise_); }

void Task::keep(Napi::Value v) {
  napi_ref r;
  if (napi_create_reference(env_, v, 1, &r) != napi_ok) throw Napi::Error::New(env_);
  refs_.push_back(r);
}

void Task::on_cancel(std::function<void()> f) { job_->on_cancel = std::move(f); }

void Task::Queue() {
  jobs_->add(job_);
  if (napi_queue_async_work(env_, work_handle_) != napi_ok) {
    jobs_->remove(job_.get());
    throw Napi::Error::New(env_);
  }
}

void Task::execute(napi_env, void* data) {
  auto* t = static_cast<Task*>(data);
  if (!t->jobs_->begin(t->job_)) {
    t->skipped_ = true;
    return;
  }
  try {
    t->work_();
  } catch (const ws::RangeError& e) {
    t->range_ = true;
    t->error_ = e.what();
  } catch (const std::bad_alloc&) {
    t->error_ = "out of memory";
  } catch (const std::exception& e) {
    t->error_ = e.what();
  } catch (...) {
    t->error_ = "unknown native error";
  }
  t->jobs_->end();
}

void Task::complete(napi_env env, napi_status status, void* data) {
  auto* t = static_cast<Task*>(data);
  t->jobs_->remove(t->job_.get());
  try {
    t->settle(env, status);
  } catch (...) {
    // the environment is going away: nobody can see the Promise any more
  }
  delete t;
}

void Task::reject(napi_env env, const std::string& msg, bool range) {
  napi_value m, err;
  if (napi_create_string_utf8(env, msg.c_str(), msg.size(), &m) != napi_ok) return;
  napi_status s = range ? napi_create_range_error(env, nullptr, m, &err) : napi_create_error(env, nullptr, m, &err);
  if (s == napi_ok) napi_reject_deferred(env, deferred_, err);
}

void Task::settle(napi_env env, napi_status status) {
  if (status == napi_cancelled || skipped_)
    return reject(env, "cancelled: the JavaScript environment is shutting down", false);
  if (!error_.empty()) return reject(env, error_, range_);
  napi_value v = nullptr;
  try {
    if (done_)
      v = done_(Napi::Env(env));
    else
      napi_get_undefined(env, &v);
  } catch (const Napi::Error& e) {
    napi_value ev = e.Value();
    if (ev == nullptr || napi_reject_deferred(env, deferred_, ev) != napi_ok) reject(env, e.Message(), false);
    return;
  } catch (const ws::RangeError& e) {
    return reject(env, e.what(), true);
  } catch (const std::exception& e) {
    return reject(env, e.what(), false);
  }
  if (v == nullptr || napi_resolve_deferred(env, deferred_, v) != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
  }
}

}  // namespace ws::napi
