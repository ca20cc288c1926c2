// SFT examples: (prompt, completion) → token ids with a completion-only loss mask.
//
//   ids          = encode(prompt) ++ encode(completion) ++ [end]
//   tokenWeights = 0 … 0          ++ 1 … 1              ++ [1]
//
// Prompt and completion are tokenized separately, so the mask boundary is exact and the prompt
// ids are the ones the model sees when it generates from that prompt. The weights are aligned to
// tokens (see batch.ts: packing shifts them onto the predicting positions).
// Longer than maxLength: `truncate` keeps the first maxLength tokens (no end token then), `drop`
// discards the example; an example whose prompt leaves no room for one completion token is
// dropped either way. Texts are encoded only as far as maxLength reaches (Tokenizer.encodePrefix),
// and readers cut strings to Tokenizer.prefixBound(maxLength) (fieldCharBound below), so a 200 MB
// record costs what a maxLength one does.
// The default, everywhere (this API, `warmstart sft`, `warmstart data`), is
// DEFAULT_OVERFLOW = drop: a truncated trace has lost its answer and its end token.
import type { Sequence } from './batch.js';
import type { Tokenizer } from './tokenizer.js';

/** One supervised example as text. */
export interface SftPair {
  prompt: string;
  completion: string;
}

/** What to do with an example longer than maxLength. */
export type Overflow = 'truncate' | 'drop';

/** The one default of the library, `warmstart sft` and `warmstart data` (so inspect shows what sft trains on). */
export const DEFAULT_OVERFLOW: Overflow = 'drop';

export interface SftOptions {
  /** Most tokens per example (prompt + completion + end token). */
  maxLength: number;
  /** What to do with a longer example. Default DEFAULT_OVERFLOW ('drop'). */
  overflow?: Overflow;
  /** Token appended to every completion; default the tokenizer's eos; null for none. */
  endTokenId?: number | null;
}

/** A tokenized example, ready for packing. */
export interface SftExample extends Sequence {
  /** Its index in the input. */
  index: number;
  /** How many leading tokens are prompt (weight 0). */
  promptLength: number;
  /** Whether it was cut to maxLength. */
  truncated: boolean;
}

/** What tokenizeSft did: every input is exactly one of kept-whole, truncated or dropped. */
export interface SftCounts {
  total: number;
  kept: number;
  truncated: number;
  dropped: number;
}

function checkOptions(tok: Tokenizer, opts: SftOptions): { maxLength: number; drop: boolean; end: number | null } {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2)
    throw new RangeError(`maxLength must be an integer ≥ 2, got ${opts.maxLength}`);
  const overflow = opts.overflow ?? DEFAULT_OVERFLOW;
  if (overflow !== 'truncate' && overflow !== 'drop')
    throw new RangeError(`overflow must be 'truncate' or 'drop', got ${String(overflow)}`);
  const end = opts.endTokenId === undefined ? (tok.eosTokenId ?? null) : opts.endTokenId;
  if (opts.endTokenId === undefined && end === null)
    throw new Error(`${tok.source}: the tokenizer has no eos_token; pass endTokenId (or null for no end token)`);
  if (end !== null && (!Number.isInteger(end) || end < 0 || end >= tok.vocabSize))
    throw new RangeError(`endTokenId ${end} is not a token id below ${tok.vocabSize}`);
  return { maxLength: opts.maxLength, drop: overflow === 'drop', end };
}

/** Tokenizes one pair; null when it is dropped. `index` is recorded on the example. */
export function sftExample(tok: Tokenizer, pair: SftPair, opts: SftOptions, index = 0): SftExample | null {
  const { maxLength, drop, end } = checkOptions(tok, opts);
  return build(tok, pair, maxLength, drop, end, index);
}

function build(
  tok: Tokenizer,
  pair: SftPair,
  maxLength: number,
  drop: boolean,
  end: number | null,
  index: number,
): SftExample | null {
  if (typeof pair.prompt !== 'string')
    throw new TypeError(`example ${index}: prompt must be a string, got ${typeof pair.prompt}`);
  if (typeof pair.completion !== 'string')
    throw new TypeError(`example ${index}: completion must be a string, got ${typeof pair.completion}`);
  // Only the first maxLength tokens of either text can be kept: encoding stops there, so a huge
  // record costs what a maxLength one does.
  const prompt = tok.encodePrefix(pair.prompt, maxLength);
  const p = prompt.ids;
  if (prompt.more || p.length + 1 > maxLength) return null;
  const completion = tok.encodePrefix(pair.completion, maxLength - p.length);
  const c = completion.ids;
  const full = completion.more ? Infinity : p.length + c.length + (end === null ? 0 : 1);
  if (c.length === 0 && end === null) return null;
  if (full > maxLength && drop) return null;
  const L = Math.min(full, maxLength);
  const ids = new Int32Array(L);
  ids.set(p, 0);
  ids.set(c.subarray(0, L - p.length), p.length);
  if (end !== null && full <= maxLength) ids[L - 1] = end;
  const tokenWeights = new Float32Array(L);
  tokenWeights.fill(1, p.length);
  return { ids, tokenWeights, index, promptLength: p.length, truncated: full > maxLength };
}

/** Tokenizes every pair; dropped ones are counted, not returned. */
export function tokenizeSft(
  tok: Tokenizer,
  pairs: Iterable<SftPair>,
  opts: SftOptions,
): { examples: SftExample[]; counts: SftCounts } {
  const { maxLength, drop, end } = checkOptions(tok, opts);
  const examples: SftExample[] = [];
  const counts: SftCounts = { total: 0, kept: 0, truncated: 0, dropped: 0 };
  for (const pair of pairs) {
    const ex = build(tok, pair, maxLength, drop, end, counts.total++);
    if (ex === null) counts.dropped++;
    else {
      examples.push(ex);
      if (ex.truncated) counts.truncated++;
      else counts.kept++;
    }
  }
  return { examples, counts };
}

/** The longest string a reader must keep of a field for examples of `maxLength` tokens: longer ones are cut to it. */
export function fieldCharBound(tok: Tokenizer, maxLength: number): number {
  return tok.prefixBound(maxLength);
}
