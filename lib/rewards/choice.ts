// Multiple-choice (MMLU-Pro) reward: the chosen letter A–J, taken from the first of
//   \boxed{X} (also \boxed{\text{X}}, \boxed{(X)})  ·  <answer> X </answer> (also "X. text")
//   "the answer is (X)" / "answer: X"  ·  the last standalone capital A–J
// that appears (the last occurrence of each pattern), compared with the gold letter.
import { FORMAT_PENALTY } from './format.js';

/** One multiple-choice question; `answer` is the gold letter. */
export interface ChoiceExample {
  id: string;
  question: string;
  options: string[];
  answer: string;
  category?: string;
}

/** The paper's reward scale for MMLU-Pro: format gate −2, right letter +2, else −0.5. */
export const CHOICE_REWARD = { format: FORMAT_PENALTY, correct: 2, wrong: -0.5 } as const;

const PATTERNS: RegExp[] = [
  /\\boxed\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-J])\)?\s*(?:\}\s*)?\}/g,
  /<answer>\s*\(?([A-J])\)?(?:[.:)]\s*[\s\S]*?)?\s*<\/answer>/g,
  /[Aa]nswer\s+is:?\s*(?:\*\*)?\s*\(?([A-J])\)?(?![A-Za-z])/g,
  /[Aa]nswer:\s*(?:\*\*)?\s*\(?([A-J])\)?(?![A-Za-z])/g,
  // A standalone capital that is not the word "A"/"I" opening a phrase ("A ball", "I think").
  /(?<![A-Za-z0-9])([A-J])(?![A-Za-z0-9])(?!\s+[a-z])/g,
];

/** The letter a completion chose, or null. */
export function extractChoice(text: string): string | null {
  for (const re of PATTERNS) {
    let last: string | null = null;
    for (const m of text.matchAll(re)) last = m[1];
    if (last !== null) return last;
  }
  return null;
}
