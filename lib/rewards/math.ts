// MATH (and MATH-500) reward: the final answer is the last \boxed{…} of the completion's
// <answer> section, compared with the gold answer by mathEqual (math-equal.ts).
import { answerSection, checkFormat, FORMAT_PENALTY } from './format.js';
import { lastBoxed } from './math-answer.js';
import { mathEqual } from './math-equal.js';
import type { RewardTask } from './task.js';

/** One MATH problem: `answer` is the gold final answer's LaTeX, without \boxed. */
export interface MathExample {
  id: string;
  problem: string;
  answer: string;
  level?: number;
  subject?: string;
}

/** The paper's reward scale for MATH: format gate −2, no \boxed answer −1, equal +2, else −0.5. */
export const MATH_REWARD = { format: FORMAT_PENALTY, noAnswer: -1, correct: 2, wrong: -0.5 } as const;

/** The completion's final answer: last \boxed{} in its <answer> section, else in the whole text. */
export function extractMathAnswer(completion: string): string | null {
  return lastBoxed(answerSection(completion)) ?? lastBoxed(completion);
}

/** MATH as a reward task (see RewardTask for `reward` vs `correct`). */
export const mathTask: RewardTask<MathExample> = {
  name: 'math',
  reward(completion, example) {
    const f = checkFormat(completion);
    if (!f.ok) return MATH_REWARD.format;
    const boxed = lastBoxed(f.answer);
    if (boxed === null) return MATH_REWARD.noAnswer;
    return mathEqual(boxed, example.answer) ? MATH_REWARD.correct : MATH_REWARD.wrong;
  },
  correct(completion, example) {
    const ans = extractMathAnswer(completion);
    return ans !== null && mathEqual(ans, example.answer);
  },
};
