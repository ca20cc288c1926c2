// SFT pairs from the published K&K rows (Logic-RL Parquet: quiz, cot_head, cot_repeat_steps,
// cot_foot, solution_text_format). The completion is the symbolic reasoning trace the dataset
// ships, in the paper's answer protocol:
//
//   (newline) {cot_head} {step 1} {step 2} … {cot_foot}
//   </think>
//   <answer> {solution_text_format} </answer>
//
// and the prompt is the paper's K&K question (prompt.ts's kkUserMessage) in a chosen
// prompt format (raw by default, then the same text as lib/kk's buildPrompt), ending in `<think>`.
import { rawPrompt } from '../data/prompts.js';
import type { SftPair } from '../data/sft-examples.js';
import { DataError, type SourceRecord } from '../util/jsonl.js';
import { kkUserMessage } from './prompt.js';

function str(rec: SourceRecord, key: string): string {
  const v = rec.value[key];
  if (typeof v !== 'string')
    throw new DataError(
      rec.where,
      `K&K field "${key}" is ${v === undefined ? 'missing' : `a ${typeof v}`}, not a string`,
    );
  return v;
}

/** One K&K row → (prompt, completion); `format` turns the user message into the prompt text. */
export function kkTracePair(rec: SourceRecord, format: (user: string) => string = rawPrompt): SftPair {
  const steps = rec.value.cot_repeat_steps;
  if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string')) {
    throw new DataError(rec.where, 'K&K field "cot_repeat_steps" must be a list of strings');
  }
  const cot = [str(rec, 'cot_head'), ...steps, str(rec, 'cot_foot')].join(' ');
  return {
    prompt: format(kkUserMessage(str(rec, 'quiz'))),
    completion: `\n${cot}\n</think>\n<answer> ${str(rec, 'solution_text_format')} </answer>`,
  };
}
