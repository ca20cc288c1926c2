// Re-checks puzzles: re-solves each one and compares with its stored solution and text; scores
// the completions of a traces file.

import type { KKPuzzle } from './puzzle.js';
import { kkReward } from './reward.js';
import { solve } from './solver.js';
import { matchQuizTemplates, solutionTextFormat } from './text.js';

/** One puzzle that failed a check. */
export interface KKProblem {
  /** Position in the list checked. */
  position: number;
  index?: number;
  problem: 'no-solution' | 'not-unique' | 'wrong-solution' | 'wrong-solution-text' | 'quiz-mismatch';
  detail: string;
}

/** What {@link checkPuzzles} found. */
export interface KKCheckReport {
  total: number;
  /** Puzzles per number of people. */
  sizes: Map<number, number>;
  /** Puzzles with exactly one solution, equal to the stored one. */
  valid: number;
  problems: KKProblem[];
}

/**
 * Re-solves every puzzle: reports those with no solution, several (non-unique), a stored solution
 * that differs from the solver's, a `solution_text_format` that does not state the solution, or
 * (a warning, not an invalid puzzle) a quiz whose text is not the published rendering of its
 * statements.
 */
export function checkPuzzles(puzzles: readonly KKPuzzle[]): KKCheckReport {
  const sizes = new Map<number, number>();
  const problems: KKProblem[] = [];
  let valid = 0;
  puzzles.forEach((p, position) => {
    const n = p.names.length;
    sizes.set(n, (sizes.get(n) ?? 0) + 1);
    const add = (problem: KKProblem['problem'], detail: string) =>
      problems.push({ position, index: p.index, problem, detail });
    const sols = solve(p.statements, { limit: 2 });
    if (sols.length === 0) add('no-solution', 'no assignment satisfies every statement');
    else if (sols.length > 1) add('not-unique', `at least ${sols.length} assignments satisfy every statement`);
    else if (sols[0].some((k, i) => k !== p.solution[i]))
      add('wrong-solution', `stored [${p.solution.join(', ')}], solver [${sols[0].join(', ')}]`);
    else {
      valid++;
      if (p.solution_text_format !== solutionTextFormat(p.names, p.solution, p.knight_knave))
        add('wrong-solution-text', 'solution_text_format does not state the solution');
    }
    if (!matchQuizTemplates(p.quiz, p.statements, p.names, p.knight_knave))
      add('quiz-mismatch', 'the quiz text is not the rendering of its statements');
  });
  return { total: puzzles.length, sizes: new Map([...sizes].sort((a, b) => a[0] - b[0])), valid, problems };
}

/** How a file's completions score: count of each reward value of the paper's reward. */
export interface KKCompletionReport {
  scored: number;
  rewards: Map<number, number>;
}

/**
 * Scores trace records' completions (a string, or chat messages whose last one is the
 * assistant's, starting with `<think>`) with the paper's reward against their puzzles.
 */
export function scoreCompletions(puzzles: readonly KKPuzzle[], completions: readonly unknown[]): KKCompletionReport {
  const rewards = new Map<number, number>();
  let scored = 0;
  completions.forEach((c, i) => {
    let text: string | undefined;
    if (typeof c === 'string') text = c;
    else if (Array.isArray(c) && c.length > 0 && typeof c[c.length - 1]?.content === 'string')
      text = String(c[c.length - 1].content).replace(/^\s*<think>/, '');
    if (text === undefined) return;
    const r = kkReward(text, puzzles[i], { variant: 'paper' });
    rewards.set(r, (rewards.get(r) ?? 0) + 1);
    scored++;
  });
  return { scored, rewards: new Map([...rewards].sort((a, b) => b[0] - a[0])) };
}
