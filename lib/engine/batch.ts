// The packed batch: the contract between the data pipeline and the engine (docs/ARCHITECTURE.md
// "Packed batches"), and the one packing of token sequences that training, logprobs and generation
// share. Several whole sequences are laid end to end in one token stream, with no padding.
//
//   sequence s occupies tokens[cuSeqlens[s] .. cuSeqlens[s+1])
//   positions restart at 0 in every sequence
//   weights are aligned to the TARGET: the model at stream index t predicts tokens[t+1], and
//   weights[t] is the loss weight of that prediction. The last index of each sequence predicts
//   nothing inside the sequence, so its weight is always 0.
//
// With an example's per-token mask m (m[i] = 1 when token i belongs to the completion, which is
// what the paper's completion-only loss trains on), a sequence starting at stream offset o with
// length L gets weights[o+i] = m[i+1] for i < L-1 and weights[o+L-1] = 0. The SFT loss is then
//   loss = -Σ_t weights[t]·log p(tokens[t+1] | tokens[seqStart(t)..t]) / Σ_t weights[t].

/** A packed, padding-free batch of whole sequences. All arrays are owned by the batch. */
export interface Batch {
  /** Token ids of all sequences laid end to end: length T. */
  tokens: Int32Array;
  /** Position of each token inside its own sequence (0, 1, …, restarting at every boundary): length T. */
  positions: Int32Array;
  /**
   * Cumulative sequence lengths, FlashAttention varlen style: length S+1, `cuSeqlens[0] = 0`,
   * `cuSeqlens[S] = T`, strictly increasing (no empty sequence). Attention never crosses a boundary.
   */
  cuSeqlens: Int32Array;
  /**
   * Loss weight aligned to the target: `weights[t]` weighs the prediction made at stream index t
   * of token `tokens[t+1]` (same sequence). It is 0 at the last index of every sequence.
   * For SFT it is 1 where `tokens[t+1]` is a completion token (the end token included), 0 elsewhere.
   * Length T.
   */
  weights: Float32Array;
}

/** One sequence before packing: its token ids and a per-token mask (1 = train on this token). */
export interface Sequence {
  /** Token ids, length L ≥ 1. */
  ids: Int32Array;
  /**
   * Aligned to the TOKEN (not the target): `tokenWeights[i]` is the weight of predicting token i
   * from tokens 0..i-1. `tokenWeights[0]` is ignored (nothing predicts the first token). Length L.
   */
  tokenWeights: Float32Array;
}

/** Token sequences laid end to end: a {@link Batch} without loss weights (for logprobs and generation). */
export type PackedTokens = Omit<Batch, 'weights'>;

/** A sequence of token ids, as a plain array or an Int32Array. */
export type TokenIds = readonly number[] | Int32Array;

/**
 * Lays whole token sequences end to end (positions restarting at 0 in each). `name` names the
 * argument in errors; with `vocabSize`, every id must be an integer in [0, vocabSize).
 */
export function packTokens(name: string, seqs: readonly TokenIds[], vocabSize?: number): PackedTokens {
  if (!Array.isArray(seqs)) throw new TypeError(`${name} must be an array of token arrays`);
  let total = 0;
  seqs.forEach((s: unknown, i) => {
    if (!Array.isArray(s) && !(s instanceof Int32Array))
      throw new TypeError(`${name}[${i}] must be an array of token ids`);
    if (s.length === 0) throw new RangeError(`${name}[${i}] is empty`);
    total += s.length;
  });
  const tokens = new Int32Array(total);
  const positions = new Int32Array(total);
  const cuSeqlens = new Int32Array(seqs.length + 1);
  let o = 0;
  seqs.forEach((s, i) => {
    if (vocabSize !== undefined)
      for (let j = 0; j < s.length; j++) {
        const id = s[j];
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
          throw new RangeError(`${name}[${i}][${j}] = ${String(id)} is not a token id in [0, ${vocabSize})`);
      }
    tokens.set(s, o);
    for (let j = 0; j < s.length; j++) positions[o + j] = j;
    o += s.length;
    cuSeqlens[i + 1] = o;
  });
  return { tokens, positions, cuSeqlens };
}

/** Lays whole sequences end to end into one {@link Batch}, shifting token weights onto targets. */
export function packSequences(seqs: readonly Sequence[]): Batch {
  seqs.forEach((s, k) => {
    if (s.ids.length === 0) throw new RangeError(`packSequences: sequence ${k} is empty`);
    if (s.tokenWeights.length !== s.ids.length) {
      throw new RangeError(
        `packSequences: sequence ${k} has ${s.ids.length} ids but ${s.tokenWeights.length} tokenWeights`,
      );
    }
  });
  const packed = packTokens(
    'packSequences',
    seqs.map((s) => s.ids),
  );
  const weights = new Float32Array(packed.tokens.length);
  seqs.forEach((s, k) => {
    const o = packed.cuSeqlens[k];
    for (let i = 0; i < s.ids.length - 1; i++) weights[o + i] = s.tokenWeights[i + 1];
  });
  return { ...packed, weights };
}

/**
 * Checks a batch against the contract above and throws a RangeError/TypeError naming the field
 * and index at fault. `vocabSize`, when given, bounds the token ids.
 */
export function checkBatch(b: Batch, vocabSize?: number): void {
  if (!(b.tokens instanceof Int32Array)) throw new TypeError('batch.tokens must be an Int32Array');
  if (!(b.positions instanceof Int32Array)) throw new TypeError('batch.positions must be an Int32Array');
  if (!(b.cuSeqlens instanceof Int32Array)) throw new TypeError('batch.cuSeqlens must be an Int32Array');
  if (!(b.weights instanceof Float32Array)) throw new TypeError('batch.weights must be a Float32Array');
  const T = b.tokens.length;
  if (b.positions.length !== T) throw new RangeError(`batch.positions has length ${b.positions.length}, tokens ${T}`);
  if (b.weights.length !== T) throw new RangeError(`batch.weights has length ${b.weights.length}, tokens ${T}`);
  const cu = b.cuSeqlens;
  if (cu.length < 2) throw new RangeError('batch.cuSeqlens must hold at least one sequence (length ≥ 2)');
  if (cu[0] !== 0) throw new RangeError(`batch.cuSeqlens[0] is ${cu[0]}, must be 0`);
  if (cu[cu.length - 1] !== T)
    throw new RangeError(`batch.cuSeqlens[${cu.length - 1}] is ${cu[cu.length - 1]}, must equal tokens.length ${T}`);
  for (let s = 0; s + 1 < cu.length; s++) {
    const a = cu[s];
    const e = cu[s + 1];
    if (e <= a) throw new RangeError(`batch.cuSeqlens is not strictly increasing at ${s + 1} (${a} → ${e})`);
    for (let t = a; t < e; t++) {
      if (b.positions[t] !== t - a)
        throw new RangeError(`batch.positions[${t}] is ${b.positions[t]}, expected ${t - a} (sequence ${s})`);
    }
    if (b.weights[e - 1] !== 0)
      throw new RangeError(
        `batch.weights[${e - 1}] is ${b.weights[e - 1]}: the last token of sequence ${s} predicts nothing and must weigh 0`,
      );
  }
  for (let t = 0; t < T; t++) {
    const w = b.weights[t];
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`batch.weights[${t}] is ${w}, must be finite and ≥ 0`);
    const id = b.tokens[t];
    if (id < 0 || (vocabSize !== undefined && id >= vocabSize)) {
      throw new RangeError(`batch.tokens[${t}] is ${id}, outside [0, ${vocabSize ?? '∞'})`);
    }
  }
}
