// Qwen2 (Qwen2, Qwen2.5, Qwen2.5-Math) on the engine's op interface (dispatch.h):
//   x = embed(tokens)
//   per layer: x += o_proj(attn(rope(q), rope(k), v)) with q,k,v = Linear+bias(rmsnorm(x))
//              x += down(silu(gate(rmsnorm(x))) * up(rmsnorm(x)))
//   logits = rmsnorm(x) · W^T, W = lm_head or the embedding (tied)
// Packed batches (tokens, positions, cu_seqlens) as in docs/ARCHITECTURE.md "Packed batches". The model owns four flat
// fp32 buffers laid out alike (parameters, gradients, Adam m, Adam v) and an activation arena sized for the largest
// batch seen; a step allocates nothing once the arena fits the batch. On CUDA all of them live on the GPU, plus a bf16
// copy of the parameters (same offsets) that the forward and backward read; the activations are bf16 (dispatch.h). The
// host keeps a mirror of the parameters and Adam moments for loading, saving and initialisation (sync_to_*). Within a
// layer q/k/v (and gate/up) are stored back to back, so each pair is one matmul, while every tensor keeps its own
// Hugging Face name and shape.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "../cpu/ops.h"
#include "dispatch.h"

namespace ws::model {

struct Qwen2Config {
  int vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  float rms_eps = 1e-6f, rope_theta = 10000.0f;
  bool tied = false;
  void validate() const;  // throws ws::RangeError naming the field
};

struct ParamInfo {
  std::string name;  // Hugging Face tensor name
  std::vector<int64_t> shape;
  int64_t offset = 0, numel = 0;  // in floats, into the flat buffers
  bool decay = false;             // AdamW weight decay applies (matrices; not biases or norm weights)
};

// A packed batch (docs/ARCHITECTURE.md "Packed batches"): sequence s owns tokens [cu_seqlens[s], cu_seqlens[s+1]).
struct PackedBatch {
  const int32_t* tokens = nullptr;
  const int32_t* positions = nullptr;
  const int32_t* cu_seqlens = nullptr;
  int T = 0, num_seqs = 0;
};

struct AdamWConfig {
  float lr = 1e-5f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  float max_grad_norm = 0.0f;  // <= 0: no clipping
};

struct StepResult {
  double loss = 0.0;
  int64_t clipped = 0;
};

// The tokens one decoding step sampled: token[i] (with its logprob) was appended to sequence seq[i].
struct StepTokens {
  std::vector<int32_t> seq, token;
  std::vector<float> logprob;
};

struct GenerateOptions {
  int max_new_tokens = 16;               // limit of every sequence
  std::vector<int32_t> max_new_per_seq;  // empty, or one limit per prompt (each <= max_new_tokens)
  float temperature = 1.0f;              // <= 0: greedy
  int top_k = 0;
  float top_p = 1.0f;
  // Only ids below this are sampled (0: all): the tokenizer's size when the embedding has rows
  // no token uses (every Qwen2.5). The logprobs stay over the whole vocabulary.
  int vocab_limit = 0;
  uint64_t seed = 0;
  // Prompt s samples from stream first_stream + s of the seed: prompts [a, b) of a list generated
  // with first_stream a get the tokens they get in one call over the whole list.
  uint64_t first_stream = 0;
  std::vector<int32_t> stop_tokens;
  // Called (on the generating thread) after every sampling step with the tokens it added.
  std::function<void(const StepTokens&)> on_step;
  // Null, or one flag per prompt that another thread may set: a sequence whose flag is nonzero
  // gets no more tokens and ends as cancelled.
  const std::atomic<uint8_t>* cancel = nullptr;
};

enum class Finish : uint8_t { Length = 0, Stop = 1, Cancelled = 2 };

struct Generation {
  std::vector<std::vector<int32_t>> tokens;  // new tokens per prompt (a stop token included)
  std::vector<std::vector<float>> logprobs;  // log p of each new token under the sampling policy
  std::vector<Finish> finish;                // a stop token, the length limit, or cancelled
};

// generate()'s KV cache: B sequences of max_len rows per layer; batch sequence s of a prefill
// pass goes to cache sequence first_seq + s.
struct KvCache {
  float* k;
  float* v;
  int B;
  int max_len;
  int first_seq;
};

struct Carver;    // qwen2.cc: slices one allocation into the arena's tensors
struct GenState;  // qwen2.cc: one generate() call's buffers and per-sequence state

// The model's host copy of its state, handed to Qwen2::read_host / write_host under the lock.
// On CUDA the three arrays are mirrors of the device buffers, synced around the callback.
struct HostState {
  float* params;     // flat_size() floats, laid out as params()
  float* adam_m;     // Adam first moments, same layout (null: no optimizer state asked or kept)
  float* adam_v;     // Adam second moments, same layout
  int64_t step = 0;  // optimizer updates done
};

class Qwen2 {
 public:
  explicit Qwen2(const Qwen2Config& cfg, Device device = Device::CPU);

  // What a model of this config holds and allocates, measured by the same code the model runs,
  // so callers need no model (and no copy of the arithmetic) to size their batches:
  // the tensors of the flat parameter buffer (flat_size floats, with alignment padding),
  static std::vector<ParamInfo> layout(const Qwen2Config& cfg, int64_t* flat_size);
  // the bytes of the activation arena of one T-token pass (what ensure_arena allocates; train:
  // with what the backward needs, recompute: a training arena that keeps only each layer's input),
  static size_t measure_arena(const Qwen2Config& cfg, Device device, int T, bool train, bool recompute = false);
  // and the bytes generate() allocates for B sequences of max_len cache rows each (KV cache,
  // one decoding step's activations, fp32 logits), besides the arena of its prefill.
  static size_t measure_generation(const Qwen2Config& cfg, Device device, int B, int max_len);

  // Fixed at construction: read without the lock.
  const Qwen2Config& config() const { return cfg_; }
  Device device() const { return device_; }
  const std::vector<ParamInfo>& params() const { return params_; }
  const ParamInfo* find_param(const std::string& name) const;
  int64_t flat_size() const { return flat_size_; }
  // Every call below takes the model's lock (lock()): one computation at a time per model, and
  // one at a time across all CUDA models, which share the CUDA backend's process-wide state (the
  // default stream, the workspace slots, the cuBLASLt handle and plan cache): a GRPO policy and
  // its reference on one GPU take turns. The two counters are atomics, read without waiting.
  int64_t pending_micro_batches() const { return pending_.load(); }
  int64_t step_count() const { return step_.load(); }

  // f(state) runs on the host copy of the parameters, synced from the device before; write_host
  // syncs it back after. With `optimizer` the state holds the Adam moments too (allocated, zero,
  // on first use; else they are null when no training has allocated them), and write_host also
  // sets the step count from it and drops accumulated gradients. Loading and saving go through
  // these (qwen2_io.cc).
  void read_host(bool optimizer, const std::function<void(const HostState&)>& f);
  void write_host(bool optimizer, const std::function<void(HostState&)>& f);

  // Sets the fp32 master weights: read(dst) writes all flat_size() of them to dst, on the model's
  // device. A fresh model (no weights yet: no init_random, load or optimizer step) is written in
  // place, under the lock; one that holds weights gets a second buffer, read without the lock,
  // that replaces the parameters under it only once read() returned (a throw changes nothing).
  void load_master(const std::function<void(float* dst)>& read);

  // Random init as Transformers does: matrices N(0, std), biases 0, norm weights 1.
  void init_random(uint64_t seed, float std);

  // logp[t] = log p(tokens[t+1] | tokens of its sequence up to t) at the given temperature;
  // 0 at the last token of each sequence. No activations kept.
  void logprobs(const PackedBatch& b, float temperature, float* logp);

  // Forward + backward of the objective (ws::cpu::HeadObjective, aligned to the targets t ->
  // tokens[t+1]); ADDS the gradients into the gradient buffer (accumulation across calls).
  // logp (may be null) receives the per-target logprobs. recompute (activation checkpointing):
  // the forward keeps only each layer's input, and the backward recomputes one layer's
  // activations at a time from it; the gradients are the same (the same ops on the same inputs).
  StepResult accumulate(const PackedBatch& b, const ws::cpu::HeadObjective& obj, float* logp, bool recompute = false);
  // Global grad norm (before clipping), clip, AdamW on every tensor, zero the gradients, step++.
  // Throws when the gradient is not finite (the gradients are zeroed, parameters untouched).
  double optimizer_step(const AdamWConfig& opt);
  void zero_grad();
  // Bytes of the activation arena (kept between calls; grows with the longest pass).
  size_t arena_bytes();
  // A copy of the accumulated gradients (flat layout; copied from the device on CUDA).
  std::vector<float> gradients();

  // Samples completions of the prompts, a packed batch (positions 0, 1, ... in each prompt).
  Generation generate(const PackedBatch& prompts, const GenerateOptions& opt);

 private:
  struct LayerW {  // pointers into a flat buffer (params or grads)
    float *ln1, *wqkv, *bqkv, *wo, *ln2, *wgu, *wdown;
  };
  struct LayerActs {
    float *x_in, *rstd1, *xn1, *q, *k, *v, *att, *lse, *x_mid, *rstd2, *xn2, *gate, *up;
  };
  // What the arena holds: one layer's activations (inference), every layer's (training), or every
  // layer's input and one layer's activations, recomputed in the backward (training, recompute).
  enum class ArenaMode : uint8_t { Infer, Train, Recompute };
  // The activation arena's tensors (carve_arena): saved per layer (one set outside training and
  // with recompute), the shared forward scratch, the head's logits chunk (CPU) and the backward
  // scratch (training). With recompute, x_saved[l] is layer l's input and acts[0] its activations.
  struct Arena {
    std::vector<LayerActs> acts;
    std::vector<float*> x_saved;
    float *res_last = nullptr, *rstdf = nullptr, *xnf = nullptr, *head_scratch = nullptr;
    float *qkv = nullptr, *gu = nullptr, *tmp = nullptr, *h = nullptr;
    float *dres = nullptr, *dxn = nullptr, *datt = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr;
    float *dqr = nullptr, *dkr = nullptr, *dqkv = nullptr, *dh = nullptr, *dgate = nullptr, *dup = nullptr,
          *dgu = nullptr;
  };
  static void carve_arena(Carver& c, const Qwen2Config& cfg, Device device, int T, ArenaMode mode, Arena& a);
  static int head_chunk(const Qwen2Config& cfg, Device device, int T);

  // Tensors of a flat buffer: W_ (compute weights, the device's activation type) or an fp32 one.
  float* tensor(float* base, int64_t offset) const { return base == W_ ? at(device_, base, offset) : base + offset; }
  LayerW layer_ptrs(float* base, int l) const;
  float* embed(float* base) const { return tensor(base, embed_off_); }
  float* final_norm(float* base) const { return tensor(base, norm_off_); }
  float* head(float* base) const { return tensor(base, cfg_.tied ? embed_off_ : head_off_); }

  std::mutex& lock() { return device_ == Device::CUDA ? cuda_mutex() : mu_; }
  static std::mutex& cuda_mutex() {
    static std::mutex m;
    return m;
  }
  // The unlocked bodies of the public calls (callers hold lock()).
  void sync_to_host();
  void sync_to_device();
  HostState host_state(bool optimizer);
  void master_written();           // the compute copy (CUDA) from master_; ends fresh_
  void adopt_master(Buffer& buf);  // buf becomes the master weights; the old buffer goes back in buf
  void zero_grad_locked();
  void ensure_train_state();
  void ensure_arena(int T, ArenaMode mode);
  LayerActs acts_for(int l) const;
  // Runs the layers over the batch; leaves the final normed hidden in ar_.xnf. With a cache, the
  // rotated k and v of token i of sequence s are stored at cache row (s, i).
  // b is the host batch, db the same batch staged on the device (stage()).
  void forward(const PackedBatch& b, const PackedBatch& db, bool train, const KvCache* cache);
  // Layer l over a.x_in: fills a's activations (lse when train) and, when out is not null, writes
  // the layer's output there (without out it stops at the MLP's gate and up, all the backward reads).
  void layer_forward(const PackedBatch& b, const PackedBatch& db, int l, const LayerActs& a, float* out, bool train,
                     const KvCache* cache);
  void check_batch(const PackedBatch& b) const;
  void make_targets(const PackedBatch& b);
  int head_chunk(int T) const { return head_chunk(cfg_, device_, T); }
  // generate()'s three phases: prefill the KV cache from the prompts and leave the logits of
  // each prompt's last token; sample one token per active sequence (returns how many sequences
  // go on); one decoding step over those, leaving their next logits.
  void prefill(GenState& g, const PackedBatch& prompts);
  int sample_step(GenState& g, int n, const GenerateOptions& o, Generation& out);
  void decode_step(GenState& g, int n);
  // Host inputs for the ops: stage_begin(bytes) sizes the staging buffer (growing it only when
  // needed), stage(host, n) copies n elements there and returns the device copy (on the CPU: the
  // host pointer itself, no copy), unstage copies a staged output back. Staged pointers stay valid
  // until the next stage_begin.
  void stage_begin(size_t bytes);
  template <class T>
  T* stage(const T* host, int64_t n);
  template <class T>
  void unstage(T* host, const T* staged, int64_t n);
  PackedBatch stage_batch(const PackedBatch& b);
  ws::cpu::HeadObjective stage_objective(const ws::cpu::HeadObjective& o, int T);

  Qwen2Config cfg_;
  Device device_;
  int q_dim_, kv_dim_, qkv_dim_;
  std::vector<ParamInfo> params_;
  int64_t flat_size_ = 0, embed_off_ = 0, norm_off_ = 0, head_off_ = 0;
  Buffer params_buf_, grads_, m_, v_;                            // host; on CUDA: mirrors (params, m, v)
  Buffer dev_params_, dev_weights_, dev_grads_, dev_m_, dev_v_;  // CUDA: fp32, bf16, fp32 x3
  // What the graph reads and writes, on the model's device: compute weights (bf16 on CUDA),
  // fp32 master weights, gradients and Adam moments. On the CPU W_ == master_.
  float *W_ = nullptr, *master_ = nullptr, *G_ = nullptr, *M_ = nullptr, *V_ = nullptr;
  bool train_state_ = false, fresh_ = true;
  std::atomic<int64_t> step_{0}, pending_{0};

  // Activation arena: capacity in tokens, and whether it holds every layer's activations.
  Buffer arena_, stage_;
  size_t stage_used_ = 0;
  std::vector<int32_t> targets_;
  int cap_T_ = 0;
  ArenaMode cap_mode_ = ArenaMode::Infer;
  Arena ar_;
  std::mutex mu_;
};

}  // namespace ws::model
