// K&K rewards, two variants.
//
// 'paper' ("Warm Up Before You Train"): a format gate, then the answer.
//   The gate is the one every task shares (lib/rewards/format.ts checkPaperFormat): exactly one
//   "</think>", one "<answer>" and one "</answer>", shaped "...</think> <answer>...</answer>"
//   with only whitespace after; else -2. In the answer, a line naming someone not in the puzzle,
//   or a role word other than the puzzle's two, or a line that is not "Name is a role": -1. Every person exactly once with the right role: +2. Otherwise
//   (a wrong role, a missing or repeated person): -0.5.
// 'logic-rl' (Logic-RL): format score + answer score.
//   Format +1 when "<think>" (the prompt's, or one at the completion's start), "</think>",
//   "<answer>", "</answer>" each occur once, in that order; else -1. Answer (only with a good
//   format, else -2): every person exactly once and nothing else +2 when all right, -1.5 when any
//   is wrong; -2 when the answer cannot be read that way.
// Both read answers leniently: extra whitespace, **bold**/_italic_ markers, "(1)"/"1."/"-"
// numbering, a trailing period, any order of people, names and role words in any case.

import { checkPaperFormat, countTag, FORMAT_PENALTY } from '../rewards/format.js';
import { KK_ASSISTANT_PREFIX as KK_THINK } from './prompt.js';
import type { KKPuzzle } from './puzzle.js';

/** Which reward: the paper's (-2..+2) or Logic-RL's (-3..+3). */
export type KKRewardVariant = 'paper' | 'logic-rl';

/** A reward with what it was based on. */
export interface KKRewardDetails {
  reward: number;
  /** The format gate passed. */
  format: boolean;
  /** The answer named each person once with a known role word. */
  parsed: boolean;
  /** ... and every role was right. */
  correct: boolean;
  /** Why, in a few words. */
  reason: string;
}

/** The people and roles an answer block states, or why it could not be read. */
export type ParsedAnswer =
  | { ok: true; roles: Map<number, boolean[]> }
  | { ok: false; problem: 'unknown-name' | 'bad-role' | 'unreadable-line'; line: string };

/**
 * Reads an answer block: one "Name is a role" a line (an inline "(1) ... (2) ..." list is split
 * too). `roles` maps each person's index to the roles stated for them (more than one when the
 * answer repeats a person).
 */
export function parseAnswer(answer: string, puzzle: Pick<KKPuzzle, 'names' | 'knight_knave'>): ParsedAnswer {
  const names = new Map(puzzle.names.map((n, i) => [n.toLowerCase(), i]));
  const knight = puzzle.knight_knave.knight.toLowerCase();
  const knave = puzzle.knight_knave.knave.toLowerCase();
  const roles = new Map<number, boolean[]>();
  const lines = answer.split('\n').flatMap((l) => l.split(/\s+(?=\(\d+\)\s)/));
  for (const raw of lines) {
    let line = raw.replace(/\*\*|__|[*`]/g, '').trim();
    line = line
      .replace(/^(\(\d+\)|\d+[.):]|[-•])\s*/, '')
      .replace(/[\s.,;!]+$/, '')
      .trim();
    if (line === '') continue;
    const m = /^(.+?)\s+is\s+(?:(?:a|an)\s+)?(\S+)$/i.exec(line);
    if (!m) return { ok: false, problem: 'unreadable-line', line: raw.trim() };
    const who = names.get(m[1].replace(/^_|_$/g, '').trim().toLowerCase());
    if (who === undefined) return { ok: false, problem: 'unknown-name', line: raw.trim() };
    const role = m[2].replace(/^_|_$/g, '').toLowerCase();
    if (role !== knight && role !== knave) return { ok: false, problem: 'bad-role', line: raw.trim() };
    roles.set(who, [...(roles.get(who) ?? []), role === knight]);
  }
  return { ok: true, roles };
}

// Every person stated exactly once; then whether all are right.
function judge(
  parsed: Extract<ParsedAnswer, { ok: true }>,
  solution: readonly boolean[],
): { complete: boolean; correct: boolean; why: string } {
  for (const [, v] of parsed.roles)
    if (v.length > 1) return { complete: false, correct: false, why: 'a person is named more than once' };
  if (parsed.roles.size < solution.length)
    return {
      complete: false,
      correct: false,
      why: `${solution.length - parsed.roles.size} of ${solution.length} people missing`,
    };
  const wrong = solution.filter((k, i) => parsed.roles.get(i)![0] !== k).length;
  return {
    complete: true,
    correct: wrong === 0,
    why: wrong === 0 ? 'all roles right' : `${wrong} of ${solution.length} roles wrong`,
  };
}

function paper(completion: string, puzzle: KKPuzzle): KKRewardDetails {
  const f = checkPaperFormat(completion);
  if (!f.ok) return { reward: FORMAT_PENALTY, format: false, parsed: false, correct: false, reason: f.reason };
  const parsed = parseAnswer(f.answer, puzzle);
  if (!parsed.ok)
    return {
      reward: -1,
      format: true,
      parsed: false,
      correct: false,
      reason: `${parsed.problem}: ${JSON.stringify(parsed.line)}`,
    };
  const j = judge(parsed, puzzle.solution);
  return { reward: j.correct ? 2 : -0.5, format: true, parsed: j.complete, correct: j.correct, reason: j.why };
}

function logicRl(completion: string, puzzle: KKPuzzle): KKRewardDetails {
  const s = completion.trimStart().startsWith(KK_THINK) ? completion : KK_THINK + completion;
  const tags = [KK_THINK, '</think>', '<answer>', '</answer>'];
  const format =
    tags.every((t) => countTag(s, t) === 1) && tags.every((t, i) => i === 0 || s.indexOf(tags[i - 1]) < s.indexOf(t));
  const formatScore = format ? 1 : -1;
  if (!format)
    return {
      reward: formatScore - 2,
      format,
      parsed: false,
      correct: false,
      reason: 'tags <think> </think> <answer> </answer> not each once in order',
    };
  const answer = s.slice(s.indexOf('<answer>') + '<answer>'.length, s.indexOf('</answer>'));
  const parsed = parseAnswer(answer, puzzle);
  if (!parsed.ok)
    return {
      reward: formatScore - 2,
      format,
      parsed: false,
      correct: false,
      reason: `${parsed.problem}: ${JSON.stringify(parsed.line)}`,
    };
  const j = judge(parsed, puzzle.solution);
  if (!j.complete) return { reward: formatScore - 2, format, parsed: false, correct: false, reason: j.why };
  return { reward: formatScore + (j.correct ? 2 : -1.5), format, parsed: true, correct: j.correct, reason: j.why };
}

/** The reward with its reasons (see {@link kkReward}). */
export function kkRewardDetails(
  completion: string,
  puzzle: KKPuzzle,
  opts: { variant?: KKRewardVariant } = {},
): KKRewardDetails {
  const variant = opts.variant ?? 'paper';
  if (variant === 'paper') return paper(completion, puzzle);
  if (variant === 'logic-rl') return logicRl(completion, puzzle);
  throw new RangeError(`variant: expected 'paper' or 'logic-rl', got ${JSON.stringify(variant)}`);
}

/**
 * Reward of one completion (the text after the prompt's `<think>`) for a puzzle.
 * `paper` (default): -2 bad format, -1 unknown name or role word, +2 all right, -0.5 otherwise.
 * `logic-rl`: format +1/-1 plus answer +2 right, -1.5 wrong, -2 unreadable.
 */
export function kkReward(completion: string, puzzle: KKPuzzle, opts: { variant?: KKRewardVariant } = {}): number {
  return kkRewardDetails(completion, puzzle, opts).reward;
}
