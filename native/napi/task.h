// Async work of the binding. A Task runs `work` on the libuv thread pool and settles a Promise on
// the JavaScript thread with `done(env)`; an engine error thrown by `work` rejects it with its
// message (ws::RangeError -> RangeError).
//
// Every task belongs to the JavaScript environment that made it (the main thread or one
// worker_threads Worker), which lists the tasks in flight (Jobs). When that environment goes away
// (process.exit(), a Worker terminated, ending or throwing), its tasks are cancelled: one not yet
// started skips its work, one running is told through its cancel hook (generate stops sampling,
// load stops reading, nothing waits on JavaScript any more), and the environment waits for them,
// so no work outlives the memory it uses and process.exit() is not held up by a long call.
// Settling never throws out into Node: a Promise that can no longer be settled is dropped.
#pragma once
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ws::napi {

// The tasks in flight of one JavaScript environment.
class Jobs {
 public:
  struct Job {
    std::atomic<bool> cancelled{false};
    std::function<void()> on_cancel;  // set before the task is queued; runs once, on the JS thread
  };

  // The environment's list (made by init_jobs when the addon loads there).
  static std::shared_ptr<Jobs> of(napi_env env);

  void add(const std::shared_ptr<Job>& j);          // JS thread, when the task is queued
  void remove(const Job* j);                        // JS thread, when it completes
  bool begin(const std::shared_ptr<Job>& j);        // pool thread: false = cancelled, skip the work
  void end();                                       // pool thread, after the work
  void cancel_all();                                // JS thread: every task, and those added later
  bool wait_idle(std::chrono::milliseconds limit);  // until no work runs; false on timeout
  void wait_idle();
  int running();
  bool busy();  // tasks queued or running

  // Asks the JS thread whether the environment is stopping (its probe cancels every task if so).
  // Any thread; a no-op while an earlier question is unanswered or once the environment is gone.
  void ping();
  void set_probe(napi_threadsafe_function tsfn);
  void probe_answered(bool stopping);  // JS thread
  void probe_finalized();              // JS thread, when Node tears the probe down

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::vector<std::shared_ptr<Job>> jobs_;
  int running_ = 0;
  bool closing_ = false;
  napi_threadsafe_function probe_ = nullptr;
  bool probe_gone_ = false, probe_asked_ = false;
};

// Registers the environment's Jobs, its cleanup hook and (process 'exit') the exit hook.
void init_jobs(Napi::Env env, Napi::Object exports);

class Task {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  // Throws a Napi::Error (at the call, on the JS thread) when N-API refuses to make it.
  Task(Napi::Env env, Work work, Done done);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  Napi::Promise promise() const;
  // Holds a strong reference to an object (a TypedArray the work reads) until the task completes.
  void keep(Napi::Value v);
  // Runs (on the JS thread) if the environment goes away while the task is queued or running.
  void on_cancel(std::function<void()> f);
  // Hands the task to the pool; it deletes itself when complete.
  void Queue();

 private:
  static void execute(napi_env env, void* data);
  static void complete(napi_env env, napi_status status, void* data);
  void settle(napi_env env, napi_status status);
  void reject(napi_env env, const std::string& msg, bool range);

  napi_env env_;
  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;
  napi_async_work work_handle_ = nullptr;
  std::shared_ptr<Jobs> jobs_;
  std::shared_ptr<Jobs::Job> job_;
  Work work_;
  Done done_;
  std::vector<napi_ref> refs_;
  std::string error_;
  bool range_ = false, skipped_ = false;
};

}  // namespace ws::napi
