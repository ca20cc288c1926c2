// Qwen2 graph tests on a tiny random model: gradients of the whole model against finite
// differences (in the objective of docs/ARCHITECTURE.md "The objective", with weights, advantages, old logprobs and
// clipping), packed == one sequence at a time, gradient accumulation == one big batch, tied embeddings, greedy KV-cache
// generation == argmax of the teacher-forced logits, seeded sampling reproducible.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../model/qwen2.h"
#include "test_util.h"

using ws::model::HostState;
using ws::model::PackedBatch;
using ws::model::Qwen2;
using ws::model::Qwen2Config;

static Qwen2Config tiny_config(bool tied) {
  Qwen2Config c;
  c.vocab_size = 37;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 4;
  c.rms_eps = 1e-6f;
  c.rope_theta = 10000.f;
  c.tied = tied;
  return c;
}

// Random parameters everywhere (biases and norm weights too), so every gradient is exercised.
static void randomise(Qwen2& m, uint64_t seed) {
  m.init_random(seed, 0.3f);
  auto r = wstest::randn(m.flat_size(), seed + 1, 0.1f);
  m.write_host(false, [&](HostState& h) {
    for (auto& p : m.params())
      if (p.shape.size() == 1)
        for (int64_t i = 0; i < p.numel; ++i) h.params[p.offset + i] += r[p.offset + i];
  });
}

static std::vector<float> host_params(Qwen2& m) {
  std::vector<float> out;
  m.read_host(false, [&](const HostState& h) { out.assign(h.params, h.params + m.flat_size()); });
  return out;
}

struct Packed {
  std::vector<int32_t> tokens, positions, cu{0};
  PackedBatch batch() { return {tokens.data(), positions.data(), cu.data(), (int)tokens.size(), (int)cu.size() - 1}; }
  void add(const std::vector<int32_t>& seq) {
    for (size_t i = 0; i < seq.size(); ++i) {
      tokens.push_back(seq[i]);
      positions.push_back((int32_t)i);
    }
    cu.push_back((int32_t)tokens.size());
  }
};

// generate() over prompts packed into one batch.
static ws::model::Generation generate(Qwen2& m, const std::vector<std::vector<int32_t>>& prompts,
                                      const ws::model::GenerateOptions& o) {
  Packed p;
  for (auto& s : prompts) p.add(s);
  return m.generate(p.batch(), o);
}

static std::vector<std::vector<int32_t>> some_seqs(int V, uint64_t seed) {
  ws::Rng r(seed);
  std::vector<std::vector<int32_t>> out;
  for (int len : {5, 1, 7, 3}) {
    std::vector<int32_t> s;
    for (int i = 0; i < len; ++i) s.push_back((int32_t)(r.next_u64() % V));
    out.push_back(s);
  }
  return out;
}

static void gradient_check(bool tied) {
  Qwen2 m(tiny_config(tied));
  randomise(m, 7);
  Packed p;
  for (auto& s : some_seqs(m.config().vocab_size, 3)) p.add(s);
  auto b = p.batch();
  std::vector<float> w = wstest::uniform(b.T, 11, 0.2f, 1.0f), adv = wstest::randn(b.T, 12, 1.0f);
  std::vector<float> old = wstest::uniform(b.T, 13, -4.0f, -3.0f);
  ws::cpu::HeadObjective obj;
  obj.weights = w.data();
  obj.advantages = adv.data();
  obj.old_logp = old.data();
  obj.clip_low = obj.clip_high = 10.0f;  // no clipping: the objective is smooth for finite differences
  obj.normaliser = 3.0f;
  m.accumulate(b, obj, nullptr);
  std::vector<float> g = m.gradients();
  auto loss = [&]() {
    std::vector<float> lp(b.T);
    m.logprobs(b, 1.0f, lp.data());
    double L = 0;
    for (int t = 0; t < b.T; ++t) {
      bool last = false;
      for (int s = 1; s < b.num_seqs + 1; ++s) last |= (t == b.cu_seqlens[s] - 1);
      if (!last) L += -std::exp((double)lp[t] - old[t]) * adv[t] * w[t];
    }
    return L / 3.0;
  };
  for (auto& prm : m.params()) {
    int64_t stride = std::max<int64_t>(1, prm.numel / 6);
    for (int64_t i = 0; i < prm.numel; i += stride) {
      const int64_t at = prm.offset + i;
      auto set = [&](float v) { m.write_host(false, [&](HostState& hs) { hs.params[at] = v; }); };
      const float orig = host_params(m)[at];
      const double h = 1e-2;
      set(orig + (float)h);
      double lp = loss();
      set(orig - (float)h);
      double lm = loss();
      set(orig);
      double num = (lp - lm) / (2 * h), ana = g[prm.offset + i];
      if (std::fabs(num - ana) > 2e-3 + 3e-2 * std::fabs(num)) {
        std::printf("  %s[%lld]: numeric %.8g analytic %.8g\n", prm.name.c_str(), (long long)i, num, ana);
        CHECK(false);
        return;
      }
    }
  }
}

TEST(gradients_match_finite_differences_untied) { gradient_check(false); }
TEST(gradients_match_finite_differences_tied) { gradient_check(true); }

TEST(packed_equals_one_sequence_at_a_time) {
  Qwen2 m(tiny_config(false));
  randomise(m, 5);
  auto seqs = some_seqs(m.config().vocab_size, 9);
  Packed all;
  for (auto& s : seqs) all.add(s);
  std::vector<float> lp(all.tokens.size());
  m.logprobs(all.batch(), 0.7f, lp.data());
  int o = 0;
  for (auto& s : seqs) {
    Packed one;
    one.add(s);
    std::vector<float> l1(s.size());
    m.logprobs(one.batch(), 0.7f, l1.data());
    CHECK(wstest::allclose(lp.data() + o, l1.data(), s.size(), 1e-5f, 1e-5f, "packed vs single"));
    CHECK(lp[o + s.size() - 1] == 0.0f);
    o += (int)s.size();
  }
}

TEST(accumulation_equals_one_batch) {
  Qwen2 a(tiny_config(false)), b(tiny_config(false));
  randomise(a, 21);
  randomise(b, 21);
  auto seqs = some_seqs(a.config().vocab_size, 4);
  Packed all, p1, p2;
  for (size_t i = 0; i < seqs.size(); ++i) {
    all.add(seqs[i]);
    (i < 2 ? p1 : p2).add(seqs[i]);
  }
  ws::cpu::HeadObjective obj;
  obj.normaliser = 10.0f;
  a.accumulate(all.batch(), obj, nullptr);
  b.accumulate(p1.batch(), obj, nullptr);
  b.accumulate(p2.batch(), obj, nullptr);
  CHECK(wstest::allclose(b.gradients().data(), a.gradients().data(), a.flat_size(), 1e-6f, 1e-4f, "accumulated grads"));
  ws::model::AdamWConfig opt;
  opt.lr = 1e-2f;
  opt.weight_decay = 0.1f;
  opt.max_grad_norm = 0.5f;
  double na = a.optimizer_step(opt), nb = b.optimizer_step(opt);
  CHECK_NEAR(na, nb, 1e-4 * na);
  CHECK(a.step_count() == 1);
  CHECK(
      wstest::allclose(host_params(b).data(), host_params(a).data(), a.flat_size(), 1e-6f, 1e-4f, "params after step"));
  CHECK_THROWS(a.optimizer_step(opt));  // no gradients pending
}

// Activation recomputation (checkpointing) runs the same ops on the same inputs: the gradients,
// loss and logprobs equal those of a step that stores every layer's activations, on a 3-layer
// model (first, middle and last layers take different paths), over two accumulated micro-batches
// of different lengths (the arena grows in recompute mode) and after an inference pass.
TEST(recomputed_activations_give_the_same_gradients) {
  Qwen2Config cfg = tiny_config(false);
  cfg.num_layers = 3;
  Qwen2 a(cfg), b(cfg);
  randomise(a, 61);
  randomise(b, 61);
  Packed p1, p2;
  auto seqs = some_seqs(cfg.vocab_size, 62);
  p1.add(seqs[0]);
  p1.add(seqs[1]);
  for (auto& s : seqs) p2.add(s);
  ws::cpu::HeadObjective obj;
  std::vector<float> adv = wstest::randn(p2.tokens.size(), 63, 1.0f);
  obj.advantages = adv.data();
  obj.normaliser = 7.0f;
  for (Packed* p : {&p1, &p2}) {
    const int T = (int)p->tokens.size();
    std::vector<float> la(T), lb(T);
    auto ra = a.accumulate(p->batch(), obj, la.data(), false);
    auto rb = b.accumulate(p->batch(), obj, lb.data(), true);
    CHECK_NEAR(ra.loss, rb.loss, 1e-6 * std::fabs(ra.loss));
    CHECK(wstest::allclose(lb.data(), la.data(), T, 0.0f, 1e-6f, "recomputed logprobs"));
    CHECK(b.arena_bytes() == Qwen2::measure_arena(cfg, ws::model::Device::CPU, T, true, true));
    std::vector<float> lp(T);
    b.logprobs(p->batch(), 1.0f, lp.data());  // an inference pass on the recompute arena
  }
  auto ga = a.gradients(), gb = b.gradients();
  double worst = 0;
  for (size_t i = 0; i < ga.size(); ++i)
    worst = std::max(worst, std::fabs((double)gb[i] - ga[i]) / (1e-12 + std::fabs((double)ga[i])));
  std::printf("  recompute vs stored: largest relative gradient difference %.3g\n", worst);
  CHECK(wstest::allclose(gb.data(), ga.data(), a.flat_size(), 0.0f, 1e-6f, "recomputed gradients"));
  // the recompute arena keeps one layer's activations: less than the stored one, more than inference
  const size_t stored = Qwen2::measure_arena(cfg, ws::model::Device::CPU, 4096, true, false);
  const size_t recomputed = Qwen2::measure_arena(cfg, ws::model::Device::CPU, 4096, true, true);
  const size_t infer = Qwen2::measure_arena(cfg, ws::model::Device::CPU, 4096, false, false);
  CHECK(recomputed < stored && recomputed > infer);
}

// Greedy generation must pick, at every step, the argmax of the teacher-forced distribution.
TEST(greedy_generation_is_teacher_forced_argmax) {
  Qwen2 m(tiny_config(true));
  randomise(m, 33);
  const int V = m.config().vocab_size;
  std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4}, {5, 6, 7, 8, 9}};
  ws::model::GenerateOptions o;
  o.max_new_tokens = 6;
  o.temperature = 0.0f;
  o.stop_tokens = {};
  auto g = generate(m, prompts, o);
  for (size_t s = 0; s < prompts.size(); ++s) {
    CHECK(g.tokens[s].size() == 6);
    std::vector<int32_t> seq = prompts[s];
    for (size_t i = 0; i < g.tokens[s].size(); ++i) {
      // logits of every candidate next token at this position
      Packed p;
      for (int v = 0; v < V; ++v) {
        auto c = seq;
        c.push_back(v);
        p.add(c);
      }
      std::vector<float> lp(p.tokens.size());
      m.logprobs(p.batch(), 1.0f, lp.data());
      int n = (int)seq.size();
      int best = 0;
      for (int v = 0; v < V; ++v)
        if (lp[v * (n + 1) + n - 1] > lp[best * (n + 1) + n - 1]) best = v;
      CHECK(g.tokens[s][i] == best);
      CHECK_NEAR(g.logprobs[s][i], lp[best * (n + 1) + n - 1], 1e-4);
      seq.push_back(g.tokens[s][i]);
    }
  }
}

TEST(seeded_sampling_is_reproducible_and_stops) {
  Qwen2 m(tiny_config(false));
  randomise(m, 44);
  std::vector<std::vector<int32_t>> prompts = {{1, 2}, {3}};
  ws::model::GenerateOptions o;
  o.max_new_tokens = 20;
  o.temperature = 1.3f;
  o.top_k = 10;
  o.top_p = 0.9f;
  o.seed = 123;
  auto a = generate(m, prompts, o), b = generate(m, prompts, o);
  CHECK(a.tokens == b.tokens);
  CHECK(a.logprobs == b.logprobs);
  // Prompt 1 alone, on its stream of the seed, samples what it samples beside prompt 0.
  ws::model::GenerateOptions o1 = o;
  o1.first_stream = 1;
  CHECK(generate(m, {prompts[1]}, o1).tokens[0] == a.tokens[1]);
  o.seed = 124;
  auto c = generate(m, prompts, o);
  CHECK(c.tokens != a.tokens);
  // Stop on the 3rd token sampled for prompt 0: that sequence ends there, with the stop token.
  o.seed = 123;
  o.stop_tokens = {a.tokens[0][2]};
  auto d = generate(m, prompts, o);
  CHECK(d.finish[0] == ws::model::Finish::Stop);
  CHECK(d.tokens[0].size() <= 3);
  CHECK(d.tokens[0].back() == a.tokens[0][2]);
}

TEST(step_callback_per_sequence_limits_and_cancel) {
  using ws::model::Finish;
  Qwen2 m(tiny_config(true));
  randomise(m, 45);
  std::vector<std::vector<int32_t>> prompts = {{1, 2}, {3}, {4, 5, 6}};
  ws::model::GenerateOptions o;
  o.max_new_tokens = 12;
  o.temperature = 1.0f;
  o.seed = 7;
  auto all = generate(m, prompts, o);

  // Every token reaches on_step once, in order, with its logprob.
  std::vector<std::vector<int32_t>> seen(3);
  std::vector<std::vector<float>> seen_lp(3);
  o.on_step = [&](const ws::model::StepTokens& st) {
    for (size_t i = 0; i < st.seq.size(); ++i) {
      seen[st.seq[i]].push_back(st.token[i]);
      seen_lp[st.seq[i]].push_back(st.logprob[i]);
    }
  };
  auto g = generate(m, prompts, o);
  CHECK(seen == g.tokens);
  CHECK(seen_lp == g.logprobs);

  // Per-sequence limits cut each sequence at its own length; the others are unchanged.
  o.on_step = nullptr;
  o.max_new_per_seq = {3, 12, 5};
  auto lim = generate(m, prompts, o);
  for (int s = 0; s < 3; ++s) {
    CHECK((int)lim.tokens[s].size() == o.max_new_per_seq[s]);
    CHECK(std::equal(lim.tokens[s].begin(), lim.tokens[s].end(), all.tokens[s].begin()));
    CHECK(lim.finish[s] == Finish::Length);
  }
  o.max_new_per_seq = {3, 13, 5};
  CHECK_THROWS(generate(m, prompts, o));
  o.max_new_per_seq = {3, 12};
  CHECK_THROWS(generate(m, prompts, o));
  o.max_new_per_seq.clear();

  // Cancelling sequence 1 once it has 4 tokens: it keeps those 4, the others are as before.
  std::vector<std::atomic<uint8_t>> cancel(3);
  o.cancel = cancel.data();
  int got1 = 0;
  o.on_step = [&](const ws::model::StepTokens& st) {
    for (int s : st.seq)
      if (s == 1 && ++got1 == 4) cancel[1] = 1;
  };
  auto c = generate(m, prompts, o);
  CHECK(c.tokens[1].size() == 4);
  CHECK(c.finish[1] == Finish::Cancelled);
  CHECK(std::equal(c.tokens[1].begin(), c.tokens[1].end(), all.tokens[1].begin()));
  CHECK(c.tokens[0] == all.tokens[0] && c.tokens[2] == all.tokens[2]);
}

TEST(prefill_in_groups_equals_one_pass_and_the_arena_stays_small) {
  // 9 prompts of 1000 tokens: prefill runs in groups of at most 4096 tokens (3 groups); greedy
  // generation gives what each prompt gives alone.
  Qwen2 m(tiny_config(true));
  randomise(m, 46);
  const int V = m.config().vocab_size;
  std::vector<std::vector<int32_t>> prompts;
  for (int s = 0; s < 9; ++s) {
    std::vector<int32_t> p(1000);
    for (int i = 0; i < 1000; ++i) p[i] = (s * 7 + i * 13) % V;
    prompts.push_back(p);
  }
  ws::model::GenerateOptions o;
  o.max_new_tokens = 5;
  o.temperature = 0.0f;
  auto g = generate(m, prompts, o);
  for (int s = 0; s < 9; ++s) {
    Qwen2 one(tiny_config(true));
    randomise(one, 46);
    CHECK(generate(one, {prompts[s]}, o).tokens[0] == g.tokens[s]);
  }
  // the arena is that of the longest group's inference pass (4 prompts), not of 9000 tokens
  Qwen2 ref(tiny_config(true));
  randomise(ref, 46);
  Packed p4;
  for (int s = 0; s < 4; ++s) p4.add(prompts[s]);
  std::vector<float> lp(4000);
  ref.logprobs(p4.batch(), 1.0f, lp.data());
  CHECK(m.arena_bytes() == ref.arena_bytes());

  // After a training step, an inference pass longer than the training arena gets an inference
  // arena of its own length, not a training arena that long.
  Packed small, big;
  small.add(std::vector<int32_t>(prompts[0].begin(), prompts[0].begin() + 64));
  for (int s = 0; s < 3; ++s) big.add(prompts[s]);
  ws::cpu::HeadObjective obj;
  Qwen2 t(tiny_config(true)), inf(tiny_config(true)), trained_big(tiny_config(true));
  randomise(t, 46);
  t.accumulate(small.batch(), obj, nullptr);
  std::vector<float> lp3(3000);
  t.logprobs(big.batch(), 1.0f, lp3.data());
  inf.logprobs(big.batch(), 1.0f, lp3.data());
  CHECK(t.arena_bytes() == inf.arena_bytes());
  trained_big.accumulate(big.batch(), obj, nullptr);
  CHECK(trained_big.arena_bytes() > 2 * inf.arena_bytes());
  // and the next training step makes a training arena of its own length again
  Qwen2 t64(tiny_config(true));
  t64.accumulate(small.batch(), obj, nullptr);
  t.accumulate(small.batch(), obj, nullptr);
  CHECK(t.arena_bytes() == t64.arena_bytes());
}

// The sizes the engine reports without a model (what lib/train/micro-batch.ts sizes batches by)
// are the buffers a model then allocates: the arena of an inference pass and of a training step,
// and the flat parameter buffer.
TEST(measured_sizes_are_what_the_model_allocates) {
  using ws::model::Device;
  for (bool tied : {false, true}) {
    const Qwen2Config cfg = tiny_config(tied);
    Qwen2 m(cfg);
    randomise(m, 47);
    int64_t flat = 0;
    auto layout = Qwen2::layout(cfg, &flat);
    CHECK(flat == m.flat_size());
    CHECK(layout.size() == m.params().size());
    for (size_t i = 0; i < layout.size(); ++i)
      CHECK(layout[i].name == m.params()[i].name && layout[i].offset == m.params()[i].offset);
    Packed p;
    for (auto& s : some_seqs(cfg.vocab_size, 48)) p.add(s);
    const int T = (int)p.tokens.size();
    std::vector<float> lp(T);
    m.logprobs(p.batch(), 1.0f, lp.data());
    CHECK(m.arena_bytes() == Qwen2::measure_arena(cfg, Device::CPU, T, false));
    ws::cpu::HeadObjective obj;
    m.accumulate(p.batch(), obj, nullptr);
    CHECK(m.arena_bytes() == Qwen2::measure_arena(cfg, Device::CPU, T, true));
    CHECK(Qwen2::measure_arena(cfg, Device::CPU, T, true) > 2 * Qwen2::measure_arena(cfg, Device::CPU, T, false));
    // bf16 activations on CUDA: less than the fp32 arena, more than half of it (fp32 statistics)
    const size_t cpu = Qwen2::measure_arena(cfg, Device::CPU, 4096, true);
    const size_t gpu = Qwen2::measure_arena(cfg, Device::CUDA, 4096, true);
    CHECK(gpu < cpu && 2 * gpu > cpu);
    // generation: the KV cache grows by 2 (k, v) x layers x kv_dim activations per cache row
    const int64_t kv_row = 2LL * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * 4;
    CHECK((int64_t)(Qwen2::measure_generation(cfg, Device::CPU, 3, 128) -
                    Qwen2::measure_generation(cfg, Device::CPU, 3, 64)) == 3 * 64 * kv_row);
  }
  CHECK_THROWS(Qwen2::measure_arena(tiny_config(false), ws::model::Device::CPU, 0, false));
  CHECK_THROWS(Qwen2::measure_generation(tiny_config(false), ws::model::Device::CPU, 1, 0));
}

int main() { return wstest::run_tests(); }
