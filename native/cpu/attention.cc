// Causal grouped-query attention over packed sequences (FlashAttention-style tiling on the CPU).
// For a query row i of head h (kv head g = h / (Hq / Hkv)) in sequence s, keys j <= i of s:
//   S_ij = (q_i · k_j) / sqrt(D),  lse_i = log sum_j e^{S_ij},  P_ij = e^{S_ij - lse_i}
//   out_i = sum_j P_ij v_j
// Backward, with Delta_i = dout_i · out_i:
//   dv_j += sum_i P_ij dout_i,  dP_ij = dout_i · v_j,  dS_ij = P_ij (dP_ij - Delta_i)
//   dq_i += sum_j dS_ij k_j / sqrt(D),  dk_j += sum_i dS_ij q_i / sqrt(D)
// Sequences are cut into 64-row tiles counted from each sequence's first token, so a packed
// batch computes exactly what each sequence alone would, and no tile spans two sequences.
// Forward: one task per (sequence, head, query tile), online softmax over the key tiles.
// Backward: two passes that each own their outputs, so no two threads write the same gradient:
// (sequence, kv head, key tile) tasks produce dk, dv; (sequence, head, query tile) tasks produce
// dq. Tasks pair tile p with tile n-1-p so that every task costs about the same. Each output is
// summed in a fixed order, independent of the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "isa.h"
#include "ops.h"
#include "simd.h"

namespace ws::cpu::WS_CPU_ISA {

using namespace simd;

namespace {

constexpr int B = 64;       // rows per query tile and per key tile
constexpr int kMaxD = 256;  // largest head dim
const float kNegInf = -std::numeric_limits<float>::infinity();

// C[M, N] += A[M, K] · Bm[K, N]; M % 4 == 0, N % 16 == 0 (row strides lda, ldb, ldc).
// 4 rows x 64 columns of C stay in registers while K streams.
void mm_acc(float* C, int ldc, const float* A, int lda, const float* Bm, int ldb, int M, int K, int N) {
  for (int i = 0; i < M; i += 4) {
    int n = 0;
    for (; n + 4 * W <= N; n += 4 * W) {
      vf c[4][4];
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
        for (int x = 0; x < 4; ++x) c[r][x] = load(C + (i + r) * ldc + n + x * W);
      for (int k = 0; k < K; ++k) {
        const float* b = Bm + k * ldb + n;
        vf b0 = load(b), b1 = load(b + W), b2 = load(b + 2 * W), b3 = load(b + 3 * W);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
          float a = A[(i + r) * lda + k];
          c[r][0] += a * b0;
          c[r][1] += a * b1;
          c[r][2] += a * b2;
          c[r][3] += a * b3;
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
        for (int x = 0; x < 4; ++x) store(C + (i + r) * ldc + n + x * W, c[r][x]);
    }
    for (; n < N; n += W) {
      vf c[4];
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) c[r] = load(C + (i + r) * ldc + n);
      for (int k = 0; k < K; ++k) {
        vf b = load(Bm + k * ldb + n);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) c[r] += A[(i + r) * lda + k] * b;
      }
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) store(C + (i + r) * ldc + n, c[r]);
    }
  }
}

// dst[B, Dp] = scale * rows [0, n) of src (row stride `stride`), zero padded.
void load_rows(float* dst, int Dp, const float* src, int64_t stride, int n, int D, float scale) {
  for (int r = 0; r < B; ++r) {
    float* d = dst + r * Dp;
    if (r < n) {
      const float* s = src + r * stride;
      for (int c = 0; c < D; ++c) d[c] = s[c] * scale;
      for (int c = D; c < Dp; ++c) d[c] = 0.0f;
    } else {
      std::fill(d, d + Dp, 0.0f);
    }
  }
}

// dst[Dp, B] = rows [0, n) of src transposed, zero padded.
void load_cols(float* dst, int Dp, const float* src, int64_t stride, int n, int D) {
  std::fill(dst, dst + Dp * B, 0.0f);
  for (int r = 0; r < n; ++r) {
    const float* s = src + r * stride;
    for (int c = 0; c < D; ++c) dst[c * B + r] = s[c];
  }
}

void transpose(float* dst, const float* src) {  // B x B
  for (int i = 0; i < B; ++i)
    for (int j = 0; j < B; ++j) dst[j * B + i] = src[i * B + j];
}

// Columns of row i of tile (qb, kb) that are keys of that query: all n_k keys below the
// diagonal tile, j <= i on it.
inline int visible(int i, int qb, int kb, int nk) { return kb < qb ? nk : std::min(i + 1, nk); }

// Per-thread scratch, grown once and reused across calls.
float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

struct Shape {
  const int32_t* cu;
  int num_seqs, T, Hq, Hkv, D, Dp, group;
  float scale;
  int64_t q_stride() const { return (int64_t)Hq * D; }
  int64_t kv_stride() const { return (int64_t)Hkv * D; }
  int len(int s) const { return cu[s + 1] - cu[s]; }
};

Shape check_shape(const int32_t* cu, int num_seqs, int T, int Hq, int Hkv, int D) {
  WS_CHECK_RANGE(num_seqs >= 1, "attention: num_seqs must be >= 1, got ", num_seqs);
  WS_CHECK_RANGE(T >= 0, "attention: T must be >= 0, got ", T);
  WS_CHECK_RANGE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0, "attention: Hq (", Hq, ") must be a positive multiple of Hkv (",
                 Hkv, ")");
  WS_CHECK_RANGE(D > 0 && D <= kMaxD, "attention: D must be in [1, ", kMaxD, "], got ", D);
  WS_CHECK_RANGE(cu[0] == 0, "attention: cu_seqlens[0] must be 0, got ", cu[0]);
  for (int s = 0; s < num_seqs; ++s)
    WS_CHECK_RANGE(cu[s + 1] >= cu[s], "attention: cu_seqlens must be non-decreasing (index ", s + 1, ")");
  WS_CHECK_RANGE(cu[num_seqs] == T, "attention: cu_seqlens[num_seqs] must be T = ", T, ", got ", cu[num_seqs]);
  return Shape{cu, num_seqs, T, Hq, Hkv, D, (D + W - 1) / W * W, Hq / Hkv, 1.0f / std::sqrt((float)D)};
}

// Runs f(s, head, tile) for every sequence s, head in [0, heads) and tile of s, in parallel;
// one task = tiles p and n-1-p of one (s, head).
template <typename F>
void for_tiles(const Shape& sh, int heads, F&& f) {
  std::vector<int64_t> off(sh.num_seqs + 1, 0);
  for (int s = 0; s < sh.num_seqs; ++s) {
    int n = (sh.len(s) + B - 1) / B;
    off[s + 1] = off[s] + (int64_t)heads * ((n + 1) / 2);
  }
  parallel_for(off[sh.num_seqs], 1, [&](int64_t b, int64_t e) {
    int s = (int)(std::upper_bound(off.begin(), off.end(), b) - off.begin()) - 1;
    for (int64_t idx = b; idx < e; ++idx) {
      while (idx >= off[s + 1]) ++s;
      int n = (sh.len(s) + B - 1) / B, pairs = (n + 1) / 2;
      int64_t local = idx - off[s];
      int head = (int)(local / pairs), p = (int)(local % pairs);
      f(s, head, p);
      if (n - 1 - p != p) f(s, head, n - 1 - p);
    }
  });
}

// S = Qs · Kt (scaled scores of one tile).
void scores(float* S, const float* Qs, const float* Kt, int Dp) {
  std::fill(S, S + B * B, 0.0f);
  mm_acc(S, B, Qs, Dp, Kt, B, B, Dp, B);
}

// P = exp(S - lse) on visible entries of valid rows, 0 elsewhere (in place).
void probs(float* S, const float* lse, int nq, int qb, int kb, int nk) {
  for (int i = 0; i < B; ++i) {
    float* row = S + i * B;
    int vis = i < nq ? visible(i, qb, kb, nk) : 0;
    vf l = splat(i < nq ? lse[i] : 0.0f);
    for (int j = 0; j < B; j += W) store(row + j, simd::exp(load(row + j) - l));
    std::fill(row + vis, row + B, 0.0f);
  }
}

// What both backward passes need of every query tile, prepared once per call (pass 1 revisits a
// query tile for every key tile it sees): Qs = q * scale and dOb as zero-padded [B, Dp] tiles,
// lse and Delta = dout · out per row. Layout [tile][Hq][2 B Dp + 2 B], in the calling thread's
// buffer (grown once).
struct QueryTile {
  const float *Qs, *dOb, *lse, *delta;
  int nq;
};
struct QueryTiles {
  std::vector<int64_t> first;  // first query tile of each sequence
  const float* base;
  int Hq, Dp, stride;
  QueryTile get(const Shape& sh, int s, int h, int qb) const {
    const float* p = base + ((first[s] + qb) * Hq + h) * stride;
    return {p, p + B * Dp, p + 2 * B * Dp, p + 2 * B * Dp + B, std::min(B, sh.len(s) - qb * B)};
  }
};

QueryTiles prepare_queries(const Shape& sh, const float* q, const float* dout, const float* out, const float* lse) {
  QueryTiles qt{std::vector<int64_t>(sh.num_seqs + 1, 0), nullptr, sh.Hq, sh.Dp, 2 * B * sh.Dp + 2 * B};
  for (int s = 0; s < sh.num_seqs; ++s) qt.first[s + 1] = qt.first[s] + (sh.len(s) + B - 1) / B;
  const int64_t n = qt.first[sh.num_seqs] * sh.Hq;  // (tile, head) pairs
  thread_local std::vector<float> buf;
  if ((int64_t)buf.size() < n * qt.stride) buf.resize(n * qt.stride);
  float* base = buf.data();
  parallel_for(n, 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t tile = i / sh.Hq;
      const int h = (int)(i % sh.Hq);
      const int s = (int)(std::upper_bound(qt.first.begin(), qt.first.end(), tile) - qt.first.begin()) - 1;
      const int qb = (int)(tile - qt.first[s]), nq = std::min(B, sh.len(s) - qb * B), t0 = sh.cu[s] + qb * B;
      const int64_t at = (int64_t)t0 * sh.q_stride() + (int64_t)h * sh.D;
      float* p = base + i * qt.stride;
      float *lse_t = p + 2 * B * sh.Dp, *delta = lse_t + B;
      load_rows(p, sh.Dp, q + at, sh.q_stride(), nq, sh.D, sh.scale);
      load_rows(p + B * sh.Dp, sh.Dp, dout + at, sh.q_stride(), nq, sh.D, 1.0f);
      for (int r = 0; r < B; ++r) {
        lse_t[r] = r < nq ? lse[(int64_t)(t0 + r) * sh.Hq + h] : 0.0f;
        delta[r] = r < nq ? simd::dot(out + at + r * sh.q_stride(), dout + at + r * sh.q_stride(), sh.D) : 0.0f;
      }
    }
  });
  qt.base = base;
  return qt;
}

// P (in S) and dS (in dS) for one tile: P = exp(S - lse), dS = P * (dOb · Vt - Delta).
void tile_grads(float* S, float* dS, const float* Qs, const float* Kt, const float* dOb, const float* Vt,
                const float* lse_t, const float* delta, int nq, int qb, int kb, int nk, int Dp) {
  scores(S, Qs, Kt, Dp);
  probs(S, lse_t, nq, qb, kb, nk);
  std::fill(dS, dS + B * B, 0.0f);
  mm_acc(dS, B, dOb, Dp, Vt, B, B, Dp, B);
  for (int i = 0; i < B; ++i) {
    for (int j = 0; j < B; ++j) dS[i * B + j] = S[i * B + j] * (dS[i * B + j] - delta[i]);
  }
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int num_seqs, int T, int Hq, int Hkv, int D) {
  const Shape sh = check_shape(cu_seqlens, num_seqs, T, Hq, Hkv, D);
  const int Dp = sh.Dp;
  for_tiles(sh, Hq, [&](int s, int h, int qb) {
    float* Qs = scratch((size_t)4 * B * Dp + 2 * B * B + 2 * B);
    float* Kt = Qs + B * Dp;
    float* Vb = Kt + B * Dp;
    float* O = Vb + B * Dp;
    float* S = O + B * Dp;
    float* m = S + B * B;
    float* l = m + B;
    const int g = h / sh.group, t0 = cu_seqlens[s], L = sh.len(s);
    const int nq = std::min(B, L - qb * B);
    load_rows(Qs, Dp, q + (int64_t)(t0 + qb * B) * sh.q_stride() + (int64_t)h * D, sh.q_stride(), nq, D, sh.scale);
    std::fill(O, O + B * Dp, 0.0f);
    std::fill(m, m + B, kNegInf);
    std::fill(l, l + B, 0.0f);
    for (int kb = 0; kb <= qb; ++kb) {
      const int nk = std::min(B, L - kb * B);
      const int64_t kv = (int64_t)(t0 + kb * B) * sh.kv_stride() + (int64_t)g * D;
      load_cols(Kt, Dp, k + kv, sh.kv_stride(), nk, D);
      load_rows(Vb, Dp, v + kv, sh.kv_stride(), nk, D, 1.0f);
      scores(S, Qs, Kt, Dp);
      for (int i = 0; i < B; ++i) {  // online softmax: rescale the running sums to the new max
        float* row = S + i * B;
        std::fill(row + visible(i, qb, kb, nk), row + B, kNegInf);
        vf mx = load(row);
        for (int j = W; j < B; j += W) {
          vf x = load(row + j);
          mx = x > mx ? x : mx;
        }
        const float m_new = std::max(m[i], hmax(mx));
        vf sum{};
        for (int j = 0; j < B; j += W) {
          vf p = simd::exp(load(row + j) - m_new);
          store(row + j, p);
          sum += p;
        }
        const float alpha = std::exp(m[i] - m_new);
        l[i] = l[i] * alpha + hsum(sum);
        m[i] = m_new;
        float* o = O + i * Dp;
        for (int c = 0; c < Dp; ++c) o[c] *= alpha;
      }
      mm_acc(O, Dp, S, B, Vb, Dp, B, B, Dp);
    }
    for (int i = 0; i < nq; ++i) {
      const int64_t t = t0 + qb * B + i;
      float* dst = out + t * sh.q_stride() + (int64_t)h * D;
      const float inv = 1.0f / l[i];
      for (int c = 0; c < D; ++c) dst[c] = O[i * Dp + c] * inv;
      if (lse) lse[t * Hq + h] = m[i] + std::log(l[i]);
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const int32_t* cu_seqlens, int num_seqs,
                        int T, int Hq, int Hkv, int D) {
  const Shape sh = check_shape(cu_seqlens, num_seqs, T, Hq, Hkv, D);
  WS_CHECK_RANGE(T == 0 || lse != nullptr, "attention_backward: lse from the forward is required");
  const int Dp = sh.Dp;
  const QueryTiles qtiles = prepare_queries(sh, q, dout, out, lse);
  const size_t tile_floats = (size_t)5 * B * Dp + 3 * B * B;
  auto carve = [&](float*& Kt, float*& Kb, float*& Vt, float*& A1, float*& A2, float*& S, float*& dS, float*& T1) {
    Kt = scratch(tile_floats);
    Kb = Kt + B * Dp;
    Vt = Kb + B * Dp;
    A1 = Vt + B * Dp;
    A2 = A1 + B * Dp;
    S = A2 + B * Dp;
    dS = S + B * B;
    T1 = dS + B * B;
  };

  // Pass 1: dk, dv of one key tile of one kv head, over every query row of its heads that sees it.
  if (dk || dv) {
    for_tiles(sh, Hkv, [&](int s, int g, int kb) {
      float *Kt, *Kb, *Vt, *dK, *dV, *S, *dS, *Tr;
      carve(Kt, Kb, Vt, dK, dV, S, dS, Tr);
      const int t0 = cu_seqlens[s], L = sh.len(s), nk = std::min(B, L - kb * B), nqb = (L + B - 1) / B;
      const int64_t kv = (int64_t)(t0 + kb * B) * sh.kv_stride() + (int64_t)g * D;
      load_cols(Kt, Dp, k + kv, sh.kv_stride(), nk, D);
      load_cols(Vt, Dp, v + kv, sh.kv_stride(), nk, D);
      std::fill(dK, dK + 2 * B * Dp, 0.0f);  // dK and dV
      for (int h = g * sh.group; h < (g + 1) * sh.group; ++h)
        for (int qb = kb; qb < nqb; ++qb) {
          const QueryTile t = qtiles.get(sh, s, h, qb);
          tile_grads(S, dS, t.Qs, Kt, t.dOb, Vt, t.lse, t.delta, t.nq, qb, kb, nk, Dp);
          transpose(Tr, S);
          mm_acc(dV, Dp, Tr, B, t.dOb, Dp, B, B, Dp);
          transpose(Tr, dS);
          mm_acc(dK, Dp, Tr, B, t.Qs, Dp, B, B, Dp);
        }
      for (int j = 0; j < nk; ++j) {
        const int64_t o = kv + j * sh.kv_stride();
        for (int c = 0; c < D; ++c) {
          if (dk) dk[o + c] += dK[j * Dp + c];
          if (dv) dv[o + c] += dV[j * Dp + c];
        }
      }
    });
  }

  // Pass 2: dq of one query tile, over the key tiles it sees.
  if (dq) {
    for_tiles(sh, Hq, [&](int s, int h, int qb) {
      float *Kt, *Kb, *Vt, *dQ, *unused, *S, *dS, *Tr;
      carve(Kt, Kb, Vt, dQ, unused, S, dS, Tr);
      const int g = h / sh.group, t0 = cu_seqlens[s], L = sh.len(s);
      const QueryTile t = qtiles.get(sh, s, h, qb);
      std::fill(dQ, dQ + B * Dp, 0.0f);
      for (int kb = 0; kb <= qb; ++kb) {
        const int nk = std::min(B, L - kb * B);
        const int64_t kv = (int64_t)(t0 + kb * B) * sh.kv_stride() + (int64_t)g * D;
        load_cols(Kt, Dp, k + kv, sh.kv_stride(), nk, D);
        load_rows(Kb, Dp, k + kv, sh.kv_stride(), nk, D, 1.0f);
        load_cols(Vt, Dp, v + kv, sh.kv_stride(), nk, D);
        tile_grads(S, dS, t.Qs, Kt, t.dOb, Vt, t.lse, t.delta, t.nq, qb, kb, nk, Dp);
        mm_acc(dQ, Dp, dS, B, Kb, Dp, B, B, Dp);
      }
      for (int i = 0; i < t.nq; ++i) {
        float* dst = dq + (int64_t)(t0 + qb * B + i) * sh.q_stride() + (int64_t)h * D;
        for (int c = 0; c < D; ++c) dst[c] += dQ[i * Dp + c] * sh.scale;
      }
    });
  }
}

void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache, const int32_t* lens,
                      int Bn, int max_len, int Hq, int Hkv, int D) {
  WS_CHECK_RANGE(Bn >= 0, "attention_decode: B must be >= 0, got ", Bn);
  WS_CHECK_RANGE(max_len > 0, "attention_decode: max_len must be > 0, got ", max_len);
  WS_CHECK_RANGE(Hq > 0 && Hkv > 0 && Hq % Hkv == 0, "attention_decode: Hq (", Hq,
                 ") must be a positive multiple of Hkv (", Hkv, ")");
  WS_CHECK_RANGE(D > 0, "attention_decode: D must be > 0, got ", D);
  for (int b = 0; b < Bn; ++b)
    WS_CHECK_RANGE(lens[b] >= 1 && lens[b] <= max_len, "attention_decode: lens[", b, "] = ", lens[b],
                   " is outside [1, ", max_len, "]");
  const int group = Hq / Hkv;
  const float scale = 1.0f / std::sqrt((float)D);
  const int64_t row = (int64_t)Hkv * D;
  // One task per (sequence, kv head): every query head of the group reads each cached row once.
  parallel_for((int64_t)Bn * Hkv, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int b = (int)(item / Hkv), g = (int)(item % Hkv), len = lens[b];
      const float* K = k_cache + (int64_t)b * max_len * row + (int64_t)g * D;
      const float* V = v_cache + (int64_t)b * max_len * row + (int64_t)g * D;
      float* sc = scratch((size_t)group * len);  // scores then weights, [group, len]
      const float* qg = q + ((int64_t)b * Hq + (int64_t)g * group) * D;
      for (int j = 0; j < len; ++j) {
        const float* kj = K + j * row;
        for (int r = 0; r < group; ++r) {
          sc[(int64_t)r * len + j] = simd::dot(qg + (int64_t)r * D, kj, D) * scale;
        }
      }
      for (int r = 0; r < group; ++r) {
        float* p = sc + (int64_t)r * len;
        const float mx = *std::max_element(p, p + len);
        float sum = 0.0f;
        for (int j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (int j = 0; j < len; ++j) p[j] /= sum;
      }
      float* og = out + ((int64_t)b * Hq + (int64_t)g * group) * D;
      std::fill(og, og + (int64_t)group * D, 0.0f);
      for (int j = 0; j < len; ++j) {
        const float* vj = V + j * row;
        for (int r = 0; r < group; ++r) {
          const float w = sc[(int64_t)r * len + j];
          float* o = og + (int64_t)r * D;
          for (int c = 0; c < D; ++c) o[c] += w * vj[c];
        }
      }
    }
  });
}

}  // namespace ws::cpu::WS_CPU_ISA
