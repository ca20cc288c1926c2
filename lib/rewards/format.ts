// The paper's answer format gate, shared by every task's reward (K&K, MATH, code, multiple choice).
//
// Prompts end with `Assistant: <think>`, so a completion continues the thought and must read
//   <reasoning> </think> <answer> <final answer> </answer>
// The paper's gate (arXiv 2505.13718's reward code: `.+</think>\s*<answer>(.+)</answer>\s*$` with
// each tag counted once), checkPaperFormat: exactly one `</think>`, one `<answer>` and one
// `</answer>`, at least one character before `</think>` and between the answer tags, only
// whitespace between `</think>` and `<answer>` and after `</answer>`. K&K's paper reward uses it
// as it is (an answer of only whitespace passes and scores as a wrong answer). checkFormat, for the
// other tasks, also wants the reasoning and the answer to be more than whitespace and no `<think>`
// in the reasoning but a leading one. A completion that fails the gate earns FORMAT_PENALTY
// whatever its answer.

/** Reward for a completion that fails the format gate. */
export const FORMAT_PENALTY = -2;

export type FormatCheck = { ok: true; think: string; answer: string } | { ok: false; reason: string };

/** How many times `tag` occurs in `s`. */
export function countTag(s: string, tag: string): number {
  return s.split(tag).length - 1;
}

/**
 * The paper's gate: splits a completion into everything before `</think>` and the text between
 * the answer tags, or says why it does not have that shape.
 */
export function checkPaperFormat(completion: string): FormatCheck {
  for (const tag of ['</think>', '<answer>', '</answer>']) {
    const n = countTag(completion, tag);
    if (n !== 1) return { ok: false, reason: `expected exactly one ${tag}, found ${n}` };
  }
  const m = /^([\s\S]*)<\/think>\s*<answer>([\s\S]*)<\/answer>\s*$/.exec(completion);
  if (!m) return { ok: false, reason: 'expected `… </think> <answer> … </answer>` with nothing after </answer>' };
  if (m[1] === '') return { ok: false, reason: 'empty reasoning before </think>' };
  if (m[2] === '') return { ok: false, reason: 'empty <answer></answer>' };
  return { ok: true, think: m[1], answer: m[2] };
}

/**
 * The paper's gate, stricter: splits a completion into its reasoning and its answer, both more
 * than whitespace, or says why it does not have the required shape. A leading `<think>` (chat
 * templates that do not prefill it) is allowed and dropped from `think`.
 */
export function checkFormat(completion: string): FormatCheck {
  const f = checkPaperFormat(completion);
  if (!f.ok) return f;
  const think = f.think.replace(/^\s*<think>/, '');
  if (countTag(think, '<think>') > 0) return { ok: false, reason: 'unexpected <think> inside the reasoning' };
  if (!think.trim()) return { ok: false, reason: 'empty reasoning before </think>' };
  if (!f.answer.trim()) return { ok: false, reason: 'empty <answer></answer>' };
  return { ok: true, think, answer: f.answer };
}

/**
 * The text inside `<answer>…</answer>` when the completion has exactly one such pair, else the
 * whole completion: where evaluation (which does not gate on format) looks for the answer.
 */
export function answerSection(completion: string): string {
  if (countTag(completion, '<answer>') === 1 && countTag(completion, '</answer>') === 1) {
    const m = /<answer>([\s\S]*)<\/answer>/.exec(completion);
    if (m) return m[1];
  }
  return completion;
}
