// From the engine's new tokens to what the API returns: the text (special tokens dropped), cut
// before the first stop string (OpenAI semantics: the stop string is not returned), the finish
// reason, the stop reason (vLLM's `stop_reason`: the stop string, or null at the end-of-sequence
// token or the length limit), the completion tokens counted up to the stop, and, for streams,
// the text in per-token pieces.
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
  /** The text in order, one piece per token or so (concatenated: `text`); empty unless asked. */
  pieces: string[];
  finishReason: FinishReason;
  stopReason: string | null;
  /** Tokens generated up to and including the one that ended the completion. */
  completionTokens: number;
}

const decode = (tok: Tokenizer, ids: readonly number[]) => tok.decode(ids, { skipSpecialTokens: true });

/**
 * Text deltas of a token stream, decoded a few tokens at a time (the prefix/read offset scheme of
 * text-generation-inference): a delta is sent once it no longer ends in an incomplete UTF-8
 * character, and decoding a short window keeps it linear in the length.
 */
function pieces(tok: Tokenizer, ids: readonly number[]): string[] {
  const out: string[] = [];
  let prefix = 0;
  let read = 0;
  for (let i = 1; i <= ids.length; i++) {
    const before = decode(tok, ids.slice(prefix, read));
    const now = decode(tok, ids.slice(prefix, i));
    if (now.length > before.length && !now.endsWith('\uFFFD')) {
      out.push(now.slice(before.length));
      prefix = read;
      read = i;
    }
  }
  return out;
}

/** Where the earliest stop string starts in `text`, and which one. */
function firstStop(text: string, stops: readonly string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (best === null || at < best.at)) best = { at, stop: s };
  }
  return best;
}

export function finishText(tok: Tokenizer, tokens: readonly number[], engineFinish: FinishReason, stop: StopRules, wantPieces: boolean): FinishedText {
  // The engine returns the stop token as the last one; it is counted, never shown.
  const content = engineFinish === 'stop' ? tokens.slice(0, -1) : tokens.slice();
  const full = decode(tok, content);
  const hit = firstStop(full, stop.strings);
  let text = full;
  let used = content;
  let finishReason = engineFinish;
  let stopReason: string | null = engineFinish === 'stop' ? stop.tokenStops.get(tokens[tokens.length - 1]) ?? null : null;
  let completionTokens = tokens.length;
  if (hit) {
    // The fewest tokens whose text holds a stop string (holding one only grows with more tokens).
    let lo = 1, hi = content.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (firstStop(decode(tok, content.slice(0, mid)), stop.strings)) hi = mid;
      else lo = mid + 1;
    }
    text = full.slice(0, hit.at);
    used = content.slice(0, lo);
    finishReason = 'stop';
    stopReason = hit.stop;
    completionTokens = lo;
  }
  const out: string[] = [];
  if (wantPieces) {
    let acc = '';
    for (const p of pieces(tok, used)) {
      if (acc.length + p.length > text.length || !text.startsWith(p, acc.length)) break;
      out.push(p);
      acc += p;
    }
    if (acc.length < text.length) out.push(text.slice(acc.length));
  }
  return { text, pieces: out, finishReason, stopReason, completionTokens };
}
