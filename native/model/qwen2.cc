// Qwen2 graph: forward, backward, AdamW and KV-cache generation over the ops of dispatch.h.
// The maths of each op lives in native/cpu/ (and native/cuda/); this file only wires them.
#include "qwen2.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../core/rng.h"

namespace ws::model {

void Qwen2Config::validate() const {
  WS_CHECK_RANGE(vocab_size > 0, "config: vocab_size must be > 0, got ", vocab_size);
  WS_CHECK_RANGE(hidden_size > 0, "config: hidden_size must be > 0, got ", hidden_size);
  WS_CHECK_RANGE(intermediate_size > 0, "config: intermediate_size must be > 0, got ", intermediate_size);
  WS_CHECK_RANGE(num_layers > 0, "config: num_hidden_layers must be > 0, got ", num_layers);
  WS_CHECK_RANGE(num_heads > 0, "config: num_attention_heads must be > 0, got ", num_heads);
  WS_CHECK_RANGE(num_kv_heads > 0 && num_heads % num_kv_heads == 0,
                 "config: num_key_value_heads must divide num_attention_heads (", num_heads, "), got ", num_kv_heads);
  WS_CHECK_RANGE(head_dim > 0 && head_dim % 2 == 0, "config: head_dim must be even and > 0, got ", head_dim);
  WS_CHECK_RANGE(rms_eps > 0 && std::isfinite(rms_eps), "config: rms_norm_eps must be > 0, got ", rms_eps);
  WS_CHECK_RANGE(rope_theta > 0 && std::isfinite(rope_theta), "config: rope_theta must be > 0, got ", rope_theta);
}

namespace {
constexpr int64_t kAlign = 16;  // floats: every tensor starts on a 64-byte boundary
int64_t align_up(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Qwen2::Qwen2(const Qwen2Config& cfg, Device device) : cfg_(cfg), device_(device) {
  cfg_.validate();
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size;
  q_dim_ = cfg.num_heads * cfg.head_dim;
  kv_dim_ = cfg.num_kv_heads * cfg.head_dim;
  qkv_dim_ = q_dim_ + 2 * kv_dim_;
  int64_t off = 0;
  // Tensors that must sit back to back (q/k/v weights, their biases, gate/up) are added without
  // padding between them; each group starts aligned.
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool pad_before = true) {
    if (pad_before) off = align_up(off);
    int64_t n = 1;
    for (auto d : shape) n *= d;
    params_.push_back({name, shape, off, n, shape.size() == 2});
    off += n;
    return params_.back().offset;
  };
  embed_off_ = add("model.embed_tokens.weight", {V, C});
  for (int l = 0; l < cfg.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    layer_off_.push_back(add(p + "input_layernorm.weight", {C}));
    add(p + "self_attn.q_proj.weight", {q_dim_, C});
    add(p + "self_attn.k_proj.weight", {kv_dim_, C}, false);
    add(p + "self_attn.v_proj.weight", {kv_dim_, C}, false);
    add(p + "self_attn.q_proj.bias", {q_dim_});
    add(p + "self_attn.k_proj.bias", {kv_dim_}, false);
    add(p + "self_attn.v_proj.bias", {kv_dim_}, false);
    add(p + "self_attn.o_proj.weight", {C, q_dim_});
    add(p + "post_attention_layernorm.weight", {C});
    add(p + "mlp.gate_proj.weight", {F, C});
    add(p + "mlp.up_proj.weight", {F, C}, false);
    add(p + "mlp.down_proj.weight", {C, F});
  }
  norm_off_ = add("model.norm.weight", {C});
  if (!cfg.tied) head_off_ = add("lm_head.weight", {V, C});
  flat_size_ = align_up(off);
  params_buf_.assign(flat_size_, 0.0f);
}

const ParamInfo* Qwen2::find_param(const std::string& name) const {
  for (auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

Qwen2::LayerW Qwen2::layer_ptrs(float* base, int l) const {
  // Order of a layer's tensors in params_ (see the constructor): 12 entries after the embedding.
  const ParamInfo* p = &params_[1 + 12 * l];
  return {base + p[0].offset, base + p[1].offset, base + p[4].offset, base + p[7].offset,
          base + p[8].offset, base + p[9].offset, base + p[11].offset};
}

void Qwen2::init_random(uint64_t seed, float std) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamInfo& p = params_[i];
    float* x = params_buf_.data() + p.offset;
    bool norm = p.name.find("norm") != std::string::npos;
    if (p.shape.size() == 2) {
      Rng r(seed, i);
      for (int64_t j = 0; j < p.numel; ++j) x[j] = r.normal() * std;
    } else {
      std::fill(x, x + p.numel, norm ? 1.0f : 0.0f);
    }
  }
}

void Qwen2::ensure_train_state() {
  if ((int64_t)grads_.size() == flat_size_) return;
  grads_.assign(flat_size_, 0.0f);
  m_.assign(flat_size_, 0.0f);
  v_.assign(flat_size_, 0.0f);
}

int Qwen2::head_chunk(int T) const {
  // At most ~16M logits (64 MiB) of scratch at a time.
  int c = (int)std::clamp<int64_t>((int64_t(1) << 24) / cfg_.vocab_size, 16, 1024);
  return std::max(1, std::min(c, T));
}

void Qwen2::ensure_arena(int T, bool train) {
  if (T <= cap_T_ && (cap_train_ || !train)) return;
  int newT = std::max(T, cap_T_);
  bool newTrain = train || cap_train_;
  const int64_t C = cfg_.hidden_size, F = cfg_.intermediate_size, Tn = newT;
  const int64_t Hq = cfg_.num_heads;
  // Saved per layer for backward; silu(gate)*up is recomputed there, not kept.
  const int64_t per_layer = align_up(Tn * C) * 4 + align_up(Tn) * 2 + align_up(Tn * q_dim_) * 2 +
                            align_up(Tn * kv_dim_) * 2 + align_up(Tn * Hq) + align_up(Tn * F) * 2;
  const int nsets = newTrain ? cfg_.num_layers : 1;
  int64_t total = per_layer * nsets + align_up(Tn * C) * 3 + align_up(Tn) + align_up(Tn * F) +
                  align_up(Tn * qkv_dim_) + align_up(Tn * 2 * F) + align_up((int64_t)head_chunk(newT) * cfg_.vocab_size);
  if (newTrain)
    total += align_up(Tn * C) * 2 + align_up(Tn * q_dim_) * 3 + align_up(Tn * kv_dim_) * 3 +
             align_up(Tn * qkv_dim_) + align_up(Tn * F) * 3 + align_up(Tn * 2 * F);
  std::vector<float>().swap(arena_);
  arena_.assign(total, 0.0f);
  float* p = arena_.data();
  auto take = [&](int64_t n) { float* r = p; p += align_up(n); return r; };
  acts_.assign(nsets, LayerActs{});
  for (auto& a : acts_) {
    a.x_in = take(Tn * C); a.rstd1 = take(Tn); a.xn1 = take(Tn * C);
    a.q = take(Tn * q_dim_); a.k = take(Tn * kv_dim_); a.v = take(Tn * kv_dim_);
    a.att = take(Tn * q_dim_); a.lse = take(Tn * Hq); a.x_mid = take(Tn * C);
    a.rstd2 = take(Tn); a.xn2 = take(Tn * C);
    a.gate = take(Tn * F); a.up = take(Tn * F);
  }
  res_last_ = take(Tn * C); rstdf_ = take(Tn); xnf_ = take(Tn * C); tmp_ = take(Tn * C); h_ = take(Tn * F);
  qkv_ = take(Tn * qkv_dim_); gu_ = take(Tn * 2 * F);
  head_scratch_ = take((int64_t)head_chunk(newT) * cfg_.vocab_size);
  if (newTrain) {
    dres_ = take(Tn * C); dxn_ = take(Tn * C);
    datt_ = take(Tn * q_dim_); dq_ = take(Tn * q_dim_); dqr_ = take(Tn * q_dim_);
    dk_ = take(Tn * kv_dim_); dv_ = take(Tn * kv_dim_); dkr_ = take(Tn * kv_dim_);
    dqkv_ = take(Tn * qkv_dim_);
    dh_ = take(Tn * F); dgate_ = take(Tn * F); dup_ = take(Tn * F); dgu_ = take(Tn * 2 * F);
  }
  WS_CHECK(p <= arena_.data() + arena_.size(), "activation arena: internal size mismatch");
  targets_.assign(newT, -1);
  cap_T_ = newT;
  cap_train_ = newTrain;
}

Qwen2::LayerActs Qwen2::acts_for(int l, bool train) { return acts_[train ? l : 0]; }

void Qwen2::check_batch(const PackedBatch& b) const {
  WS_CHECK_RANGE(b.T > 0, "batch: tokens must not be empty");
  WS_CHECK_RANGE(b.num_seqs > 0, "batch: cu_seqlens must hold at least one sequence");
  WS_CHECK_RANGE(b.cu_seqlens[0] == 0 && b.cu_seqlens[b.num_seqs] == b.T,
                 "batch: cu_seqlens must start at 0 and end at ", b.T);
  for (int s = 0; s < b.num_seqs; ++s)
    WS_CHECK_RANGE(b.cu_seqlens[s + 1] >= b.cu_seqlens[s], "batch: cu_seqlens must be non-decreasing (index ", s + 1, ")");
  for (int t = 0; t < b.T; ++t) {
    WS_CHECK_RANGE(b.tokens[t] >= 0 && b.tokens[t] < cfg_.vocab_size, "batch: tokens[", t, "] = ", b.tokens[t],
                   " is outside [0, ", cfg_.vocab_size, ")");
    WS_CHECK_RANGE(b.positions[t] >= 0, "batch: positions[", t, "] = ", b.positions[t], " is negative");
  }
}

void Qwen2::make_targets(const PackedBatch& b) {
  for (int s = 0; s < b.num_seqs; ++s) {
    int a = b.cu_seqlens[s], e = b.cu_seqlens[s + 1];
    for (int t = a; t < e; ++t) targets_[t] = t + 1 < e ? b.tokens[t + 1] : -1;
  }
}

void Qwen2::forward(const PackedBatch& b, bool train, const KvCache* cache) {
  const Device d = device_;
  const int T = b.T, C = cfg_.hidden_size, F = cfg_.intermediate_size, L = cfg_.num_layers;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, D = cfg_.head_dim;
  float* P = params_buf_.data();
  op::embedding_forward(d, acts_for(0, train).x_in, b.tokens, embed(P), T, C, cfg_.vocab_size);
  for (int l = 0; l < L; ++l) {
    LayerActs a = acts_for(l, train);
    LayerW w = layer_ptrs(P, l);
    float* out = l + 1 < L ? acts_for(l + 1, train).x_in : res_last_;
    // attention block
    op::rmsnorm_forward(d, a.xn1, a.rstd1, a.x_in, w.ln1, T, C, cfg_.rms_eps);
    op::matmul_forward(d, qkv_, a.xn1, w.wqkv, w.bqkv, T, C, qkv_dim_);
    op::copy_rows(d, a.q, q_dim_, qkv_, qkv_dim_, T, q_dim_);
    op::copy_rows(d, a.k, kv_dim_, qkv_ + q_dim_, qkv_dim_, T, kv_dim_);
    op::copy_rows(d, a.v, kv_dim_, qkv_ + q_dim_ + kv_dim_, qkv_dim_, T, kv_dim_);
    op::rope_forward(d, a.q, a.q, b.positions, T, Hq, D, cfg_.rope_theta);
    op::rope_forward(d, a.k, a.k, b.positions, T, Hkv, D, cfg_.rope_theta);
    if (cache) {
      const int64_t layer_stride = (int64_t)cache->B * cache->max_len * kv_dim_;
      for (int s = 0; s < b.num_seqs; ++s) {
        int a0 = b.cu_seqlens[s], n = b.cu_seqlens[s + 1] - a0;
        float* kc = cache->k + l * layer_stride + (int64_t)s * cache->max_len * kv_dim_;
        float* vc = cache->v + l * layer_stride + (int64_t)s * cache->max_len * kv_dim_;
        std::memcpy(kc, a.k + (int64_t)a0 * kv_dim_, (size_t)n * kv_dim_ * sizeof(float));
        std::memcpy(vc, a.v + (int64_t)a0 * kv_dim_, (size_t)n * kv_dim_ * sizeof(float));
      }
    }
    op::attention_forward(d, a.att, train ? a.lse : nullptr, a.q, a.k, a.v, b.cu_seqlens, b.num_seqs, T, Hq, Hkv, D);
    op::matmul_forward(d, tmp_, a.att, w.wo, nullptr, T, q_dim_, C);
    std::memcpy(a.x_mid, a.x_in, (size_t)T * C * sizeof(float));
    op::add_inplace(d, a.x_mid, tmp_, (int64_t)T * C);
    // MLP block
    op::rmsnorm_forward(d, a.xn2, a.rstd2, a.x_mid, w.ln2, T, C, cfg_.rms_eps);
    op::matmul_forward(d, gu_, a.xn2, w.wgu, nullptr, T, C, 2 * F);
    op::copy_rows(d, a.gate, F, gu_, 2 * F, T, F);
    op::copy_rows(d, a.up, F, gu_ + F, 2 * F, T, F);
    op::swiglu_forward(d, h_, a.gate, a.up, (int64_t)T * F);
    op::matmul_forward(d, tmp_, h_, w.wdown, nullptr, T, F, C);
    std::memcpy(out, a.x_mid, (size_t)T * C * sizeof(float));
    op::add_inplace(d, out, tmp_, (int64_t)T * C);
  }
  op::rmsnorm_forward(d, xnf_, rstdf_, res_last_, final_norm(P), T, C, cfg_.rms_eps);
}

void Qwen2::logprobs(const PackedBatch& b, float temperature, float* logp) {
  check_batch(b);
  WS_CHECK_RANGE(temperature > 0 && std::isfinite(temperature), "temperature must be > 0, got ", temperature);
  ensure_arena(b.T, false);
  make_targets(b);
  forward(b, false, nullptr);
  ws::cpu::HeadObjective obj;
  obj.temperature = temperature;
  op::fused_head(device_, logp, nullptr, nullptr, xnf_, head(params_buf_.data()), targets_.data(), b.T,
                 cfg_.hidden_size, cfg_.vocab_size, obj, head_chunk(b.T), head_scratch_);
}

StepResult Qwen2::accumulate(const PackedBatch& b, const ws::cpu::HeadObjective& obj, float* logp) {
  check_batch(b);
  WS_CHECK_RANGE(obj.normaliser > 0 && std::isfinite(obj.normaliser), "normaliser must be > 0, got ", obj.normaliser);
  WS_CHECK_RANGE(obj.temperature > 0 && std::isfinite(obj.temperature), "temperature must be > 0, got ", obj.temperature);
  ensure_train_state();
  ensure_arena(b.T, true);
  make_targets(b);
  forward(b, true, nullptr);

  const Device d = device_;
  const int T = b.T, C = cfg_.hidden_size, F = cfg_.intermediate_size, L = cfg_.num_layers;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, D = cfg_.head_dim;
  float* P = params_buf_.data();
  float* G = grads_.data();
  const int64_t TC = (int64_t)T * C;

  op::zero(d, dxn_, TC);
  ws::cpu::HeadResult hr = op::fused_head(d, logp, dxn_, head(G), xnf_, head(P), targets_.data(), T, C,
                                          cfg_.vocab_size, obj, head_chunk(T), head_scratch_);
  op::zero(d, dres_, TC);
  op::rmsnorm_backward(d, dres_, final_norm(G), dxn_, res_last_, final_norm(P), rstdf_, T, C);
  for (int l = L - 1; l >= 0; --l) {
    LayerActs a = acts_for(l, true);
    LayerW w = layer_ptrs(P, l), g = layer_ptrs(G, l);
    // MLP block: out = x_mid + down(swiglu(gate, up)); dres is d out and becomes d x_mid.
    op::swiglu_forward(d, h_, a.gate, a.up, (int64_t)T * F);  // recomputed: cheaper than keeping it
    op::zero(d, dh_, (int64_t)T * F);
    op::matmul_backward(d, dh_, g.wdown, nullptr, dres_, h_, w.wdown, T, F, C);
    op::zero(d, dgate_, (int64_t)T * F);
    op::zero(d, dup_, (int64_t)T * F);
    op::swiglu_backward(d, dgate_, dup_, dh_, a.gate, a.up, (int64_t)T * F);
    op::copy_rows(d, dgu_, 2 * F, dgate_, F, T, F);
    op::copy_rows(d, dgu_ + F, 2 * F, dup_, F, T, F);
    op::zero(d, dxn_, TC);
    op::matmul_backward(d, dxn_, g.wgu, nullptr, dgu_, a.xn2, w.wgu, T, C, 2 * F);
    op::rmsnorm_backward(d, dres_, g.ln2, dxn_, a.x_mid, w.ln2, a.rstd2, T, C);
    // attention block: x_mid = x_in + o(att); dres becomes d x_in.
    op::zero(d, datt_, (int64_t)T * q_dim_);
    op::matmul_backward(d, datt_, g.wo, nullptr, dres_, a.att, w.wo, T, q_dim_, C);
    op::zero(d, dq_, (int64_t)T * q_dim_);
    op::zero(d, dk_, (int64_t)T * kv_dim_);
    op::zero(d, dv_, (int64_t)T * kv_dim_);
    op::attention_backward(d, dq_, dk_, dv_, datt_, a.q, a.k, a.v, a.att, a.lse, b.cu_seqlens, b.num_seqs, T, Hq,
                           Hkv, D);
    op::zero(d, dqr_, (int64_t)T * q_dim_);
    op::zero(d, dkr_, (int64_t)T * kv_dim_);
    op::rope_backward(d, dqr_, dq_, b.positions, T, Hq, D, cfg_.rope_theta);
    op::rope_backward(d, dkr_, dk_, b.positions, T, Hkv, D, cfg_.rope_theta);
    op::copy_rows(d, dqkv_, qkv_dim_, dqr_, q_dim_, T, q_dim_);
    op::copy_rows(d, dqkv_ + q_dim_, qkv_dim_, dkr_, kv_dim_, T, kv_dim_);
    op::copy_rows(d, dqkv_ + q_dim_ + kv_dim_, qkv_dim_, dv_, kv_dim_, T, kv_dim_);
    op::zero(d, dxn_, TC);
    op::matmul_backward(d, dxn_, g.wqkv, g.bqkv, dqkv_, a.xn1, w.wqkv, T, C, qkv_dim_);
    op::rmsnorm_backward(d, dres_, g.ln1, dxn_, a.x_in, w.ln1, a.rstd1, T, C);
  }
  op::embedding_backward(d, embed(G), dres_, b.tokens, T, C, cfg_.vocab_size);
  ++pending_;
  return {hr.loss, hr.clipped};
}

void Qwen2::zero_grad() {
  if (!grads_.empty()) op::zero(device_, grads_.data(), flat_size_);
  pending_ = 0;
}

double Qwen2::optimizer_step(const AdamWConfig& o) {
  WS_CHECK_RANGE(pending_ > 0, "optimizer step without gradients: call accumulate first");
  WS_CHECK_RANGE(o.lr >= 0 && std::isfinite(o.lr), "lr must be >= 0, got ", o.lr);
  ensure_train_state();
  double norm = std::sqrt(op::grad_norm_sq(device_, grads_.data(), flat_size_));
  if (!std::isfinite(norm)) {
    zero_grad();
    throw ws::Error(ws::str("gradient norm is not finite (", norm, "): update skipped, gradients zeroed"));
  }
  float scale = o.max_grad_norm > 0 ? ws::cpu::clip_scale(norm, o.max_grad_norm) : 1.0f;
  ++step_;
  for (auto& p : params_)
    op::adamw_step(device_, params_buf_.data() + p.offset, grads_.data() + p.offset, m_.data() + p.offset,
                   v_.data() + p.offset, p.numel, o.lr, o.beta1, o.beta2, o.eps, p.decay ? o.weight_decay : 0.0f,
                   (int)step_, scale);
  zero_grad();
  return norm;
}

Generation Qwen2::generate(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o) {
  const Device d = device_;
  const int B = (int)prompts.size();
  WS_CHECK_RANGE(B > 0, "prompts must not be empty");
  WS_CHECK_RANGE(o.max_new_tokens >= 1, "maxNewTokens must be >= 1, got ", o.max_new_tokens);
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size, L = cfg_.num_layers, V = cfg_.vocab_size;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, Dh = cfg_.head_dim;
  std::vector<int32_t> tokens, positions, cu{0};
  int max_prompt = 0;
  for (int s = 0; s < B; ++s) {
    WS_CHECK_RANGE(!prompts[s].empty(), "prompts[", s, "] is empty");
    for (size_t i = 0; i < prompts[s].size(); ++i) {
      tokens.push_back(prompts[s][i]);
      positions.push_back((int32_t)i);
    }
    cu.push_back((int32_t)tokens.size());
    max_prompt = std::max(max_prompt, (int)prompts[s].size());
  }
  const int max_len = max_prompt + o.max_new_tokens;
  PackedBatch pb{tokens.data(), positions.data(), cu.data(), (int)tokens.size(), B};
  check_batch(pb);

  // Buffers for the whole call: the KV cache and one decode step's activations.
  const int64_t cache_n = (int64_t)L * B * max_len * kv_dim_;
  std::vector<float> kcache(cache_n), vcache(cache_n);
  KvCache cache{kcache.data(), vcache.data(), B, max_len};
  std::vector<float> x((size_t)B * C), xn((size_t)B * C), tmp((size_t)B * C), qkv((size_t)B * qkv_dim_),
      q((size_t)B * q_dim_), att((size_t)B * q_dim_), gu((size_t)B * 2 * F), gate((size_t)B * F), up((size_t)B * F),
      h((size_t)B * F), logits((size_t)B * V), scratch(2 * (size_t)V), kr((size_t)B * kv_dim_),
      q_all((size_t)B * q_dim_, 0.0f), att_all((size_t)B * q_dim_);
  float* P = params_buf_.data();

  // Prefill: one packed forward over the prompts fills the cache; logits of each last token.
  ensure_arena(pb.T, false);
  forward(pb, false, &cache);
  for (int s = 0; s < B; ++s) std::memcpy(xn.data() + (size_t)s * C, xnf_ + (size_t)(cu[s + 1] - 1) * C, C * sizeof(float));
  op::matmul_forward(d, logits.data(), xn.data(), head(P), nullptr, B, C, V);

  Generation g;
  g.tokens.assign(B, {});
  g.logprobs.assign(B, {});
  g.stopped.assign(B, false);
  std::vector<Rng> rngs;
  for (int s = 0; s < B; ++s) rngs.emplace_back(o.seed, (uint64_t)s);
  std::vector<int> active(B);
  std::vector<int32_t> lens(B);  // valid cache rows per sequence
  std::vector<int32_t> cur(B), pos(B);
  for (int s = 0; s < B; ++s) { active[s] = s; lens[s] = (int)prompts[s].size(); }
  int nact = B;
  for (int step = 0;; ++step) {
    // Sample one token for each active sequence (logits row i belongs to active[i]).
    int next = 0;
    for (int i = 0; i < nact; ++i) {
      int s = active[i];
      float lp = 0.0f;
      int tok = op::sample_token(d, logits.data() + (size_t)i * V, V, o.temperature, o.top_k, o.top_p,
                                 rngs[s].uniform(), &lp, scratch.data());
      g.tokens[s].push_back(tok);
      g.logprobs[s].push_back(lp);
      bool stop = std::find(o.stop_tokens.begin(), o.stop_tokens.end(), tok) != o.stop_tokens.end();
      if (stop) g.stopped[s] = true;
      if (stop || (int)g.tokens[s].size() >= o.max_new_tokens) continue;
      active[next] = s;
      cur[next] = tok;
      pos[next] = lens[s];
      ++next;
    }
    nact = next;
    if (nact == 0) break;
    // One decode step over the active sequences.
    const int n = nact;
    op::embedding_forward(d, x.data(), cur.data(), embed(P), n, C, V);
    for (int l = 0; l < L; ++l) {
      LayerW w = layer_ptrs(P, l);
      op::rmsnorm_forward(d, xn.data(), nullptr, x.data(), w.ln1, n, C, cfg_.rms_eps);
      op::matmul_forward(d, qkv.data(), xn.data(), w.wqkv, w.bqkv, n, C, qkv_dim_);
      op::copy_rows(d, q.data(), q_dim_, qkv.data(), qkv_dim_, n, q_dim_);
      op::rope_forward(d, q.data(), q.data(), pos.data(), n, Hq, Dh, cfg_.rope_theta);
      op::copy_rows(d, kr.data(), kv_dim_, qkv.data() + q_dim_, qkv_dim_, n, kv_dim_);
      op::rope_forward(d, kr.data(), kr.data(), pos.data(), n, Hkv, Dh, cfg_.rope_theta);
      // The new k/v rows go to each sequence's cache row; the queries to their sequence's slot, so
      // one attention call covers the whole batch (finished sequences keep a stale query, unread).
      const int64_t layer_stride = (int64_t)B * max_len * kv_dim_;
      float* kc = kcache.data() + l * layer_stride;
      float* vc = vcache.data() + l * layer_stride;
      for (int i = 0; i < n; ++i) {
        int s = active[i];
        std::memcpy(kc + ((int64_t)s * max_len + pos[i]) * kv_dim_, kr.data() + (size_t)i * kv_dim_, kv_dim_ * sizeof(float));
        std::memcpy(vc + ((int64_t)s * max_len + pos[i]) * kv_dim_, qkv.data() + (size_t)i * qkv_dim_ + q_dim_ + kv_dim_,
                    kv_dim_ * sizeof(float));
        std::memcpy(q_all.data() + (size_t)s * q_dim_, q.data() + (size_t)i * q_dim_, q_dim_ * sizeof(float));
        lens[s] = pos[i] + 1;
      }
      op::attention_decode(d, att_all.data(), q_all.data(), kc, vc, lens.data(), B, max_len, Hq, Hkv, Dh);
      for (int i = 0; i < n; ++i)
        std::memcpy(att.data() + (size_t)i * q_dim_, att_all.data() + (size_t)active[i] * q_dim_, q_dim_ * sizeof(float));
      op::matmul_forward(d, tmp.data(), att.data(), w.wo, nullptr, n, q_dim_, C);
      op::add_inplace(d, x.data(), tmp.data(), (int64_t)n * C);
      op::rmsnorm_forward(d, xn.data(), nullptr, x.data(), w.ln2, n, C, cfg_.rms_eps);
      op::matmul_forward(d, gu.data(), xn.data(), w.wgu, nullptr, n, C, 2 * F);
      op::copy_rows(d, gate.data(), F, gu.data(), 2 * F, n, F);
      op::copy_rows(d, up.data(), F, gu.data() + F, 2 * F, n, F);
      op::swiglu_forward(d, h.data(), gate.data(), up.data(), (int64_t)n * F);
      op::matmul_forward(d, tmp.data(), h.data(), w.wdown, nullptr, n, F, C);
      op::add_inplace(d, x.data(), tmp.data(), (int64_t)n * C);
    }
    op::rmsnorm_forward(d, xn.data(), nullptr, x.data(), final_norm(P), n, C, cfg_.rms_eps);
    op::matmul_forward(d, logits.data(), xn.data(), head(P), nullptr, n, C, V);
  }
  return g;
}

}  // namespace ws::model
