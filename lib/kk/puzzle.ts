// The K&K puzzle record: one schema for published and generated puzzles. In memory the statements
// are trees; on disk (JSONL, as in the published Parquet) they are Python tuple notation text.

import { formatStatements, parseStatements, type Statement } from './statement.js';
import { roleWords, solutionText, solutionTextFormat, type RoleWords } from './text.js';

/** A Knights & Knaves puzzle (the published data's columns; `statements` parsed). */
export interface KKPuzzle {
  /** The puzzle in English. */
  quiz: string;
  /** The people, in statement order. */
  names: string[];
  /** Role words used in the text (`knight_knave` column). */
  knight_knave: RoleWords;
  /** `solution[i]`: person i is a knight. */
  solution: boolean[];
  /** "A is a knight, B is a knave, and C is a knight." */
  solution_text: string;
  /** "(1) A is a knight\n(2) B is a knave\n(3) C is a knight" */
  solution_text_format: string;
  /** `statements[i]`: what person i says. */
  statements: Statement[];
  /** Position in its source file, when it has one. */
  index?: number;
}

/** A puzzle as stored on disk: the same fields, `statements` in tuple notation. */
export interface KKRecord extends Omit<KKPuzzle, 'statements'> {
  statements: string;
}

/** The record written to JSONL (and readable back by {@link fromRecord}). */
export function toRecord(p: KKPuzzle): KKRecord {
  const r: KKRecord = {
    quiz: p.quiz,
    names: p.names,
    knight_knave: p.knight_knave,
    solution: p.solution,
    solution_text: p.solution_text,
    solution_text_format: p.solution_text_format,
    statements: formatStatements(p.statements),
  };
  if (p.index !== undefined) r.index = p.index;
  return r;
}

const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((v) => typeof v === 'string');

/**
 * Reads one record (from Parquet, JSONL or JSON); `where` names it in errors ("file.jsonl line 3").
 * Needs `quiz`, `names`, `solution` and `statements` (text or already-parsed tuples); fills
 * `solution_text`, `solution_text_format` and `knight_knave` when absent.
 */
export function fromRecord(r: unknown, where: string): KKPuzzle {
  if (typeof r !== 'object' || r === null || Array.isArray(r))
    throw new TypeError(`${where}: expected an object record`);
  const o = r as Record<string, unknown>;
  const field = (k: string) => `${where}: field "${k}"`;
  if (typeof o.quiz !== 'string') throw new TypeError(`${field('quiz')} must be a string`);
  if (!isStringArray(o.names) || o.names.length === 0)
    throw new TypeError(`${field('names')} must be a non-empty array of strings`);
  const names = o.names.slice();
  const n = names.length;
  if (!Array.isArray(o.solution) || o.solution.length !== n || !o.solution.every((v) => typeof v === 'boolean'))
    throw new TypeError(`${field('solution')} must be an array of ${n} booleans`);
  const solution = (o.solution as boolean[]).slice();
  let statements: Statement[];
  if (typeof o.statements === 'string') statements = parseStatements(o.statements, n, field('statements'));
  else if (Array.isArray(o.statements))
    statements = parseStatements(JSON.stringify(o.statements), n, field('statements'));
  else throw new TypeError(`${field('statements')} must be tuple notation text or an array`);
  let roles: RoleWords;
  if (o.knight_knave === undefined || o.knight_knave === null) roles = roleWords();
  else {
    const kk = o.knight_knave as Record<string, unknown>;
    if (typeof kk.a_knight !== 'string' || typeof kk.a_knave !== 'string')
      throw new TypeError(`${field('knight_knave')} needs "a_knight" and "a_knave" strings`);
    roles = roleWords([kk.a_knight, kk.a_knave]);
  }
  const text = (k: 'solution_text' | 'solution_text_format', make: () => string): string => {
    const v = o[k];
    if (v === undefined || v === null) return make();
    if (typeof v !== 'string') throw new TypeError(`${field(k)} must be a string`);
    return v;
  };
  const p: KKPuzzle = {
    quiz: o.quiz,
    names,
    knight_knave: roles,
    solution,
    solution_text: text('solution_text', () => solutionText(names, solution, roles)),
    solution_text_format: text('solution_text_format', () => solutionTextFormat(names, solution, roles)),
    statements,
  };
  if (typeof o.index === 'number' || typeof o.index === 'bigint') p.index = Number(o.index);
  return p;
}
