// Knights & Knaves solver: depth-first search over roles with constraint propagation.
//
// Person i is a knight (x_i = 1) or a knave (x_i = 0), and their statement S_i must have the
// truth value of their role: x_i <=> S_i(x). The search keeps a partial assignment and, after
// every choice, propagates to a fixpoint:
//   - speaker known, statement unknown: the statement must have the speaker's truth value; that
//     value is pushed down the tree (an `and` that must hold makes every part hold, an `or` that
//     must fail makes every part fail, `a -> b` that must fail makes a hold and b fail, a `<=>`
//     with one side known fixes the other, ...) until it fixes people's roles;
//   - speaker unknown, statement known (Kleene logic): the speaker's role is that truth value;
//   - both known and different: contradiction, back up.
// Then it assumes a role for the unassigned person whose statement mentions the most known
// people (knight first), and recurses. Every deduction is forced, so the search is complete: it
// visits every satisfying assignment. Its events are what the symbolic trace narrates.

import { evaluate, evaluate3, mentioned, type Statement } from './statement.js';

/** One step of the search, in the order it happened (see {@link searchEvents}). */
export type SearchEvent =
  /** A choice: `person` is assumed to be a knight (or a knave). `retry` when the knight branch found nothing. */
  | { kind: 'assume'; person: number; knight: boolean; depth: number; retry: boolean }
  /**
   * A forced role. `speaker === person` and `from === 'value'`: the speaker's statement already has
   * a truth value, so that is their role. `from === 'role'`: the speaker's role fixes their
   * statement's truth value, which fixes `person`'s role.
   */
  | { kind: 'deduce'; person: number; knight: boolean; speaker: number; from: 'role' | 'value' }
  /**
   * A contradiction in `speaker`'s statement: with `person` set, the statement would force `person`
   * to the role opposite to the one they already have; without it, the statement's truth value
   * differs from the speaker's role.
   */
  | { kind: 'conflict'; speaker: number; person?: number }
  /** Both roles for `person` failed under the assumptions above `depth`. */
  | { kind: 'exhausted'; person: number; depth: number }
  /** A full assignment satisfying every statement. */
  | { kind: 'solution'; knights: boolean[] };

type Emit = ((e: SearchEvent) => void) | undefined;

class Search {
  readonly n: number;
  readonly a: Int8Array;
  private readonly trail: number[] = [];
  private readonly mentions: number[][];
  readonly solutions: boolean[][] = [];

  constructor(
    private readonly statements: readonly Statement[],
    private readonly limit: number,
    private readonly emit: Emit,
  ) {
    this.n = statements.length;
    this.a = new Int8Array(this.n).fill(-1);
    this.mentions = statements.map((s) => mentioned(s));
  }

  private set(person: number, v: number): void {
    this.a[person] = v;
    this.trail.push(person);
  }

  private undo(mark: number): void {
    while (this.trail.length > mark) this.a[this.trail.pop()!] = -1;
  }

  // Makes `s` take truth value `want` (1/0) where that is forced; false on contradiction.
  private force(s: Statement, want: number, speaker: number): boolean {
    const a = this.a;
    switch (s[0]) {
      case 'telling-truth':
      case 'lying': {
        const p = s[1];
        const role = s[0] === 'telling-truth' ? want : 1 - want;
        if (a[p] < 0) {
          this.set(p, role);
          this.emit?.({ kind: 'deduce', person: p, knight: role === 1, speaker, from: 'role' });
          return true;
        }
        if (a[p] !== role) {
          this.emit?.({ kind: 'conflict', speaker, person: p });
          return false;
        }
        return true;
      }
      case 'not':
        return this.force(s[1], 1 - want, speaker);
      case 'and':
      case 'or': {
        const all = s[0] === 'and' ? 1 : 0; // the value that every operand must take when s must be `all`
        if (want === all) {
          for (let i = 1; i < s.length; i++) if (!this.force(s[i] as Statement, all, speaker)) return false;
          return true;
        }
        // s must be !all: forced only when exactly one operand is open and the rest are `all`.
        let open: Statement | undefined;
        for (let i = 1; i < s.length; i++) {
          const v = evaluate3(s[i] as Statement, a);
          if (v === 1 - all) return true;
          if (v < 0) {
            if (open) return true;
            open = s[i] as Statement;
          }
        }
        return open ? this.force(open, 1 - all, speaker) : true;
      }
      case '->': {
        if (want === 0) return this.force(s[1], 1, speaker) && this.force(s[2], 0, speaker);
        if (evaluate3(s[1], a) === 1) return this.force(s[2], 1, speaker);
        if (evaluate3(s[2], a) === 0) return this.force(s[1], 0, speaker);
        return true;
      }
      case '<=>': {
        const p = evaluate3(s[1], a);
        if (p >= 0) return this.force(s[2], want ? p : 1 - p, speaker);
        const q = evaluate3(s[2], a);
        if (q >= 0) return this.force(s[1], want ? q : 1 - q, speaker);
        return true;
      }
    }
  }

  // Propagates to a fixpoint; false on contradiction.
  private propagate(): boolean {
    const a = this.a;
    for (let changed = true; changed;) {
      changed = false;
      for (let j = 0; j < this.n; j++) {
        const role = a[j];
        const v = evaluate3(this.statements[j], a);
        if (role >= 0 && v >= 0) {
          if (role !== v) {
            this.emit?.({ kind: 'conflict', speaker: j });
            return false;
          }
        } else if (role >= 0) {
          const mark = this.trail.length;
          if (!this.force(this.statements[j], role, j)) return false;
          if (this.trail.length > mark) changed = true;
        } else if (v >= 0) {
          this.set(j, v);
          this.emit?.({ kind: 'deduce', person: j, knight: v === 1, speaker: j, from: 'value' });
          changed = true;
        }
      }
    }
    return true;
  }

  // The unassigned person whose statement mentions the most assigned people (lowest index on ties).
  private choose(): number {
    let best = -1,
      bestScore = -1;
    for (let i = 0; i < this.n; i++) {
      if (this.a[i] >= 0) continue;
      let score = 0;
      for (const p of this.mentions[i]) if (this.a[p] >= 0) score++;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }

  private get done(): boolean {
    return this.solutions.length >= this.limit;
  }

  // Returns the number of solutions found below this node.
  dfs(depth: number): number {
    if (!this.propagate()) return 0;
    const p = this.choose();
    if (p < 0) {
      const knights = Array.from(this.a, (v) => v === 1);
      this.solutions.push(knights);
      this.emit?.({ kind: 'solution', knights });
      return 1;
    }
    let found = 0;
    for (const v of [1, 0]) {
      const mark = this.trail.length;
      this.emit?.({ kind: 'assume', person: p, knight: v === 1, depth, retry: v === 0 && found === 0 });
      this.set(p, v);
      found += this.dfs(depth + 1);
      this.undo(mark);
      if (this.done) return found;
    }
    if (found === 0) this.emit?.({ kind: 'exhausted', person: p, depth });
    return found;
  }
}

function checkPeople(statements: readonly Statement[]): void {
  if (statements.length === 0) throw new RangeError('statements: a puzzle needs at least one person');
}

/**
 * Every assignment of roles that satisfies all statements (`true` = knight), in search order,
 * stopping after `limit` solutions (default: all).
 */
export function solve(statements: readonly Statement[], opts: { limit?: number } = {}): boolean[][] {
  checkPeople(statements);
  const s = new Search(statements, opts.limit ?? Infinity, undefined);
  s.dfs(0);
  return s.solutions;
}

/** Number of satisfying assignments, counting no further than `limit` (default: all). */
export function countSolutions(statements: readonly Statement[], limit = Infinity): number {
  return solve(statements, { limit }).length;
}

/** True when exactly one assignment satisfies every statement. */
export function hasUniqueSolution(statements: readonly Statement[]): boolean {
  return countSolutions(statements, 2) === 1;
}

/**
 * The search's steps, as the symbolic trace narrates them: stops after `limit` solutions
 * (default: all, so the events also show that every other branch fails).
 */
export function searchEvents(statements: readonly Statement[], opts: { limit?: number } = {}): SearchEvent[] {
  checkPeople(statements);
  const events: SearchEvent[] = [];
  const s = new Search(statements, opts.limit ?? Infinity, (e) => events.push(e));
  s.dfs(0);
  return events;
}

/** True when `knights` satisfies every statement (each speaker's role equals their statement's truth). */
export function satisfies(statements: readonly Statement[], knights: readonly boolean[]): boolean {
  return statements.every((s, i) => evaluate(s, knights) === knights[i]);
}

/** Reference solver: tries all 2^n assignments (for tests and benchmarks; n <= 24). */
export function solveBruteForce(statements: readonly Statement[]): boolean[][] {
  const n = statements.length;
  if (n > 24) throw new RangeError(`statements: brute force is limited to 24 people, got ${n}`);
  const out: boolean[][] = [];
  const knights = new Array<boolean>(n);
  for (let m = 0; m < 1 << n; m++) {
    for (let i = 0; i < n; i++) knights[i] = ((m >> (n - 1 - i)) & 1) === 1;
    if (satisfies(statements, knights)) out.push(knights.slice());
  }
  return out;
}
