// The paper's answer format gate, shared by every task's reward.
//
// Prompts end with `Assistant: <think>`, so a completion continues the thought and must read
//   <reasoning> </think> <answer> <final answer> </answer>
// with exactly one `</think>`, one `<answer>` and one `</answer>`, only whitespace between
// `</think>` and `<answer>` and after `</answer>`, and something (not only whitespace) in both the
// reasoning and the answer. A completion that fails the gate earns FORMAT_PENALTY whatever its
// answer (arXiv 2505.13718's reward; Knights & Knaves uses the same gate).

/** Reward for a completion that fails the format gate. */
export const FORMAT_PENALTY = -2;

export type FormatCheck =
  | { ok: true; think: string; answer: string }
  | { ok: false; reason: string };

function count(s: string, tag: string): number {
  return s.split(tag).length - 1;
}

/**
 * Splits a completion into its reasoning and its answer, or says why it does not have the
 * required shape. A leading `<think>` (chat templates that do not prefill it) is allowed and
 * dropped from `think`.
 */
export function checkFormat(completion: string): FormatCheck {
  for (const tag of ['</think>', '<answer>', '</answer>']) {
    const n = count(completion, tag);
    if (n !== 1) return { ok: false, reason: `expected exactly one ${tag}, found ${n}` };
  }
  const m = /^([\s\S]*)<\/think>\s*<answer>([\s\S]*)<\/answer>\s*$/.exec(completion);
  if (!m) return { ok: false, reason: 'expected `… </think> <answer> … </answer>` with nothing after </answer>' };
  const think = m[1].replace(/^\s*<think>/, '');
  if (count(think, '<think>') > 0) return { ok: false, reason: 'unexpected <think> inside the reasoning' };
  if (!think.trim()) return { ok: false, reason: 'empty reasoning before </think>' };
  if (!m[2].trim()) return { ok: false, reason: 'empty <answer></answer>' };
  return { ok: true, think, answer: m[2] };
}

/**
 * The text inside `<answer>…</answer>` when the completion has exactly one such pair, else the
 * whole completion: where evaluation (which does not gate on format) looks for the answer.
 */
export function answerSection(completion: string): string {
  if (count(completion, '<answer>') === 1 && count(completion, '</answer>') === 1) {
    const m = /<answer>([\s\S]*)<\/answer>/.exec(completion);
    if (m) return m[1];
  }
  return completion;
}
