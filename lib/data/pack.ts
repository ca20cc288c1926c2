// Packing: whole sequences into batches of at most `tokenBudget` tokens, first-fit decreasing.
//
// Sequences are taken longest first; each goes into the lowest-numbered batch that still has room
// for all of it, else a new batch. A sequence is never split and no padding is added, so the fill
// rate Σ lengths / (batches × budget) is the share of the engine's token budget doing real work.
// "Lowest-numbered batch with room" is found in O(log n) with a max-tree over the batches' free
// space (unopened batches count as empty, so the first unopened one is the "new batch").
// With a seed, ties in length are broken by a seeded permutation and the batch order is shuffled,
// both per epoch: (seed, epoch) reproduces the same batches in the same order.
import { type Batch, packSequences, type Sequence } from './batch.js';
import { permutation } from './shuffle.js';

export interface PackOptions {
  /** Most tokens per batch; every sequence must fit. */
  tokenBudget: number;
  /** Shuffle seed; without one, ties keep input order and batches come in packing order. */
  seed?: number;
  /** Epoch number: a different, reproducible order per epoch for the same seed. Default 0. */
  epoch?: number;
}

/** A batch with the indices (into the packed input) of the sequences it holds, in stream order. */
export interface BatchWithMembers extends Batch {
  members: Int32Array;
}

/** First-fit decreasing over `lengths` in the given visiting `order` (stable on ties); returns the bins as index lists. */
export function firstFitDecreasing(lengths: ArrayLike<number>, budget: number, order?: ArrayLike<number>): number[][] {
  if (!Number.isInteger(budget) || budget < 1)
    throw new RangeError(`tokenBudget must be a positive integer, got ${budget}`);
  const n = lengths.length;
  for (let i = 0; i < n; i++) {
    const L = lengths[i];
    if (!Number.isInteger(L) || L < 1)
      throw new RangeError(`sequence ${i} has length ${L}; lengths must be positive integers`);
    if (L > budget) throw new RangeError(`sequence ${i} has ${L} tokens, more than the token budget ${budget}`);
  }
  const idx = order ? Array.from(order) : Array.from({ length: n }, (_, i) => i);
  const rank = new Int32Array(n);
  idx.forEach((v, r) => (rank[v] = r));
  idx.sort((a, b) => lengths[b] - lengths[a] || rank[a] - rank[b]);

  let size = 1;
  while (size < Math.max(n, 1)) size *= 2;
  const free = new Float64Array(2 * size).fill(budget); // leaves: bins; inner nodes: max of children
  const bins: number[][] = [];
  for (const i of idx) {
    const need = lengths[i];
    let node = 1;
    while (node < size) node = free[2 * node] >= need ? 2 * node : 2 * node + 1;
    const bin = node - size;
    if (bin === bins.length) bins.push([]);
    bins[bin].push(i);
    free[node] -= need;
    for (node >>= 1; node >= 1; node >>= 1) free[node] = Math.max(free[2 * node], free[2 * node + 1]);
  }
  return bins;
}

/** Packs whole sequences into batches (see the file comment for the order). */
export function packBatches(seqs: readonly Sequence[], opts: PackOptions): BatchWithMembers[] {
  const lengths = seqs.map((s) => s.ids.length);
  const seeded = opts.seed !== undefined;
  const epoch = opts.epoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
  const bins = firstFitDecreasing(
    lengths,
    opts.tokenBudget,
    seeded ? permutation(seqs.length, opts.seed!, 2 * epoch) : undefined,
  );
  const order = seeded ? permutation(bins.length, opts.seed!, 2 * epoch + 1) : bins.map((_, i) => i);
  return Array.from(order, (b) => {
    const members = Int32Array.from(bins[b]);
    return { ...packSequences(Array.from(members, (i) => seqs[i])), members };
  });
}

/** Fill statistics for a list of batches under `tokenBudget`. */
export interface PackStats {
  batches: number;
  sequences: number;
  tokens: number;
  /** Tokens with a non-zero loss weight (the completion tokens the loss sees). */
  weightedTokens: number;
  /** tokens / (batches × tokenBudget): the share of the budget that is real tokens (there is no padding). */
  fillRate: number;
  minFill: number;
  maxFill: number;
}

export function packStats(batches: readonly Batch[], tokenBudget: number): PackStats {
  let tokens = 0;
  let sequences = 0;
  let weightedTokens = 0;
  let minFill = batches.length ? Infinity : 0;
  let maxFill = 0;
  for (const b of batches) {
    tokens += b.tokens.length;
    sequences += b.cuSeqlens.length - 1;
    for (const w of b.weights) if (w !== 0) weightedTokens++;
    const f = b.tokens.length / tokenBudget;
    minFill = Math.min(minFill, f);
    maxFill = Math.max(maxFill, f);
  }
  return {
    batches: batches.length,
    sequences,
    tokens,
    weightedTokens,
    fillRate: batches.length ? tokens / (batches.length * tokenBudget) : 0,
    minFill,
    maxFill,
  };
}
