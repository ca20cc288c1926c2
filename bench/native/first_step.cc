// The first training steps of a model, phase by phase: allocating the training state (gradients
// and Adam moments, faulted in by one parallel write pass), then accumulate (forward + backward,
// the first one also sizes the activation arena) and the AdamW step, for steps 1-3. The model has
// Qwen2.5-0.5B dimensions with `layers` layers and a 151936 vocabulary (tied), the batch 4 × 256.
//   ./build-native/bench_first_step [threads=2] [layers=2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/threadpool.h"
#include "model/qwen2.h"

using namespace ws::model;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  ws::set_num_threads(argc > 1 ? std::atoi(argv[1]) : 2);
  Qwen2Config c;
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_layers = argc > 2 ? std::atoi(argv[2]) : 2;
  c.num_heads = 14;
  c.num_kv_heads = 2;
  c.head_dim = 64;
  c.tied = true;
  c.rope_theta = 1e6f;
  Qwen2 m(c);
  m.init_random(0, 0.02f);
  const int T = 1024;
  std::vector<int32_t> tok(T), pos(T), cu{0, 256, 512, 768, 1024};
  for (int t = 0; t < T; ++t) tok[t] = (t * 7919) % c.vocab_size, pos[t] = t % 256;
  PackedBatch b{tok.data(), pos.data(), cu.data(), T, 4};
  ws::cpu::HeadObjective o;
  o.normaliser = T;
  AdamWConfig a;
  a.max_grad_norm = 1;
  double t0 = now();
  m.read_host(true, [](const ws::model::HostState&) {});  // allocates the training state
  std::printf("%d layers, %d threads: training state %.2f s\n", c.num_layers, ws::num_threads(), now() - t0);
  for (int s = 1; s <= 3; ++s) {
    t0 = now();
    m.accumulate(b, o, nullptr);
    double t1 = now();
    m.optimizer_step(a);
    std::printf("step %d: accumulate %.2f s, optimizer %.2f s\n", s, t1 - t0, now() - t1);
  }
}
