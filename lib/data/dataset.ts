// From a file to (prompt, completion) pairs: the reader (JSONL, gzip, Parquet), the field map or
// a record-to-pair function (lib/kk's kkTracePair for the published K&K columns), and the prompt
// format, in one call shared by the CLI and the library API.
import { chatPrompt, rawPrompt } from './prompts.js';
import { DataError, newReadStats, readPairs, readRecords, type ReadStats, type SourceRecord } from './readers.js';
import type { SftPair } from './sft-examples.js';
import type { Tokenizer } from './tokenizer.js';

/** One record → (prompt, completion); `format` turns the user message into the prompt text. */
export type RecordToPair = (rec: SourceRecord, format: (user: string) => string) => SftPair;

/** How the prompt text is made: `none` uses the prompt field as it is; `raw` and `chat` wrap it (prompts.ts). */
export type PromptTemplate = 'none' | 'raw' | 'chat';

export interface DatasetOptions {
  /** Field holding the prompt (dotted paths reach into objects and lists). Default 'prompt'. */
  promptField?: string;
  /** Field holding the completion. Default 'completion'. */
  completionField?: string;
  /**
   * Build each pair from the whole record instead of the two fields, e.g. lib/kk's kkTracePair for
   * the published K&K columns (quiz, cot_*, solution_text_format). A DataError it throws is a bad record.
   */
  pairOf?: RecordToPair;
  /** Prompt format. Default 'none', or 'raw' with `pairOf`. */
  template?: PromptTemplate;
  /** Needed for the 'chat' template. */
  tokenizer?: Tokenizer;
  /** Count and skip bad records instead of stopping. */
  skipBad?: boolean;
  /** Cut longer strings to this many characters while reading (see ReadOptions; fieldCharBound gives it). */
  maxStringChars?: number;
}

export type SourcedPair = SftPair & { where: string };

/** Reads all pairs of a file; `stats` counts records read and skipped. */
export async function loadSftPairs(
  file: string,
  opts: DatasetOptions = {},
): Promise<{ pairs: SourcedPair[]; stats: ReadStats }> {
  const template = opts.template ?? (opts.pairOf ? 'raw' : 'none');
  if (!['none', 'raw', 'chat'].includes(template))
    throw new RangeError(`template must be none, raw or chat, got ${template}`);
  if (template === 'chat' && !opts.tokenizer) throw new Error('the chat template needs a tokenizer');
  const wrap = (user: string) =>
    template === 'raw' ? rawPrompt(user) : template === 'chat' ? chatPrompt(opts.tokenizer!, user) : user;
  const stats = newReadStats();
  const pairs: SourcedPair[] = [];
  if (opts.pairOf) {
    for await (const rec of readRecords(file, { skipBad: opts.skipBad, stats, maxStringChars: opts.maxStringChars })) {
      try {
        pairs.push({ ...opts.pairOf(rec, wrap), where: rec.where });
      } catch (err) {
        if (!(err instanceof DataError) || !opts.skipBad) throw err;
        stats.records--;
        stats.skipped++;
        if (stats.errors.length < 5) stats.errors.push(err.message);
      }
    }
  } else {
    const fields = { promptField: opts.promptField ?? 'prompt', completionField: opts.completionField ?? 'completion' };
    for await (const p of readPairs(file, fields, {
      skipBad: opts.skipBad,
      stats,
      maxStringChars: opts.maxStringChars,
    }))
      pairs.push({ ...p, prompt: wrap(p.prompt) });
  }
  return { pairs, stats };
}
