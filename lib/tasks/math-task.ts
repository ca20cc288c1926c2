// MATH as a task: the problems, their prompt and the reward (lib/rewards/math.ts).
// MATH-style JSONL: `problem` plus either `answer` (MATH-500) or `solution` (MATH, whose last
// \boxed{} is the answer). `level` may be 3 or "Level 3". The id is `unique_id` when present, else
// the row's 0-based index.
import { checkFormat } from '../rewards/format.js';
import { lastBoxed } from '../rewards/math-answer.js';
import { mathEqual } from '../rewards/math-equal.js';
import { extractMathAnswer, MATH_REWARD, type MathExample } from '../rewards/math.js';
import { readJsonlFile, stringField } from '../util/jsonl.js';
import type { RewardTask } from './task.js';

export async function loadMath(file: string): Promise<MathExample[]> {
  const rows = await readJsonlFile(file);
  return rows.map((row, i) => {
    const v = row.value;
    const problem = stringField(row, 'problem');
    let answer: string | null = typeof v.answer === 'string' ? v.answer : null;
    if (answer === null) {
      if (typeof v.solution !== 'string') throw new Error(`${row.where}: needs a string "answer" or "solution"`);
      answer = lastBoxed(v.solution);
      if (answer === null) throw new Error(`${row.where}: "solution" has no \\boxed{} answer`);
    }
    if (!answer.trim()) throw new Error(`${row.where}: empty answer`);
    const level =
      typeof v.level === 'number'
        ? v.level
        : typeof v.level === 'string'
          ? Number(/\d+/.exec(v.level)?.[0])
          : undefined;
    const ex: MathExample = { id: typeof v.unique_id === 'string' ? v.unique_id : String(i), problem, answer };
    if (level !== undefined && Number.isFinite(level)) ex.level = level;
    if (typeof v.subject === 'string') ex.subject = v.subject;
    else if (typeof v.type === 'string') ex.subject = v.type;
    return ex;
  });
}

// The user turn of the raw prompt: the answer goes inside <answer> </answer> as the format gate wants.
export function mathUserMessage(problem: string): string {
  return `${problem}\nPlease reason step by step, and put your final answer within \\boxed{} inside the <answer> </answer> tags.`;
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
