// Trains a small byte-level BPE tokenizer (for the embedded demo model) and writes it as a
// standard Hugging Face tokenizer.json with Qwen2's normalizer, pre-tokenizer and decoder, so the
// same loader (tokenizer.ts) and Transformers read it.
//
// Byte-level BPE (GPT-2, Sennrich et al. 2016): the text is NFC-normalised and split into
// pre-tokens by Qwen's regex; each pre-token is a sequence of its UTF-8 bytes (drawn as GPT-2's
// printable byte characters). Starting from the 256 bytes, the most frequent adjacent pair of
// symbols across all pre-tokens (weighted by how often each pre-token occurs) is merged into a new
// symbol, repeatedly, until the vocabulary is full or no pair occurs `minFrequency` times. Ties go
// to the pair with the smaller ids. The merges, in order, are the tokenizer's merge ranks. Every
// byte is in the vocabulary, so any text encodes. Special tokens are added at the end of the
// vocabulary as added tokens (never split), as Qwen does.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';

import type { TokenizerFiles } from './tokenizer.js';
import { writeFileAtomic } from '../util/atomic.js';

/** Qwen2/2.5/3's pre-tokenizer: its split regex, then byte-level mapping without a prefix space. */
export const QWEN_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    {
      type: 'Split',
      pattern: {
        Regex:
          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      },
      behavior: 'Isolated',
      invert: false,
    },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
};
const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

/** A token that is never split: `special` ones are dropped by decode(…, { skipSpecialTokens }). */
export interface SpecialToken {
  content: string;
  special: boolean;
}

/** The demo's defaults: ChatML markers and the end of text are special; the reasoning tags are plain added tokens (as Qwen3's <think>). */
export const DEMO_SPECIAL_TOKENS: readonly SpecialToken[] = [
  { content: '<|endoftext|>', special: true },
  { content: '<|im_start|>', special: true },
  { content: '<|im_end|>', special: true },
  { content: '<think>', special: false },
  { content: '</think>', special: false },
  { content: '<answer>', special: false },
  { content: '</answer>', special: false },
];

/** A plain ChatML template (what Qwen2.5's renders for text-only messages without tools). */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface BpeTrainOptions {
  /** Also save the tokenizer into this folder (tokenizer.json, tokenizer_config.json). */
  out?: string;
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** A pair must occur at least this often to be merged. Default 2. */
  minFrequency?: number;
  /** Added tokens, appended after the merges. Default DEMO_SPECIAL_TOKENS. */
  specialTokens?: readonly SpecialToken[];
  /** tokenizer_config.json's eos_token (also the pad token). Default '<|endoftext|>'. */
  eosToken?: string;
}

export interface BpeTrainResult extends TokenizerFiles {
  /** Merges learned (may be fewer than asked when pairs run out). */
  merges: number;
  /** The vocabulary actually built: 256 bytes + distinct merged tokens + added tokens. */
  vocabSize: number;
  /** Tokens the training text takes with the learned merges (added tokens in the text count one each). */
  trainedTokens: number;
}

// GPT-2's table: bytes that print stay themselves, the others move to U+0100 upwards.
function byteChars(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + extra++));
  return out;
}

// A binary max-heap of (count, pair key) entries; stale entries are skipped when popped.
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.above(l, m)) m = l;
      if (r < last && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

const KEY = 1 << 20; // pair key = a·2^20 + b (ids below 2^20)

/** Trains a byte-level BPE on `texts`; returns tokenizer.json + tokenizer_config.json contents and saves them to `out` if given. */
export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): BpeTrainResult {
  const specials = opts.specialTokens ?? DEMO_SPECIAL_TOKENS;
  const minFrequency = opts.minFrequency ?? 2;
  const eos = opts.eosToken ?? '<|endoftext|>';
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 + specials.length || opts.vocabSize >= KEY) {
    throw new RangeError(`vocabSize must be an integer in [${256 + specials.length}, ${KEY}), got ${opts.vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1)
    throw new RangeError(`minFrequency must be a positive integer, got ${minFrequency}`);
  if (!specials.some((s) => s.content === eos))
    throw new RangeError(`eosToken ${eos} is not one of the special tokens`);

  // Count pre-tokens, cutting the added tokens out first as the tokenizer will.
  // The library's own normaliser and pre-tokenizer, so training splits text exactly as encoding will.
  const skeleton = new HFTokenizer(
    {
      model: { type: 'BPE', vocab: {}, merges: [] },
      added_tokens: [],
      normalizer: { type: 'NFC' },
      pre_tokenizer: QWEN_PRE_TOKENIZER,
      post_processor: null,
      decoder: null,
    },
    {},
  );
  const nfc = skeleton.normalizer!;
  const pre = skeleton.pre_tokenizer!;
  const cut = specials.length
    ? new RegExp(specials.map((s) => s.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
    : null;
  const freq = new Map<string, number>();
  let addedInText = 0;
  for (const text of texts) {
    const parts = cut ? text.split(cut) : [text];
    addedInText += parts.length - 1;
    for (const part of parts) {
      if (!part) continue;
      for (const w of pre.pre_tokenize(nfc.normalize(part))) freq.set(w, (freq.get(w) ?? 0) + 1);
    }
  }

  const chars = byteChars();
  const charId = new Map(chars.map((c, i) => [c, i]));
  const vocab: string[] = chars.slice();
  const idOf = new Map(charId);
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of freq) {
    words.push(Array.from(w, (ch) => charId.get(ch)!));
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const changed = new Set<number>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * KEY + w[i + 1];
      const c = (pairCount.get(k) ?? 0) + sign * counts[wi];
      if (c > 0) pairCount.set(k, c);
      else pairCount.delete(k);
      changed.add(k);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) pairWords.set(k, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  for (const [k, c] of pairCount) heap.push(c, k);
  changed.clear();

  const merges: [string, string][] = [];
  const target = opts.vocabSize - specials.length;
  while (vocab.length < target && heap.size > 0) {
    const [c, k] = heap.pop();
    if (pairCount.get(k) !== c) continue; // stale
    if (c < minFrequency) break;
    const a = Math.floor(k / KEY);
    const b = k % KEY;
    // Two merge paths can spell the same string ("ab"+"c", "a"+"bc"): they share one id.
    const merged = vocab[a] + vocab[b];
    let id = idOf.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      idOf.set(merged, id);
    }
    merges.push([vocab[a], vocab[b]]);
    changed.clear();
    for (const wi of pairWords.get(k) ?? []) {
      const w = words[wi];
      addPairs(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairWords.delete(k);
    // Re-queue every pair whose count moved (old neighbours lost, new pairs gained).
    for (const pk of changed) {
      const pc = pairCount.get(pk);
      if (pc !== undefined) heap.push(pc, pk);
    }
  }

  let trainedTokens = addedInText;
  words.forEach((w, i) => (trainedTokens += w.length * counts[i]));

  const vocabObj: Record<string, number> = {};
  vocab.forEach((t, i) => (vocabObj[t] = i));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s, i) => ({
      id: vocab.length + i,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: s.special,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: QWEN_PRE_TOKENIZER,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObj,
      merges,
    },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: null,
    eos_token: eos,
    pad_token: eos,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    add_prefix_space: false,
    model_max_length: 32768,
    chat_template: CHATML_TEMPLATE,
  };
  const result = { tokenizer, config, merges: merges.length, vocabSize: vocab.length + specials.length, trainedTokens };
  if (opts.out !== undefined) saveTokenizer(result, opts.out);
  return result;
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (each written whole, then renamed into place). */
export function saveTokenizer(files: TokenizerFiles, dir: string): void {
  const { tokenizer, config, generationConfig } = files;
  mkdirSync(dir, { recursive: true });
  const put = (name: string, value: unknown) => writeFileAtomic(join(dir, name), JSON.stringify(value, null, 1) + '\n');
  put('tokenizer.json', tokenizer);
  if (config) put('tokenizer_config.json', config);
  if (generationConfig) put('generation_config.json', generationConfig);
}
