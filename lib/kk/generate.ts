// Puzzle generator: random statements, kept when exactly one assignment satisfies them.
//
// Each person's statement is drawn as in the published generator: with a depth budget d, a node
// is a leaf when d = 1, else one of {leaf, not, and, or, ->, <=>} with equal odds; and/or take 2..width
// distinct operands, ->/<=> two; a leaf never has a person call themself a knave (that claim is
// unsatisfiable on its own). A puzzle that repeats an earlier one (see `dedupe`) is skipped, so a
// generated set has no duplicates. Every size draws from its own stream of the seed, so a seed
// reproduces the same puzzles of a size whatever other sizes are asked for.

import { KK_NAMES } from './names.js';
import type { KKPuzzle } from './puzzle.js';
import { mixSeed, Rng } from '../util/random.js';
import { solve } from './solver.js';
import { formatStatements, statementKey, type Statement } from './statement.js';
import { renderQuiz, roleWords, SAYING_TEMPLATES, solutionText, solutionTextFormat } from './text.js';

/** Options of {@link generatePuzzles}. */
export interface GenerateOptions {
  /** People per puzzle: one size, a list of sizes, or a range like `'3-7'` (each >= 2). */
  people: number | readonly number[] | string;
  /** Puzzles in all, spread evenly over the sizes (the first sizes get any remainder). */
  count: number;
  /** Seed (integer); the same options and seed give the same puzzles. Default 0. */
  seed?: number;
  /** Statement nesting depth, >= 2: 2 = the published data (default), 3 and up nest further. */
  depth?: number;
  /** Most operands of an and/or (default 2, as in the published data). */
  width?: number;
  /** Role words with articles (default `['a knight', 'a knave']`). */
  roles?: readonly [string, string];
  /** Names to draw people from (default: the published data's 51 names). */
  names?: readonly string[];
  /**
   * What makes two puzzles duplicates: `'puzzle'` (default), the same people making the same
   * statements; `'statements'`, the same statements whatever the names (stricter: there are only
   * about 400 distinct unique-solution statement sets for 2 people at depth 2).
   */
  dedupe?: 'puzzle' | 'statements';
  /** Puzzles not to repeat, under the same rule (e.g. a test set to keep apart from). */
  exclude?: Iterable<Pick<KKPuzzle, 'statements' | 'names'>>;
  /** Attempts per wanted puzzle before giving up (default 1000). */
  maxTriesPerPuzzle?: number;
}

/** Parses a size list: `5`, `'3-7'`, `'3,5,8'` or an array; every size an integer >= 2. */
export function parsePeople(people: number | readonly number[] | string): number[] {
  let sizes: number[];
  if (typeof people === 'number') sizes = [people];
  else if (typeof people === 'string') {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(people);
    if (m) {
      const lo = Number(m[1]),
        hi = Number(m[2]);
      if (lo > hi) throw new RangeError(`people: range "${people}" is empty`);
      sizes = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    } else {
      if (!/^\s*\d+\s*(,\s*\d+\s*)*$/.test(people))
        throw new RangeError(`people: expected N, "A-B" or "A,B,C", got ${JSON.stringify(people)}`);
      sizes = people.split(',').map(Number);
    }
  } else sizes = [...people];
  if (sizes.length === 0) throw new RangeError('people: no sizes given');
  for (const n of sizes)
    if (!Number.isInteger(n) || n < 2) throw new RangeError(`people: each size must be an integer >= 2, got ${n}`);
  return [...new Set(sizes)];
}

function sampleStatement(rng: Rng, self: number, n: number, depth: number, width: number): Statement {
  const dice = rng.int(6);
  if (depth === 1 || dice === 0) {
    for (;;) {
      const kind = rng.int(2) === 0 ? 'telling-truth' : 'lying';
      const p = rng.int(n);
      if (!(kind === 'lying' && p === self)) return [kind, p];
    }
  }
  if (dice === 1) return ['not', sampleStatement(rng, self, n, depth - 1, width)];
  const count = dice <= 3 ? 2 + rng.int(width - 1) : 2;
  const parts: Statement[] = [];
  const keys = new Set<string>();
  for (let tries = 0; parts.length < count; tries++) {
    const s = sampleStatement(rng, self, n, depth - 1, width);
    const k = statementKey(s);
    // With one person and depth 1 there are too few distinct leaves; then repeats are allowed.
    if (keys.has(k) && tries < 100) continue;
    keys.add(k);
    parts.push(s);
  }
  const op = (['and', 'or', '->', '<=>'] as const)[dice - 2];
  return [op, ...parts] as Statement;
}

/** Random statements for `n` people (not checked for a unique solution). */
export function sampleStatements(rng: Rng, n: number, depth = 2, width = 2): Statement[] {
  return Array.from({ length: n }, (_, i) => sampleStatement(rng, i, n, depth, width));
}

/**
 * Generates puzzles with exactly one solution, no two with the same statements, rendered in the
 * published data's format (quiz, names, solution, solution_text, solution_text_format,
 * statements). Sorted by size, in generation order within a size; `index` numbers them from 0.
 *
 * @example generatePuzzles({ people: '3-7', count: 500, seed: 1 })
 */
export function generatePuzzles(opts: GenerateOptions): KKPuzzle[] {
  const sizes = parsePeople(opts.people);
  const seed = opts.seed ?? 0;
  const depth = opts.depth ?? 2;
  const width = opts.width ?? 2;
  const names = opts.names ?? KK_NAMES;
  const maxTries = opts.maxTriesPerPuzzle ?? 1000;
  if (!Number.isInteger(opts.count) || opts.count < 0)
    throw new RangeError(`count: expected an integer >= 0, got ${opts.count}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  // With depth 1 every claim is "X is a knight/knave", and swapping all roles keeps every claim's
  // truth relative to its speaker: such a puzzle never has exactly one solution.
  if (!Number.isInteger(depth) || depth < 2)
    throw new RangeError(
      `depth: expected an integer >= 2 (depth-1 puzzles never have a unique solution), got ${depth}`,
    );
  if (!Number.isInteger(width) || width < 2) throw new RangeError(`width: expected an integer >= 2, got ${width}`);
  if (new Set(names).size !== names.length) throw new RangeError('names: the list has repeated names');
  const tooBig = sizes.find((n) => n > names.length);
  if (tooBig !== undefined)
    throw new RangeError(`people: ${tooBig} people need ${tooBig} names, the list has ${names.length}`);
  const roles = roleWords(opts.roles);

  const dedupe = opts.dedupe ?? 'puzzle';
  if (dedupe !== 'puzzle' && dedupe !== 'statements')
    throw new RangeError(`dedupe: expected 'puzzle' or 'statements', got ${JSON.stringify(dedupe)}`);
  const keyOf = (statements: readonly Statement[], who: readonly string[]) =>
    dedupe === 'statements' ? formatStatements(statements) : `${who.join(',')}|${formatStatements(statements)}`;
  const seen = new Set<string>();
  for (const p of opts.exclude ?? []) seen.add(keyOf(p.statements, p.names));

  const out: KKPuzzle[] = [];
  sizes.forEach((n, si) => {
    const want = Math.floor(opts.count / sizes.length) + (si < opts.count % sizes.length ? 1 : 0);
    const rng = new Rng(mixSeed(seed, n, depth, width));
    let made = 0;
    for (let tries = 0; made < want; tries++) {
      if (tries >= maxTries * want)
        throw new Error(
          `generate: found only ${made} of ${want} unique-solution puzzles for ${n} people after ${tries} tries (depth ${depth}, width ${width})`,
        );
      const statements = sampleStatements(rng, n, depth, width);
      const who = rng.sample(names, n);
      const templates = statements.map(() => rng.int(SAYING_TEMPLATES.length));
      const key = keyOf(statements, who);
      if (seen.has(key)) continue;
      const solutions = solve(statements, { limit: 2 });
      if (solutions.length !== 1) continue;
      seen.add(key);
      const solution = solutions[0];
      out.push({
        quiz: renderQuiz(statements, who, roles, templates),
        names: who,
        knight_knave: roles,
        solution,
        solution_text: solutionText(who, solution, roles),
        solution_text_format: solutionTextFormat(who, solution, roles),
        statements,
        index: out.length,
      });
      made++;
    }
  });
  return out;
}
