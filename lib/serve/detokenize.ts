// From the engine's new tokens to what the API returns: the text (special tokens dropped), cut
// before the first stop string (OpenAI semantics: the stop string is not returned), the finish
// reason, the stop reason (vLLM's `stop_reason`: the stop string, or null at the end-of-sequence
// token or the length limit) and the completion tokens counted up to the stop (finishText); and,
// for streams, the same text in deltas as the tokens arrive (TextStream).
import type { Tokenizer } from '../data/tokenizer.js';
import type { FinishReason } from '../engine/model.js';

export interface StopRules {
  /** Strings that end a completion (not returned). */
  strings: readonly string[];
  /** Token ids the engine stops on that stand for one of `strings` (id → the string). */
  tokenStops: ReadonlyMap<number, string>;
}

export interface FinishedText {
  text: string;
  finishReason: FinishReason;
  stopReason: string | null;
  /** Tokens generated up to and including the one that ended the completion. */
  completionTokens: number;
}

const decode = (tok: Tokenizer, ids: readonly number[]) => tok.decode(ids, { skipSpecialTokens: true });

/** Where the earliest stop string starts in `text`, and which one. */
function firstStop(text: string, stops: readonly string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (best === null || at < best.at)) best = { at, stop: s };
  }
  return best;
}

export function finishText(
  tok: Tokenizer,
  tokens: readonly number[],
  engineFinish: FinishReason,
  stop: StopRules,
): FinishedText {
  // The engine returns the stop token as the last one; it is counted, never shown.
  const content = engineFinish === 'stop' ? tokens.slice(0, -1) : tokens.slice();
  const full = decode(tok, content);
  const hit = firstStop(full, stop.strings);
  let text = full;
  let finishReason = engineFinish;
  let stopReason: string | null =
    engineFinish === 'stop' ? (stop.tokenStops.get(tokens[tokens.length - 1]) ?? null) : null;
  let completionTokens = tokens.length;
  if (hit) {
    // The fewest tokens whose text holds a stop string (holding one only grows with more tokens).
    let lo = 1,
      hi = content.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (firstStop(decode(tok, content.slice(0, mid)), stop.strings)) hi = mid;
      else lo = mid + 1;
    }
    text = full.slice(0, hit.at);
    finishReason = 'stop';
    stopReason = hit.stop;
    completionTokens = lo;
  }
  return { text, finishReason, stopReason, completionTokens };
}

/**
 * The text of one completion as its tokens arrive, in deltas. Tokens are decoded a few at a time
 * (the prefix/read offset scheme of text-generation-inference): a delta goes out once it no
 * longer ends in an incomplete UTF-8 character, and decoding a short window keeps the cost linear.
 * A tail that could be the start of a stop string is held back until it is not; the stream ends
 * at the first stop string (not sent) or stop token. What it has sent is always a prefix of
 * finishText's text for the same tokens, and `rest` gives the remainder.
 */
export class TextStream {
  private readonly ids: number[] = [];
  private prefix = 0;
  private read = 0;
  private text = '';
  private sent = 0;
  /** True once a stop string or stop token ended the completion. */
  ended = false;

  constructor(
    private readonly tok: Tokenizer,
    private readonly stop: StopRules,
    private readonly stopIds: ReadonlySet<number>,
  ) {}

  /** Takes new tokens; returns the text that can be sent now ('' when none). */
  push(tokens: readonly number[]): string {
    const from = this.sent;
    for (const t of tokens) {
      if (this.ended) break;
      if (this.stopIds.has(t)) {
        this.ended = true;
        break;
      }
      this.ids.push(t);
      const before = decode(this.tok, this.ids.slice(this.prefix, this.read));
      const now = decode(this.tok, this.ids.slice(this.prefix));
      if (now.length > before.length && !now.endsWith('\uFFFD')) {
        this.text += now.slice(before.length);
        this.prefix = this.read;
        this.read = this.ids.length;
      }
      // Nothing sent can be part of a stop string, so a stop string starts at or after `sent`.
      const hit = firstStop(this.text.slice(this.sent), this.stop.strings);
      if (hit) {
        this.sent += hit.at;
        this.ended = true;
        break;
      }
      this.sent = this.text.length - this.heldBack();
    }
    return this.text.slice(from, this.sent);
  }

  /** What is left to send once the completion is final (its finishText result). */
  rest(final: FinishedText): string {
    const sent = this.text.slice(0, this.sent);
    return final.text.startsWith(sent) ? final.text.slice(sent.length) : '';
  }

  /** Length of the longest tail of the text that is a proper prefix of a stop string. */
  private heldBack(): number {
    let keep = 0;
    for (const s of this.stop.strings) {
      for (let k = Math.min(s.length - 1, this.text.length - this.sent); k > keep; k--) {
        if (this.text.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    return keep;
  }
}
