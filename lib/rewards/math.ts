// MATH (and MATH-500) reward: the final answer is the last \boxed{…} of the completion's
// <answer> section, compared with the gold answer by mathEqual (math-equal.ts).
import { answerSection, FORMAT_PENALTY } from './format.js';
import { lastBoxed } from './math-answer.js';

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
