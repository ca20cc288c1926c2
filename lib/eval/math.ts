// MATH-style JSONL: `problem` plus either `answer` (MATH-500) or `solution` (MATH, whose last
// \boxed{} is the answer). `level` may be 3 or "Level 3". The id is `unique_id` when present, else
// the row's 0-based index.
import { lastBoxed } from '../rewards/math-answer.js';
import type { MathExample } from '../rewards/math.js';
import { readJsonlFile, stringField } from './jsonl.js';

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
