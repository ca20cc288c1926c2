// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json + generation_config.json) on
// top of @huggingface/tokenizers, the pure-JS port of the Rust `tokenizers` crate. It agrees id
// for id with the Rust crate on the Qwen byte-level BPE (bench/RESULTS.md "Data pipeline" has the
// comparison that chose it); this file only adds file loading, typed ids and the special-token
// bookkeeping (eos, pad, bos, stop tokens) that training and generation need.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';

/** The JSON documents a tokenizer is built from (as found in a Hugging Face model folder). */
export interface TokenizerFiles {
  /** The parsed tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** The parsed tokenizer_config.json (eos/pad/bos tokens, chat_template), if any. */
  config?: Record<string, unknown>;
  /** The parsed generation_config.json (eos_token_id: stop tokens), if any. */
  generationConfig?: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Let the tokenizer's post-processor add its special tokens (a BOS for Llama-style models; nothing for Qwen). Default false. */
  addSpecialTokens?: boolean;
}

/** The first tokens of a text, and whether it holds more than were asked for. */
export interface EncodedPrefix {
  ids: Int32Array;
  /** True when the text encodes to more tokens than the limit (`ids` then holds exactly the limit). */
  more: boolean;
}

/** Tokens encoded past a prefix's end and dropped, so that where the text was cut cannot change the kept ones. */
const PREFIX_SLACK = 64;

export interface DecodeOptions {
  /** Drop special tokens (<|im_end|>, <|endoftext|>, …) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

// tokenizer_config.json writes a token either as a string or as an AddedToken object.
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export class Tokenizer {
  /** Where it was loaded from (a folder, a file, or `<memory>`). */
  readonly source: string;
  /** One more than the largest id in the vocabulary or the added tokens: the embedding rows a model needs. */
  readonly vocabSize: number;
  /** Added tokens marked special, content → id (e.g. `<|im_start|>` → 151644). */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** All added tokens (special or not, e.g. `<think>`), content → id: these are never split. */
  readonly addedTokens: ReadonlyMap<string, number>;
  /** tokenizer_config.json's eos_token, as an id. */
  readonly eosTokenId: number | undefined;
  /** tokenizer_config.json's pad_token, as an id (falls back to the eos token). */
  readonly padTokenId: number | undefined;
  /** tokenizer_config.json's bos_token, as an id. */
  readonly bosTokenId: number | undefined;
  /** Tokens that end generation: generation_config.json's eos_token_id (a number or a list) and the eos token, deduplicated. */
  readonly stopTokenIds: readonly number[];
  /** The Jinja chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | undefined;
  /** The parsed tokenizer_config.json ({} when absent): chat templates read bos/eos strings from it. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The longest token (vocabulary or added) in UTF-8 bytes of its stored form: one token never covers more text bytes. */
  readonly maxTokenBytes: number;
  /** What it was built from (a tokenize worker builds its own copy from these). */
  readonly files: TokenizerFiles;

  private readonly hf: HFTokenizer;

  constructor(files: TokenizerFiles, source = '<memory>') {
    this.source = source;
    const tj = files.tokenizer;
    const model = tj.model as { type?: string; vocab?: Record<string, number> } | undefined;
    if (!model || typeof model !== 'object' || !model.vocab)
      throw new Error(`${source}: tokenizer.json has no model.vocab`);
    const added = (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as AddedTokenJson[];
    // Rust tokenizers never cleans up spaces around punctuation on decode; the JS port does unless
    // told not to. Keep decode(encode(s)) == s unless the config asks for the old behaviour.
    const config = { clean_up_tokenization_spaces: false, ...(files.config ?? {}) };
    try {
      this.hf = new HFTokenizer(tj, config);
    } catch (err) {
      throw new Error(`${source}: cannot build the tokenizer: ${(err as Error).message}`);
    }
    this.config = files.config ?? {};
    this.files = files;

    let maxId = -1;
    let maxBytes = 1;
    for (const [token, id] of Object.entries(model.vocab)) {
      if (id > maxId) maxId = id;
      if (token.length > maxBytes / 3) maxBytes = Math.max(maxBytes, Buffer.byteLength(token));
    }
    const special = new Map<string, number>();
    const all = new Map<string, number>();
    for (const t of added) {
      maxBytes = Math.max(maxBytes, Buffer.byteLength(t.content));
      all.set(t.content, t.id);
      if (t.special) special.set(t.content, t.id);
      if (t.id > maxId) maxId = t.id;
    }
    this.vocabSize = maxId + 1;
    this.maxTokenBytes = maxBytes;
    this.specialTokens = special;
    this.addedTokens = all;

    const idOf = (field: string): number | undefined => {
      const content = tokenContent(this.config[field]);
      if (content === undefined) return undefined;
      const id = this.tokenToId(content);
      if (id === undefined)
        throw new Error(`${source}: tokenizer_config.json ${field} "${content}" is not in the vocabulary`);
      return id;
    };
    this.eosTokenId = idOf('eos_token');
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token') ?? this.eosTokenId;

    const stops: number[] = [];
    const gen = files.generationConfig?.eos_token_id;
    for (const v of Array.isArray(gen) ? gen : gen === undefined || gen === null ? [] : [gen]) {
      if (!Number.isInteger(v) || v < 0 || v >= this.vocabSize) {
        throw new Error(
          `${source}: generation_config.json eos_token_id ${JSON.stringify(v)} is not a token id below ${this.vocabSize}`,
        );
      }
      stops.push(v as number);
    }
    if (this.eosTokenId !== undefined) stops.push(this.eosTokenId);
    this.stopTokenIds = [...new Set(stops)];

    const tpl = this.config.chat_template;
    this.chatTemplate = typeof tpl === 'string' ? tpl : undefined;
  }

  /**
   * Loads a tokenizer from a Hugging Face model folder (tokenizer.json, and tokenizer_config.json
   * and generation_config.json when present) or from a tokenizer.json path (the other two are
   * then looked for beside it).
   */
  static load(path: string): Tokenizer {
    if (!existsSync(path)) throw new Error(`tokenizer: ${path} does not exist`);
    const isDir = statSync(path).isDirectory();
    const dir = isDir ? path : dirname(path);
    const file = isDir ? join(dir, 'tokenizer.json') : path;
    if (!existsSync(file)) throw new Error(`tokenizer: ${dir} has no tokenizer.json`);
    const optional = (name: string) => (existsSync(join(dir, name)) ? readJson(join(dir, name)) : undefined);
    return new Tokenizer(
      {
        tokenizer: readJson(file),
        config: optional('tokenizer_config.json'),
        generationConfig: optional('generation_config.json'),
      },
      isDir ? path : `${dir}/${basename(file)}`,
    );
  }

  /** Text → token ids. Added tokens written in the text (`<|im_start|>`, `<think>`) become their single ids. */
  encode(text: string, opts: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw new TypeError(`tokenizer.encode: text must be a string, got ${typeof text}`);
    return Int32Array.from(this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }).ids);
  }

  /**
   * How many UTF-16 code units of any text surely encode to more than `limit` tokens: a token
   * covers at most maxTokenBytes bytes, a code unit is at least one byte, and NFC normalisation
   * shrinks text at most 3 times (Hangul jamo). Readers cut longer strings to this (encodePrefix).
   */
  prefixBound(limit: number): number {
    return 3 * this.maxTokenBytes * (limit + PREFIX_SLACK);
  }

  /**
   * The first `limit` tokens of `text` without encoding all of it: a prefix of the text four
   * characters a token long is encoded, doubled until it yields `limit` tokens and some to spare
   * (the spare tokens, where the cut falls, are dropped) or holds the whole text. The cost follows
   * `limit`, not the text's length; the ids are those of encode(text) (tested on real traces).
   */
  encodePrefix(text: string, limit: number, opts: EncodeOptions = {}): EncodedPrefix {
    if (typeof text !== 'string')
      throw new TypeError(`tokenizer.encodePrefix: text must be a string, got ${typeof text}`);
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`tokenizer.encodePrefix: limit must be an integer >= 0, got ${limit}`);
    const bound = this.prefixBound(limit);
    let chars = 4 * (limit + PREFIX_SLACK);
    for (;;) {
      if (chars >= text.length) {
        const ids = this.encode(text, opts);
        return ids.length > limit ? { ids: ids.slice(0, limit), more: true } : { ids, more: false };
      }
      const ids = this.encode(text.slice(0, chars), opts);
      if (ids.length > limit + PREFIX_SLACK || chars >= bound) return { ids: ids.slice(0, limit), more: true };
      chars = Math.min(2 * chars, bound);
    }
  }

  /** Encodes each text in turn (same options as {@link encode}). */
  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): Int32Array[] {
    return texts.map((t) => this.encode(t, opts));
  }

  /** Token ids → text. Ids outside the vocabulary throw a RangeError naming the position. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const arr = Array.from(ids);
    for (let i = 0; i < arr.length; i++) {
      if (!Number.isInteger(arr[i]) || arr[i] < 0 || arr[i] >= this.vocabSize) {
        throw new RangeError(`tokenizer.decode: ids[${i}] = ${arr[i]} is not a token id below ${this.vocabSize}`);
      }
    }
    if (arr.length === 0) return '';
    return this.hf.decode(arr, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The id of a token string (vocabulary or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** The token string of an id (byte-level form, e.g. `Ġworld`), or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}
