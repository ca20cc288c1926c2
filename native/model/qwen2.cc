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

std::vector<ParamInfo> Qwen2::layout(const Qwen2Config& cfg, int64_t* flat_size) {
  cfg.validate();
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size;
  const int64_t qd = (int64_t)cfg.num_heads * cfg.head_dim, kvd = (int64_t)cfg.num_kv_heads * cfg.head_dim;
  std::vector<ParamInfo> params;
  int64_t off = 0;
  // Tensors that must sit back to back (q/k/v weights, their biases, gate/up) are added without
  // padding between them; each group starts aligned.
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool pad_before = true) {
    if (pad_before) off = align_up(off);
    int64_t n = 1;
    for (auto d : shape) n *= d;
    params.push_back({name, shape, off, n, shape.size() == 2});
    off += n;
  };
  add("model.embed_tokens.weight", {V, C});
  for (int l = 0; l < cfg.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {C});
    add(p + "self_attn.q_proj.weight", {qd, C});
    add(p + "self_attn.k_proj.weight", {kvd, C}, false);
    add(p + "self_attn.v_proj.weight", {kvd, C}, false);
    add(p + "self_attn.q_proj.bias", {qd});
    add(p + "self_attn.k_proj.bias", {kvd}, false);
    add(p + "self_attn.v_proj.bias", {kvd}, false);
    add(p + "self_attn.o_proj.weight", {C, qd});
    add(p + "post_attention_layernorm.weight", {C});
    add(p + "mlp.gate_proj.weight", {F, C});
    add(p + "mlp.up_proj.weight", {F, C}, false);
    add(p + "mlp.down_proj.weight", {C, F});
  }
  add("model.norm.weight", {C});
  if (!cfg.tied) add("lm_head.weight", {V, C});
  if (flat_size) *flat_size = align_up(off);
  return params;
}

Qwen2::Qwen2(const Qwen2Config& cfg, Device device) : cfg_(cfg), device_(device) {
  params_ = layout(cfg, &flat_size_);
  q_dim_ = cfg.num_heads * cfg.head_dim;
  kv_dim_ = cfg.num_kv_heads * cfg.head_dim;
  qkv_dim_ = q_dim_ + 2 * kv_dim_;
  // The embedding first, then 12 tensors per layer (layer_ptrs), the final norm and the head.
  embed_off_ = params_[0].offset;
  norm_off_ = params_[1 + 12 * (size_t)cfg.num_layers].offset;
  if (!cfg.tied) head_off_ = params_[2 + 12 * (size_t)cfg.num_layers].offset;
  WS_CHECK_RANGE(device_available(device), "device '", device_name(device),
                 "' is not available in this build (the CUDA addon runs it: npm run build:cuda)");
  params_buf_.reset(Device::CPU, flat_size_ * sizeof(float));  // zero pages until written (loading writes once)
  if (device == Device::CPU) {
    W_ = master_ = params_buf_.f32();
  } else {
    dev_params_.reset(device, flat_size_ * sizeof(float));
    dev_weights_.reset(device, flat_size_ * act_bytes(device));
    master_ = dev_params_.f32();
    W_ = dev_weights_.f32();
    sync_to_device();
  }
}

void Qwen2::adopt_master(Buffer& fresh) {
  WS_CHECK(fresh.bytes() == (size_t)flat_size_ * sizeof(float), "adopt_master: buffer of ", fresh.bytes(),
           " bytes for ", flat_size_, " parameters");
  if (device_ == Device::CPU) {
    params_buf_.swap(fresh);
    W_ = master_ = params_buf_.f32();
  } else {
    dev_params_.swap(fresh);
    master_ = dev_params_.f32();
    op::to_compute(device_, W_, master_, flat_size_);
  }
  fresh_ = false;
}

void Qwen2::load_master(const std::function<void(float* dst)>& read) {
  std::unique_lock<std::mutex> guard(lock());
  if (fresh_) {
    read(master_);
    master_written();
    return;
  }
  guard.unlock();
  Buffer staged;
  staged.reset(device_, (size_t)flat_size_ * sizeof(float));
  read(staged.f32());
  guard.lock();
  adopt_master(staged);
}

void Qwen2::master_written() {
  if (device_ != Device::CPU) op::to_compute(device_, W_, master_, flat_size_);
  fresh_ = false;
}

void Qwen2::sync_to_host() {
  if (device_ == Device::CPU) return;
  op::to_host(device_, params_buf_.f32(), master_, flat_size_ * sizeof(float));
  if (!train_state_) return;
  op::to_host(device_, m_.f32(), M_, flat_size_ * sizeof(float));
  op::to_host(device_, v_.f32(), V_, flat_size_ * sizeof(float));
}

void Qwen2::sync_to_device() {
  if (device_ == Device::CPU) return;
  op::to_device(device_, master_, params_buf_.f32(), flat_size_ * sizeof(float));
  op::to_compute(device_, W_, master_, flat_size_);
  if (!train_state_) return;
  op::to_device(device_, M_, m_.f32(), flat_size_ * sizeof(float));
  op::to_device(device_, V_, v_.f32(), flat_size_ * sizeof(float));
}

HostState Qwen2::host_state(bool optimizer) {
  if (optimizer) ensure_train_state();
  sync_to_host();
  return {params_buf_.f32(), train_state_ ? m_.f32() : nullptr, train_state_ ? v_.f32() : nullptr, step_.load()};
}

void Qwen2::read_host(bool optimizer, const std::function<void(const HostState&)>& f) {
  std::lock_guard<std::mutex> guard(lock());
  f(host_state(optimizer));
}

void Qwen2::write_host(bool optimizer, const std::function<void(HostState&)>& f) {
  std::lock_guard<std::mutex> guard(lock());
  HostState h = host_state(optimizer);  // what f leaves alone is written back unchanged
  f(h);
  sync_to_device();
  fresh_ = false;
  if (!optimizer) return;
  step_ = h.step;
  zero_grad_locked();
}

std::vector<float> Qwen2::gradients() {
  std::lock_guard<std::mutex> guard(lock());
  ensure_train_state();
  std::vector<float> g(flat_size_);
  op::to_host(device_, g.data(), G_, flat_size_ * sizeof(float));
  return g;
}

size_t Qwen2::arena_bytes() {
  std::lock_guard<std::mutex> guard(lock());
  return arena_.bytes();
}

const ParamInfo* Qwen2::find_param(const std::string& name) const {
  for (auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

Qwen2::LayerW Qwen2::layer_ptrs(float* base, int l) const {
  // Order of a layer's tensors in params_ (see the constructor): 12 entries after the embedding.
  const ParamInfo* p = &params_[1 + 12 * l];
  return {tensor(base, p[0].offset), tensor(base, p[1].offset), tensor(base, p[4].offset), tensor(base, p[7].offset),
          tensor(base, p[8].offset), tensor(base, p[9].offset), tensor(base, p[11].offset)};
}

void Qwen2::init_random(uint64_t seed, float std) {
  std::lock_guard<std::mutex> guard(lock());
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamInfo& p = params_[i];
    float* x = params_buf_.f32() + p.offset;
    bool norm = p.name.find("norm") != std::string::npos;
    if (p.shape.size() == 2) {
      Rng r(seed, i);
      for (int64_t j = 0; j < p.numel; ++j) x[j] = r.normal() * std;
    } else {
      std::fill(x, x + p.numel, norm ? 1.0f : 0.0f);
    }
  }
  sync_to_device();
  fresh_ = false;
}

void Qwen2::ensure_train_state() {
  if (train_state_) return;
  // Zero pages, allocated at the first step. On the CPU they are faulted in at once by one write
  // pass split across the threads (core/host_memory.h: ops that read before they write, as the
  // gradient adds and AdamW do, would take two faults per page), so the first step costs about
  // what later ones do. On CUDA the host mirrors stay untouched until a save reads them.
  m_.reset(Device::CPU, flat_size_ * sizeof(float));
  v_.reset(Device::CPU, flat_size_ * sizeof(float));
  if (device_ == Device::CPU) {
    grads_.reset(Device::CPU, flat_size_ * sizeof(float));
    G_ = grads_.f32(), M_ = m_.f32(), V_ = v_.f32();
    for (float* b : {G_, M_, V_}) ws::host_prefault(b, flat_size_ * sizeof(float));
  } else {
    dev_grads_.reset(device_, flat_size_ * sizeof(float));
    dev_m_.reset(device_, flat_size_ * sizeof(float));
    dev_v_.reset(device_, flat_size_ * sizeof(float));
    G_ = dev_grads_.f32(), M_ = dev_m_.f32(), V_ = dev_v_.f32();
  }
  train_state_ = true;
}

int Qwen2::head_chunk(const Qwen2Config& cfg, Device device, int T) {
  // At most ~16M logits (64 MiB) of scratch at a time on the CPU, ~64M (384 MiB) on CUDA, where
  // larger chunks keep the logits GEMM efficient.
  const int64_t budget = device == Device::CPU ? int64_t(1) << 24 : int64_t(1) << 26;
  int c = (int)std::clamp<int64_t>(budget / cfg.vocab_size, 16, 1024);
  return std::max(1, std::min(c, T));
}

// Slices one allocation into tensors that start 256 bytes apart at least (the CUDA arena's base
// is 256-aligned, and cuBLASLt's fastest kernels want 256-byte operands: per-token fp32 buffers
// would otherwise shift later tensors off it when T % 64 != 0); with a null base it only measures.
struct Carver {
  uintptr_t base = 0;
  size_t used = 0;
  float* take(int64_t n, int64_t elem_bytes) {
    float* r = reinterpret_cast<float*>(base + used);
    used += (size_t)(n * elem_bytes + 255) / 256 * 256;
    return r;
  }
};

void Qwen2::carve_arena(Carver& c, const Qwen2Config& cfg, Device device, int T, ArenaMode mode, Arena& ar) {
  const bool train = mode != ArenaMode::Infer;
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size, Tn = T, Hq = cfg.num_heads;
  const int64_t qd = Hq * cfg.head_dim, kvd = (int64_t)cfg.num_kv_heads * cfg.head_dim, qkvd = qd + 2 * kvd;
  const int64_t A = act_bytes(device);
  auto act = [&](int64_t n) { return c.take(n, A); };              // activations (bf16 on CUDA)
  auto f32 = [&](int64_t n) { return c.take(n, sizeof(float)); };  // per-token statistics
  // Saved per layer for backward; silu(gate)*up is recomputed there, not kept. With recompute only
  // each layer's input is kept, and one set of activations serves every layer in turn.
  ar.acts.assign(mode == ArenaMode::Train ? cfg.num_layers : 1, LayerActs{});
  ar.x_saved.assign(mode == ArenaMode::Recompute ? cfg.num_layers : 0, nullptr);
  for (auto& x : ar.x_saved) x = act(Tn * C);
  for (auto& a : ar.acts) {
    a.x_in = mode == ArenaMode::Recompute ? nullptr : act(Tn * C);
    a.rstd1 = f32(Tn);
    a.xn1 = act(Tn * C);
    a.q = act(Tn * qd);
    a.k = act(Tn * kvd);
    a.v = act(Tn * kvd);
    a.att = act(Tn * qd);
    a.lse = f32(Tn * Hq);
    a.x_mid = act(Tn * C);
    a.rstd2 = f32(Tn);
    a.xn2 = act(Tn * C);
    a.gate = act(Tn * F);
    a.up = act(Tn * F);
  }
  ar.res_last = act(Tn * C);
  ar.rstdf = f32(Tn);
  ar.xnf = act(Tn * C);
  ar.tmp = act(Tn * C);
  ar.h = act(Tn * F);
  ar.qkv = act(Tn * qkvd);
  ar.gu = act(Tn * 2 * F);
  // The CUDA head keeps its chunk of logits in its own workspace.
  ar.head_scratch = device == Device::CPU ? f32((int64_t)head_chunk(cfg, device, T) * cfg.vocab_size) : nullptr;
  if (train) {
    ar.dres = act(Tn * C);
    ar.dxn = act(Tn * C);
    ar.datt = act(Tn * qd);
    ar.dq = act(Tn * qd);
    ar.dqr = act(Tn * qd);
    ar.dk = act(Tn * kvd);
    ar.dv = act(Tn * kvd);
    ar.dkr = act(Tn * kvd);
    ar.dqkv = act(Tn * qkvd);
    ar.dh = act(Tn * F);
    ar.dgate = act(Tn * F);
    ar.dup = act(Tn * F);
    ar.dgu = act(Tn * 2 * F);
  }
}

size_t Qwen2::measure_arena(const Qwen2Config& cfg, Device device, int T, bool train, bool recompute) {
  cfg.validate();
  WS_CHECK_RANGE(T >= 1, "measure_arena: T must be >= 1, got ", T);
  Carver measure;
  Arena ar;
  carve_arena(measure, cfg, device, T,
              !train      ? ArenaMode::Infer
              : recompute ? ArenaMode::Recompute
                          : ArenaMode::Train,
              ar);
  return measure.used;
}

// generate()'s device buffers: the KV cache (activation type: bf16 on CUDA) and one decoding
// step's activations; logits fp32 for sampling.
struct GenBuffers {
  float *kcache, *vcache, *x, *xn, *tmp, *qkv, *q, *att, *gu, *gate, *up, *h, *kr, *q_all, *att_all, *logits;
};

static void carve_generation(Carver& c, const Qwen2Config& cfg, Device d, int B, int max_len, GenBuffers& g) {
  const int64_t C = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size, Bn = B;
  const int64_t qd = (int64_t)cfg.num_heads * cfg.head_dim, kvd = (int64_t)cfg.num_kv_heads * cfg.head_dim;
  const int64_t A = act_bytes(d);
  const int64_t cache_n = (int64_t)cfg.num_layers * Bn * max_len * kvd;
  g.kcache = c.take(cache_n, A);
  g.vcache = c.take(cache_n, A);
  g.x = c.take(Bn * C, A);
  g.xn = c.take(Bn * C, A);
  g.tmp = c.take(Bn * C, A);
  g.qkv = c.take(Bn * (qd + 2 * kvd), A);
  g.q = c.take(Bn * qd, A);
  g.att = c.take(Bn * qd, A);
  g.gu = c.take(Bn * 2 * F, A);
  g.gate = c.take(Bn * F, A);
  g.up = c.take(Bn * F, A);
  g.h = c.take(Bn * F, A);
  g.kr = c.take(Bn * kvd, A);
  g.q_all = c.take(Bn * qd, A);
  g.att_all = c.take(Bn * qd, A);
  g.logits = c.take(Bn * V, sizeof(float));
}

size_t Qwen2::measure_generation(const Qwen2Config& cfg, Device device, int B, int max_len) {
  cfg.validate();
  WS_CHECK_RANGE(B >= 1, "measure_generation: B must be >= 1, got ", B);
  WS_CHECK_RANGE(max_len >= 1, "measure_generation: max_len must be >= 1, got ", max_len);
  WS_CHECK_RANGE((double)cfg.num_layers * B * max_len * cfg.num_kv_heads * cfg.head_dim < 0x1p60,
                 "measure_generation: a KV cache of ", B, " sequences of ", max_len, " rows is beyond any memory");
  Carver measure;
  GenBuffers g;
  carve_generation(measure, cfg, device, B, max_len, g);
  return measure.used;
}

void Qwen2::ensure_arena(int T, ArenaMode mode) {
  // Any arena serves inference; a training step needs one of its own mode (with or without recompute).
  if (T <= cap_T_ && (mode == ArenaMode::Infer || mode == cap_mode_)) return;
  // A new arena is for this call's mode only, and inherits the old length only in the same mode:
  // a training arena as long as an earlier inference pass (or the reverse) could be many times
  // the memory either needs. An inference pass longer than the training arena drops it; the next
  // training step makes it again.
  const int newT = mode == cap_mode_ ? std::max(T, cap_T_) : T;
  arena_.release();
  cap_T_ = 0, cap_mode_ = ArenaMode::Infer;  // an allocation that throws leaves no arena behind, not a dangling one
  const bool train = mode != ArenaMode::Infer;
  arena_.reset(device_, measure_arena(cfg_, device_, newT, train, mode == ArenaMode::Recompute));
  Carver c{reinterpret_cast<uintptr_t>(arena_.f32())};
  carve_arena(c, cfg_, device_, newT, mode, ar_);
  targets_.assign(newT, -1);
  cap_T_ = newT;
  cap_mode_ = mode;
}

Qwen2::LayerActs Qwen2::acts_for(int l) const {
  switch (cap_mode_) {
    case ArenaMode::Train:
      return ar_.acts[l];
    case ArenaMode::Recompute: {
      LayerActs a = ar_.acts[0];
      a.x_in = ar_.x_saved[l];
      return a;
    }
    default:
      return ar_.acts[0];
  }
}

void Qwen2::stage_begin(size_t bytes) {
  stage_used_ = 0;
  if (device_ != Device::CPU && bytes > stage_.bytes()) stage_.reset(device_, bytes);
}

template <class T>
T* Qwen2::stage(const T* host, int64_t n) {
  if (device_ == Device::CPU || !host) return const_cast<T*>(host);
  const size_t bytes = (size_t)n * sizeof(T);
  WS_CHECK(stage_used_ + bytes <= stage_.bytes(), "staging buffer: internal size mismatch");
  T* r = reinterpret_cast<T*>(reinterpret_cast<char*>(stage_.f32()) + stage_used_);
  op::to_device(device_, r, host, bytes);
  stage_used_ += (bytes + 63) / 64 * 64;
  return r;
}

template <class T>
void Qwen2::unstage(T* host, const T* staged, int64_t n) {
  if (device_ != Device::CPU && host) op::to_host(device_, host, staged, (size_t)n * sizeof(T));
}

// Staging bytes for a batch of T tokens and S sequences with the objective's vectors and logp.
static size_t batch_stage_bytes(int T, int S) { return ((size_t)T * 4 + 64) * 8 + (size_t)(S + 1) * 4 + 64; }

PackedBatch Qwen2::stage_batch(const PackedBatch& b) {
  return {stage(b.tokens, b.T), stage(b.positions, b.T), stage(b.cu_seqlens, b.num_seqs + 1), b.T, b.num_seqs};
}

ws::cpu::HeadObjective Qwen2::stage_objective(const ws::cpu::HeadObjective& o, int T) {
  ws::cpu::HeadObjective r = o;
  r.weights = stage(o.weights, T);
  r.advantages = stage(o.advantages, T);
  r.old_logp = stage(o.old_logp, T);
  r.ref_logp = stage(o.ref_logp, T);
  return r;
}

void Qwen2::check_batch(const PackedBatch& b) const {
  WS_CHECK_RANGE(b.T > 0, "batch: tokens must not be empty");
  WS_CHECK_RANGE(b.num_seqs > 0, "batch: cu_seqlens must hold at least one sequence");
  WS_CHECK_RANGE(b.cu_seqlens[0] == 0 && b.cu_seqlens[b.num_seqs] == b.T,
                 "batch: cu_seqlens must start at 0 and end at ", b.T);
  for (int s = 0; s < b.num_seqs; ++s)
    WS_CHECK_RANGE(b.cu_seqlens[s + 1] >= b.cu_seqlens[s], "batch: cu_seqlens must be non-decreasing (index ", s + 1,
                   ")");
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

void Qwen2::forward(const PackedBatch& b, const PackedBatch& db, bool train, const KvCache* cache) {
  const Device d = device_;
  const int T = b.T, C = cfg_.hidden_size, L = cfg_.num_layers;
  float* P = W_;
  op::embedding_forward(d, acts_for(0).x_in, db.tokens, embed(P), T, C, cfg_.vocab_size);
  for (int l = 0; l < L; ++l)
    layer_forward(b, db, l, acts_for(l), l + 1 < L ? acts_for(l + 1).x_in : ar_.res_last, train, cache);
  op::rmsnorm_forward(d, ar_.xnf, ar_.rstdf, ar_.res_last, final_norm(P), T, C, cfg_.rms_eps);
}

void Qwen2::layer_forward(const PackedBatch& b, const PackedBatch& db, int l, const LayerActs& a, float* out,
                          bool train, const KvCache* cache) {
  const Device d = device_;
  const int T = b.T, C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, D = cfg_.head_dim;
  LayerW w = layer_ptrs(W_, l);
  // attention block
  op::rmsnorm_forward(d, a.xn1, a.rstd1, a.x_in, w.ln1, T, C, cfg_.rms_eps);
  op::matmul_forward(d, ar_.qkv, a.xn1, w.wqkv, w.bqkv, T, C, qkv_dim_);
  op::copy_rows(d, a.q, q_dim_, ar_.qkv, qkv_dim_, T, q_dim_);
  op::copy_rows(d, a.k, kv_dim_, at(d, ar_.qkv, q_dim_), qkv_dim_, T, kv_dim_);
  op::copy_rows(d, a.v, kv_dim_, at(d, ar_.qkv, q_dim_ + kv_dim_), qkv_dim_, T, kv_dim_);
  op::rope_forward(d, a.q, a.q, db.positions, T, Hq, D, cfg_.rope_theta);
  op::rope_forward(d, a.k, a.k, db.positions, T, Hkv, D, cfg_.rope_theta);
  if (cache) {
    const int64_t layer_stride = (int64_t)cache->B * cache->max_len * kv_dim_;
    for (int s = 0; s < b.num_seqs; ++s) {
      int a0 = b.cu_seqlens[s], n = b.cu_seqlens[s + 1] - a0;
      const int64_t row = l * layer_stride + (int64_t)(cache->first_seq + s) * cache->max_len * kv_dim_;
      op::copy(d, at(d, cache->k, row), at(d, a.k, (int64_t)a0 * kv_dim_), (int64_t)n * kv_dim_);
      op::copy(d, at(d, cache->v, row), at(d, a.v, (int64_t)a0 * kv_dim_), (int64_t)n * kv_dim_);
    }
  }
  op::attention_forward(d, a.att, train ? a.lse : nullptr, a.q, a.k, a.v, db.cu_seqlens, b.num_seqs, T, Hq, Hkv, D);
  op::matmul_forward(d, ar_.tmp, a.att, w.wo, nullptr, T, q_dim_, C);
  op::copy(d, a.x_mid, a.x_in, (int64_t)T * C);
  op::add_inplace(d, a.x_mid, ar_.tmp, (int64_t)T * C);
  // MLP block
  op::rmsnorm_forward(d, a.xn2, a.rstd2, a.x_mid, w.ln2, T, C, cfg_.rms_eps);
  op::matmul_forward(d, ar_.gu, a.xn2, w.wgu, nullptr, T, C, 2 * F);
  op::copy_rows(d, a.gate, F, ar_.gu, 2 * F, T, F);
  op::copy_rows(d, a.up, F, at(d, ar_.gu, F), 2 * F, T, F);
  if (!out) return;
  op::swiglu_forward(d, ar_.h, a.gate, a.up, (int64_t)T * F);
  op::matmul_forward(d, ar_.tmp, ar_.h, w.wdown, nullptr, T, F, C);
  op::copy(d, out, a.x_mid, (int64_t)T * C);
  op::add_inplace(d, out, ar_.tmp, (int64_t)T * C);
}

void Qwen2::logprobs(const PackedBatch& b, float temperature, float* logp) {
  std::lock_guard<std::mutex> guard(lock());
  check_batch(b);
  WS_CHECK_RANGE(temperature > 0 && std::isfinite(temperature), "temperature must be > 0, got ", temperature);
  ensure_arena(b.T, ArenaMode::Infer);
  make_targets(b);
  stage_begin(batch_stage_bytes(b.T, b.num_seqs));
  const PackedBatch db = stage_batch(b);
  const int32_t* targets = stage(targets_.data(), b.T);
  float* dlogp = stage(logp, b.T);
  forward(b, db, false, nullptr);
  ws::cpu::HeadObjective obj;
  obj.temperature = temperature;
  op::fused_head(device_, dlogp, nullptr, nullptr, ar_.xnf, head(W_), targets, b.T, cfg_.hidden_size, cfg_.vocab_size,
                 obj, head_chunk(b.T), ar_.head_scratch);
  unstage(logp, dlogp, b.T);
}

StepResult Qwen2::accumulate(const PackedBatch& b, const ws::cpu::HeadObjective& obj, float* logp, bool recompute) {
  std::lock_guard<std::mutex> guard(lock());
  check_batch(b);
  WS_CHECK_RANGE(obj.normaliser > 0 && std::isfinite(obj.normaliser), "normaliser must be > 0, got ", obj.normaliser);
  WS_CHECK_RANGE(obj.temperature > 0 && std::isfinite(obj.temperature), "temperature must be > 0, got ",
                 obj.temperature);
  ensure_train_state();
  ensure_arena(b.T, recompute ? ArenaMode::Recompute : ArenaMode::Train);
  make_targets(b);
  stage_begin(batch_stage_bytes(b.T, b.num_seqs));
  const PackedBatch db = stage_batch(b);
  const int32_t* targets = stage(targets_.data(), b.T);
  const ws::cpu::HeadObjective dobj = stage_objective(obj, b.T);
  float* dlogp = stage(logp, b.T);
  forward(b, db, true, nullptr);

  const Device d = device_;
  const int T = b.T, C = cfg_.hidden_size, F = cfg_.intermediate_size, L = cfg_.num_layers;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, D = cfg_.head_dim;
  float* P = W_;
  float* G = G_;
  const int64_t TC = (int64_t)T * C;

  op::zero(d, ar_.dxn, TC);
  ws::cpu::HeadResult hr = op::fused_head(d, dlogp, ar_.dxn, head(G), ar_.xnf, head(P), targets, T, C, cfg_.vocab_size,
                                          dobj, head_chunk(T), ar_.head_scratch);
  unstage(logp, dlogp, T);
  op::zero(d, ar_.dres, TC);
  op::rmsnorm_backward(d, ar_.dres, final_norm(G), ar_.dxn, ar_.res_last, final_norm(P), ar_.rstdf, T, C);
  for (int l = L - 1; l >= 0; --l) {
    LayerActs a = acts_for(l);
    // recompute: layer l's activations again from its saved input (the last layer's are still there)
    if (recompute && l + 1 < L) layer_forward(b, db, l, a, nullptr, true, nullptr);
    LayerW w = layer_ptrs(P, l), g = layer_ptrs(G, l);
    // MLP block: out = x_mid + down(swiglu(gate, up)); dres is d out and becomes d x_mid.
    op::swiglu_forward(d, ar_.h, a.gate, a.up, (int64_t)T * F);  // recomputed: cheaper than keeping it
    op::zero(d, ar_.dh, (int64_t)T * F);
    op::matmul_backward(d, ar_.dh, g.wdown, nullptr, ar_.dres, ar_.h, w.wdown, T, F, C);
    op::zero(d, ar_.dgate, (int64_t)T * F);
    op::zero(d, ar_.dup, (int64_t)T * F);
    op::swiglu_backward(d, ar_.dgate, ar_.dup, ar_.dh, a.gate, a.up, (int64_t)T * F);
    op::copy_rows(d, ar_.dgu, 2 * F, ar_.dgate, F, T, F);
    op::copy_rows(d, at(d, ar_.dgu, F), 2 * F, ar_.dup, F, T, F);
    op::zero(d, ar_.dxn, TC);
    op::matmul_backward(d, ar_.dxn, g.wgu, nullptr, ar_.dgu, a.xn2, w.wgu, T, C, 2 * F);
    op::rmsnorm_backward(d, ar_.dres, g.ln2, ar_.dxn, a.x_mid, w.ln2, a.rstd2, T, C);
    // attention block: x_mid = x_in + o(att); dres becomes d x_in.
    op::zero(d, ar_.datt, (int64_t)T * q_dim_);
    op::matmul_backward(d, ar_.datt, g.wo, nullptr, ar_.dres, a.att, w.wo, T, q_dim_, C);
    op::zero(d, ar_.dq, (int64_t)T * q_dim_);
    op::zero(d, ar_.dk, (int64_t)T * kv_dim_);
    op::zero(d, ar_.dv, (int64_t)T * kv_dim_);
    op::attention_backward(d, ar_.dq, ar_.dk, ar_.dv, ar_.datt, a.q, a.k, a.v, a.att, a.lse, db.cu_seqlens, b.num_seqs,
                           T, Hq, Hkv, D);
    op::zero(d, ar_.dqr, (int64_t)T * q_dim_);
    op::zero(d, ar_.dkr, (int64_t)T * kv_dim_);
    op::rope_backward(d, ar_.dqr, ar_.dq, db.positions, T, Hq, D, cfg_.rope_theta);
    op::rope_backward(d, ar_.dkr, ar_.dk, db.positions, T, Hkv, D, cfg_.rope_theta);
    op::copy_rows(d, ar_.dqkv, qkv_dim_, ar_.dqr, q_dim_, T, q_dim_);
    op::copy_rows(d, at(d, ar_.dqkv, q_dim_), qkv_dim_, ar_.dkr, kv_dim_, T, kv_dim_);
    op::copy_rows(d, at(d, ar_.dqkv, q_dim_ + kv_dim_), qkv_dim_, ar_.dv, kv_dim_, T, kv_dim_);
    op::zero(d, ar_.dxn, TC);
    op::matmul_backward(d, ar_.dxn, g.wqkv, g.bqkv, ar_.dqkv, a.xn1, w.wqkv, T, C, qkv_dim_);
    op::rmsnorm_backward(d, ar_.dres, g.ln1, ar_.dxn, a.x_in, w.ln1, a.rstd1, T, C);
  }
  op::embedding_backward(d, embed(G), ar_.dres, db.tokens, T, C, cfg_.vocab_size);
  ++pending_;
  return {hr.loss, hr.clipped};
}

void Qwen2::zero_grad() {
  std::lock_guard<std::mutex> guard(lock());
  zero_grad_locked();
}

void Qwen2::zero_grad_locked() {
  if (train_state_) op::zero(device_, G_, flat_size_, sizeof(float));
  pending_ = 0;
}

double Qwen2::optimizer_step(const AdamWConfig& o) {
  std::lock_guard<std::mutex> guard(lock());
  WS_CHECK_RANGE(pending_ > 0, "optimizer step without gradients: call accumulate first");
  WS_CHECK_RANGE(o.lr >= 0 && std::isfinite(o.lr), "lr must be >= 0, got ", o.lr);
  ensure_train_state();
  double norm = std::sqrt(op::grad_norm_sq(device_, G_, flat_size_));
  if (!std::isfinite(norm)) {
    zero_grad_locked();
    throw ws::Error(ws::str("gradient norm is not finite (", norm, "): update skipped, gradients zeroed"));
  }
  float scale = o.max_grad_norm > 0 ? ws::cpu::clip_scale(norm, o.max_grad_norm) : 1.0f;
  ++step_;
  fresh_ = false;
  std::vector<op::AdamWSlice> slices;
  slices.reserve(params_.size());
  for (auto& p : params_)
    slices.push_back({master_ + p.offset, at(device_, W_, p.offset), G_ + p.offset, M_ + p.offset, V_ + p.offset,
                      p.numel, p.decay ? o.weight_decay : 0.0f});
  op::adamw_step(device_, slices, o.lr, o.beta1, o.beta2, o.eps, (int)step_, scale);
  zero_grad_locked();
  return norm;
}

// One generate() call: its device buffers (carve_generation), the sampler's streams, and where
// each sequence stands. Row i of the logits and of a decoding step belongs to sequence active[i].
struct GenState {
  int B = 0, max_len = 0, longest = 0;  // prompts; cache rows per sequence; the longest prompt
  std::vector<int32_t> limit;           // new tokens allowed per sequence
  Buffer buf;
  GenBuffers t;
  KvCache cache{};
  std::vector<float> scratch;  // the CPU sampler's
  size_t step_mark = 0;        // staging used by the prefill; each step stages after it
  std::vector<Rng> rngs;
  std::vector<int32_t> active, lens, cur, pos, sampled, kv_row;  // lens: valid cache rows
  std::vector<float> u, lps;
  StepTokens st;
};

Generation Qwen2::generate(const PackedBatch& prompts, const GenerateOptions& o) {
  std::lock_guard<std::mutex> guard(lock());
  const int B = prompts.num_seqs;
  WS_CHECK_RANGE(B > 0, "prompts must not be empty");
  WS_CHECK_RANGE(o.max_new_tokens >= 1, "maxNewTokens must be >= 1, got ", o.max_new_tokens);
  WS_CHECK_RANGE(o.vocab_limit >= 0 && o.vocab_limit <= cfg_.vocab_size, "vocabLimit must be in [1, ", cfg_.vocab_size,
                 "], got ", o.vocab_limit);
  WS_CHECK_RANGE(o.max_new_per_seq.empty() || (int)o.max_new_per_seq.size() == B,
                 "maxNewTokens: ", o.max_new_per_seq.size(), " limits for ", B, " prompts");
  GenState g;
  g.B = B;
  g.limit.assign(B, o.max_new_tokens);
  for (int s = 0; s < (int)o.max_new_per_seq.size(); ++s) {
    WS_CHECK_RANGE(o.max_new_per_seq[s] >= 1 && o.max_new_per_seq[s] <= o.max_new_tokens, "maxNewTokens[", s,
                   "] must be in [1, ", o.max_new_tokens, "], got ", o.max_new_per_seq[s]);
    g.limit[s] = o.max_new_per_seq[s];
  }
  const int32_t* cu = prompts.cu_seqlens;
  for (int s = 0; s < B; ++s) {
    const int len = cu[s + 1] - cu[s];
    WS_CHECK_RANGE(len > 0, "prompts[", s, "] is empty");
    g.longest = std::max(g.longest, len);
    g.max_len = std::max(g.max_len, len + g.limit[s]);
  }
  check_batch(prompts);
  for (int s = 0; s < B; ++s)
    for (int t = cu[s]; t < cu[s + 1]; ++t)
      WS_CHECK_RANGE(prompts.positions[t] == t - cu[s], "prompts: positions[", t, "] = ", prompts.positions[t],
                     ", expected ", t - cu[s], " (each prompt counts from 0)");

  g.buf.reset(device_, measure_generation(cfg_, device_, B, g.max_len));
  Carver c{reinterpret_cast<uintptr_t>(g.buf.f32())};
  carve_generation(c, cfg_, device_, B, g.max_len, g.t);
  g.cache = {g.t.kcache, g.t.vcache, B, g.max_len, 0};
  g.scratch.assign(device_ == Device::CPU ? 2 * (size_t)cfg_.vocab_size : 0, 0.0f);
  prefill(g, prompts);

  Generation out;
  out.tokens.assign(B, {});
  out.logprobs.assign(B, {});
  out.finish.assign(B, Finish::Length);
  for (int s = 0; s < B; ++s) g.rngs.emplace_back(o.seed, o.first_stream + (uint64_t)s);
  g.active.resize(B);
  g.lens.resize(B);
  g.cur.resize(B), g.pos.resize(B), g.sampled.resize(B), g.kv_row.resize(B);
  g.u.resize(B), g.lps.resize(B);
  for (int s = 0; s < B; ++s) {
    g.active[s] = s;
    g.lens[s] = cu[s + 1] - cu[s];
  }
  for (int n = B; n > 0;) {
    n = sample_step(g, n, o, out);
    if (n > 0) decode_step(g, n);
  }
  return out;
}

// Packed forward passes over groups of whole prompts fill the cache and give the logits of each
// prompt's last token. A group holds at most `group_T` tokens: the length of the arena the model
// already has (say, its training micro-batch), at least 4096 and the longest prompt, so many
// prompts never make the arena as long as all of them together.
void Qwen2::prefill(GenState& g, const PackedBatch& pb) {
  const Device d = device_;
  const int B = g.B, C = cfg_.hidden_size;
  const int32_t* cu = pb.cu_seqlens;
  const int group_T = std::min(pb.T, std::max({g.longest, cap_T_, 4096}));
  std::vector<int> group_start{0};  // prompts [group_start[k], group_start[k + 1])
  int max_group_T = 0, max_group_B = 0;
  for (int s = 1, first = 0; s <= B; ++s) {  // close the group before prompt s when s would overflow it
    if (s < B && cu[s + 1] - cu[first] <= group_T) continue;
    max_group_T = std::max(max_group_T, cu[s] - cu[first]);
    max_group_B = std::max(max_group_B, s - first);
    group_start.push_back(s);
    first = s;
  }
  ensure_arena(max_group_T, ArenaMode::Infer);
  stage_begin(batch_stage_bytes(max_group_T, max_group_B) + (size_t)B * 4 * 8 + 64 * 8);
  for (size_t k = 0; k + 1 < group_start.size(); ++k) {
    const int s0 = group_start[k], s1 = group_start[k + 1], t0 = cu[s0];
    std::vector<int32_t> gcu(s1 - s0 + 1);
    for (int s = s0; s <= s1; ++s) gcu[s - s0] = cu[s] - t0;
    PackedBatch gb{pb.tokens + t0, pb.positions + t0, gcu.data(), cu[s1] - t0, s1 - s0};
    g.cache.first_seq = s0;
    stage_used_ = 0;
    forward(gb, stage_batch(gb), false, &g.cache);
    for (int s = s0; s < s1; ++s)
      op::copy(d, at(d, g.t.xn, (int64_t)s * C), at(d, ar_.xnf, (int64_t)(cu[s + 1] - 1 - t0) * C), C);
  }
  op::logits_forward(d, g.t.logits, g.t.xn, head(W_), B, C, cfg_.vocab_size);
  g.step_mark = stage_used_;
}

// Samples one token for each of the n active sequences (logits row i belongs to active[i]) on
// the device; only the tokens and their logprobs come back. A sequence ends on a stop token, its
// limit, or its cancel flag; the others are compacted to the front of `active`, with the token,
// position and cache row of their next decoding step. Returns how many go on.
int Qwen2::sample_step(GenState& g, int n, const GenerateOptions& o, Generation& out) {
  const Device d = device_;
  stage_used_ = g.step_mark;
  for (int i = 0; i < n; ++i) g.u[i] = g.rngs[g.active[i]].uniform();
  int32_t* dtok = stage(g.sampled.data(), n);
  float* dlp = stage(g.lps.data(), n);
  op::sample_tokens(d, dtok, dlp, g.t.logits, n, cfg_.vocab_size, o.temperature, o.top_k, o.top_p, stage(g.u.data(), n),
                    g.scratch.data(), o.vocab_limit);
  unstage(g.sampled.data(), dtok, n);
  unstage(g.lps.data(), dlp, n);
  int next = 0;
  StepTokens& st = g.st;
  st.seq.clear();
  st.token.clear();
  st.logprob.clear();
  for (int i = 0; i < n; ++i) {
    int s = g.active[i], tok = g.sampled[i];
    if (o.cancel && o.cancel[s].load(std::memory_order_relaxed)) {
      out.finish[s] = Finish::Cancelled;
      continue;
    }
    out.tokens[s].push_back(tok);
    out.logprobs[s].push_back(g.lps[i]);
    st.seq.push_back(s);
    st.token.push_back(tok);
    st.logprob.push_back(g.lps[i]);
    bool stop = std::find(o.stop_tokens.begin(), o.stop_tokens.end(), tok) != o.stop_tokens.end();
    if (stop) out.finish[s] = Finish::Stop;
    if (stop || (int)out.tokens[s].size() >= g.limit[s]) continue;
    g.active[next] = s;
    g.cur[next] = tok;
    g.pos[next] = g.lens[s];
    g.lens[s] = g.pos[next] + 1;  // the new token's k/v go to cache row pos
    g.kv_row[next] = s * g.max_len + g.pos[next];
    ++next;
  }
  if (o.on_step && !st.seq.empty()) o.on_step(st);
  return next;
}

// One decoding step over the n active sequences: their new k/v rows into the cache, attention
// over each one's cache, and the logits of their next token.
void Qwen2::decode_step(GenState& g, int n) {
  const Device d = device_;
  const int B = g.B, C = cfg_.hidden_size, F = cfg_.intermediate_size, L = cfg_.num_layers;
  const int Hq = cfg_.num_heads, Hkv = cfg_.num_kv_heads, Dh = cfg_.head_dim;
  const GenBuffers& t = g.t;
  float* P = W_;
  const int32_t* dcur = stage(g.cur.data(), n);
  const int32_t* dpos = stage(g.pos.data(), n);
  const int32_t* dlens = stage(g.lens.data(), B);
  const int32_t* dslot = stage(g.active.data(), n);
  const int32_t* dkv_row = stage(g.kv_row.data(), n);
  op::embedding_forward(d, t.x, dcur, embed(P), n, C, cfg_.vocab_size);
  for (int l = 0; l < L; ++l) {
    LayerW w = layer_ptrs(P, l);
    op::rmsnorm_forward(d, t.xn, nullptr, t.x, w.ln1, n, C, cfg_.rms_eps);
    op::matmul_forward(d, t.qkv, t.xn, w.wqkv, w.bqkv, n, C, qkv_dim_);
    op::copy_rows(d, t.q, q_dim_, t.qkv, qkv_dim_, n, q_dim_);
    op::rope_forward(d, t.q, t.q, dpos, n, Hq, Dh, cfg_.rope_theta);
    op::copy_rows(d, t.kr, kv_dim_, at(d, t.qkv, q_dim_), qkv_dim_, n, kv_dim_);
    op::rope_forward(d, t.kr, t.kr, dpos, n, Hkv, Dh, cfg_.rope_theta);
    // The new k/v rows go to each sequence's cache row; the queries to their sequence's slot, so
    // one attention call covers the whole batch (finished sequences keep a stale query, unread).
    const int64_t layer_stride = (int64_t)B * g.max_len * kv_dim_;
    float* kc = at(d, t.kcache, l * layer_stride);
    float* vc = at(d, t.vcache, l * layer_stride);
    op::copy_rows_indexed(d, kc, kv_dim_, dkv_row, t.kr, kv_dim_, nullptr, n, kv_dim_);
    op::copy_rows_indexed(d, vc, kv_dim_, dkv_row, at(d, t.qkv, q_dim_ + kv_dim_), qkv_dim_, nullptr, n, kv_dim_);
    op::copy_rows_indexed(d, t.q_all, q_dim_, dslot, t.q, q_dim_, nullptr, n, q_dim_);
    op::attention_decode(d, t.att_all, t.q_all, kc, vc, dlens, B, g.max_len, Hq, Hkv, Dh);
    op::copy_rows_indexed(d, t.att, q_dim_, nullptr, t.att_all, q_dim_, dslot, n, q_dim_);
    op::matmul_forward(d, t.tmp, t.att, w.wo, nullptr, n, q_dim_, C);
    op::add_inplace(d, t.x, t.tmp, (int64_t)n * C);
    op::rmsnorm_forward(d, t.xn, nullptr, t.x, w.ln2, n, C, cfg_.rms_eps);
    op::matmul_forward(d, t.gu, t.xn, w.wgu, nullptr, n, C, 2 * F);
    op::copy_rows(d, t.gate, F, t.gu, 2 * F, n, F);
    op::copy_rows(d, t.up, F, at(d, t.gu, F), 2 * F, n, F);
    op::swiglu_forward(d, t.h, t.gate, t.up, (int64_t)n * F);
    op::matmul_forward(d, t.tmp, t.h, w.wdown, nullptr, n, F, C);
    op::add_inplace(d, t.x, t.tmp, (int64_t)n * C);
  }
  op::rmsnorm_forward(d, t.xn, nullptr, t.x, final_norm(P), n, C, cfg_.rms_eps);
  op::logits_forward(d, t.logits, t.xn, head(P), n, C, cfg_.vocab_size);
}

}  // namespace ws::model
