// Symbolic teacher traces: the solver's search told in English, step by step. Each choice becomes
// "Suppose X is a knight.", each forced role "Since X is a knight, X's statement "..." must be
// true, so Y is a knave.", each failure "But ... Contradiction.", each backtrack "So X cannot be
// a knight; X is a knave." The trace follows the search exactly, so it is correct by
// construction, and it ends in the paper's answer format.
//
// Verbosity: 'terse' gives the bare chain of steps; 'normal' explains each step with the
// statements quoted; 'long' also lists the statements first, re-checks every statement against
// the solution, and carries the search on through every other case to show that the solution
// is the only one.

import type { KKPuzzle } from './puzzle.js';
import { mixSeed, Rng } from '../util/random.js';
import { searchEvents, type SearchEvent } from './solver.js';
import { evaluate3, mentioned } from './statement.js';
import { listNames, renderStatement } from './text.js';
import { formatAnswer } from './prompt.js';

/** How much a trace says: 'terse' < 'normal' < 'long' (reflective: re-checks, alternatives). */
export type TraceVerbosity = 'terse' | 'normal' | 'long';

/** Options of {@link symbolicTrace}. */
export interface TraceOptions {
  /** Default 'normal'. */
  verbosity?: TraceVerbosity;
  /** Varies the wording; the same seed and puzzle give the same trace. Default 0. */
  seed?: number;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

class Narrator {
  private a: Int8Array;
  private readonly snapshots: Int8Array[] = [];
  private readonly chain: number[] = [];
  private readonly paragraphs: string[][] = [[]];
  private solutions = 0;

  constructor(
    private readonly p: KKPuzzle,
    private readonly verbosity: TraceVerbosity,
    private readonly rng: Rng,
  ) {
    this.a = new Int8Array(p.names.length).fill(-1);
  }

  private say(s: string): void {
    this.paragraphs[this.paragraphs.length - 1].push(s);
  }

  private paragraph(): void {
    if (this.paragraphs[this.paragraphs.length - 1].length) this.paragraphs.push([]);
  }

  private name(i: number): string {
    return this.p.names[i];
  }

  private role(knight: boolean): string {
    return knight ? this.p.knight_knave.a_knight : this.p.knight_knave.a_knave;
  }

  private is(i: number, knight: boolean): string {
    return `${this.name(i)} is ${this.role(knight)}`;
  }

  private claim(j: number): string {
    return `"${renderStatement(this.p.statements[j], this.p.names, this.p.knight_knave)}"`;
  }

  private truth(j: number): 0 | 1 {
    const v = evaluate3(this.p.statements[j], this.a);
    if (v < 0) throw new Error(`trace: ${this.name(j)}'s statement has no truth value yet (internal error)`);
    return v as 0 | 1;
  }

  // Known roles of the people statement j mentions, except `skip`: "A is a knight and B is a knave".
  private facts(j: number, skip: readonly number[] = []): string {
    const known = mentioned(this.p.statements[j]).filter((i) => this.a[i] >= 0 && !skip.includes(i));
    return listAnd(known.map((i) => this.is(i, this.a[i] === 1)));
  }

  private pick(options: readonly string[]): string {
    return this.rng.pick(options);
  }

  intro(): void {
    const { a_knight, a_knave } = this.p.knight_knave;
    if (this.verbosity === 'terse') {
      this.say('I will assume roles one at a time and follow the statements until something contradicts.');
      return;
    }
    this.say(
      `${cap(a_knight)} always tells the truth, so ${a_knight}'s statement must be true; ${a_knave} always lies, so ${a_knave}'s statement must be false.`,
    );
    this.say(
      'I will assume a role for one person, follow what the statements then force, and back up whenever I reach a contradiction.',
    );
    if (this.verbosity === 'long') {
      this.paragraph();
      this.say('First, what everyone says:');
      this.p.names.forEach((_, j) => this.say(`\n- ${this.name(j)}: ${this.claim(j)}`));
    }
    this.paragraph();
  }

  // Tells events[i] (and the run of events it groups with); returns how many it told.
  event(events: readonly SearchEvent[], i: number): number {
    const e = events[i];
    switch (e.kind) {
      case 'assume':
        return this.assume(e, events[i + 1]);
      case 'deduce':
        return e.from === 'role' ? this.deduceFromRole(events, i) : this.deduceFromValue(e);
      case 'conflict':
        return this.conflict(e);
      case 'exhausted':
        if (this.verbosity !== 'terse')
          this.say(
            this.pick([
              `Neither role works for ${this.name(e.person)} here.`,
              `Both options for ${this.name(e.person)} fail.`,
            ]),
          );
        return 1;
      case 'solution':
        return this.solution(e.knights);
    }
  }

  private assume(e: Extract<SearchEvent, { kind: 'assume' }>, next: SearchEvent | undefined): number {
    if (e.knight) this.snapshots[e.depth] = this.a.slice();
    else this.a = this.snapshots[e.depth].slice();
    this.a[e.person] = e.knight ? 1 : 0;
    this.chain.length = e.depth;
    this.chain.push(e.person);
    this.paragraph();
    const P = this.name(e.person);
    // The assumptions still standing above this choice.
    const standing = listAnd(this.chain.slice(0, e.depth).map((i) => this.is(i, this.a[i] === 1)));
    if (e.knight) {
      this.say(
        this.pick([
          `Suppose ${this.is(e.person, true)}.`,
          `Let's assume ${this.is(e.person, true)}.`,
          `Assume ${this.is(e.person, true)}.`,
          `What if ${this.is(e.person, true)}?`,
        ]),
      );
    } else if (e.retry) {
      if (this.verbosity === 'long')
        this.say(this.pick(['That fails.', 'Hmm, that does not work.', 'That assumption leads nowhere.']));
      const under = e.depth > 0 && this.verbosity !== 'terse' ? ` while ${standing}` : '';
      this.say(`So ${P} cannot be ${this.role(true)}${under}; ${this.is(e.person, false)}.`);
    } else {
      const still =
        e.depth > 0
          ? `, still with ${listAnd(this.chain.slice(0, e.depth).map((i) => `${this.name(i)} ${this.role(this.a[i] === 1)}`))}`
          : '';
      this.say(
        this.pick([
          `Now the other case${still}: what if ${this.is(e.person, false)}?`,
          `Could ${P} be ${this.role(false)} instead${still}? Let me check.`,
        ]),
      );
    }
    if (next?.kind === 'assume' && next.depth > e.depth && this.verbosity !== 'terse')
      this.say('That alone does not fix anyone else yet.');
    return 1;
  }

  // A run of roles forced by one speaker's known role.
  private deduceFromRole(events: readonly SearchEvent[], i: number): number {
    const run: Extract<SearchEvent, { kind: 'deduce' }>[] = [];
    const j = (events[i] as Extract<SearchEvent, { kind: 'deduce' }>).speaker;
    for (let k = i; k < events.length; k++) {
      const f = events[k];
      if (f.kind !== 'deduce' || f.from !== 'role' || f.speaker !== j) break;
      run.push(f);
    }
    const forced = run.map((d) => d.person);
    const context = this.facts(j, [...forced, j]);
    for (const d of run) this.a[d.person] = d.knight ? 1 : 0;
    const result = listAnd(run.map((d) => this.is(d.person, d.knight)));
    const knight = this.a[j] === 1;
    if (this.verbosity === 'terse') {
      this.say(`${this.name(j)}'s statement is then ${knight ? 'true' : 'false'}, so ${result}.`);
    } else {
      const given = context ? ` Given that ${context}, this means ${result}.` : ` So ${result}.`;
      this.say(
        `Since ${this.is(j, knight)}, ${this.name(j)}'s statement ${this.claim(j)} must be ${knight ? 'true' : 'false'}.${given}`,
      );
    }
    return run.length;
  }

  private deduceFromValue(e: Extract<SearchEvent, { kind: 'deduce' }>): number {
    const j = e.speaker;
    const v = this.truth(j);
    const why = this.facts(j, [j]) || this.facts(j);
    this.a[j] = e.knight ? 1 : 0;
    if (this.verbosity === 'terse')
      this.say(`${this.name(j)}'s statement is ${v ? 'true' : 'false'}, so ${this.is(j, e.knight)}.`);
    else
      this.say(
        `${this.name(j)}'s statement ${this.claim(j)} is ${v ? 'true' : 'false'}${why ? `, because ${why}` : ''}. So ${this.name(j)} is ${v ? 'telling the truth' : 'lying'}: ${this.is(j, e.knight)}.`,
      );
    return 1;
  }

  private conflict(e: Extract<SearchEvent, { kind: 'conflict' }>): number {
    const j = e.speaker;
    const knight = this.a[j] === 1;
    const oops = this.verbosity === 'long' ? this.pick(['Wait, ', 'Hmm, ', 'But ']) : 'But ';
    if (e.person !== undefined) {
      const p = e.person;
      const has = this.a[p] === 1;
      if (this.verbosity === 'terse')
        this.say(
          `${oops}${this.name(j)}'s statement would then need ${this.name(p)} to be ${this.role(!has)}, while ${this.is(p, has)}. Contradiction.`,
        );
      else
        this.say(
          `${oops}for ${this.name(j)}'s statement ${this.claim(j)} to be ${knight ? 'true' : 'false'}, ${this.name(p)} would have to be ${this.role(!has)}, and we already have ${this.is(p, has)}. Contradiction.`,
        );
    } else {
      const v = this.truth(j);
      const why = this.facts(j);
      if (this.verbosity === 'terse')
        this.say(
          `${oops}${this.name(j)}'s statement is ${v ? 'true' : 'false'}, while ${this.is(j, knight)}. Contradiction.`,
        );
      else
        this.say(
          `${oops}then ${this.name(j)}'s statement ${this.claim(j)} is ${v ? 'true' : 'false'}${why ? ` (${why})` : ''}, while ${this.is(j, knight)}, who ${knight ? 'always tells the truth' : 'always lies'}. Contradiction.`,
        );
    }
    return 1;
  }

  private solution(knights: readonly boolean[]): number {
    this.solutions++;
    const all = listNames(knights.map((k, i) => this.is(i, k)));
    if (this.solutions > 1) throw new Error('trace: the puzzle has more than one solution');
    this.say(
      this.verbosity === 'terse'
        ? 'Every person has a role and nothing contradicts.'
        : `Now every person has a role and no statement is contradicted: ${all}.`,
    );
    if (this.verbosity === 'long') {
      this.paragraph();
      this.say('Let me double-check every statement against this assignment.');
      this.p.names.forEach((_, j) => {
        const v = this.truth(j);
        this.say(
          `\n- ${this.name(j)} is ${this.role(knights[j])} and says ${this.claim(j)}, which is ${v ? 'true' : 'false'}: ${v === (knights[j] ? 1 : 0) ? 'consistent' : 'INCONSISTENT'}.`,
        );
      });
      this.paragraph();
      this.say(
        this.pick([
          'Is this the only possibility? Let me check the cases I skipped.',
          'Before answering, let me make sure no other assignment works.',
        ]),
      );
    }
    return 1;
  }

  finish(): string {
    if (this.verbosity === 'long') {
      this.paragraph();
      this.say('Every other case ends in a contradiction, so this solution is the only one.');
    }
    this.paragraph();
    this.say(`So the answer is: ${this.p.solution_text}`);
    return this.paragraphs
      .filter((ps) => ps.length)
      .map((ps) => ps.join(' ').replace(/ \n/g, '\n'))
      .join('\n\n');
  }
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

function listAnd(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

/**
 * A step-by-step reasoning trace for a puzzle with exactly one solution, produced from the
 * solver's search, ending in the answer block: the completion that follows a prompt ending in
 * `<think>` (`"\n<reasoning>\n</think>\n<answer>\n(1) ...\n</answer>"`).
 * Throws when the puzzle has no solution, several, or a stored solution that is wrong.
 */
export function symbolicTrace(puzzle: KKPuzzle, opts: TraceOptions = {}): string {
  const verbosity = opts.verbosity ?? 'normal';
  if (verbosity !== 'terse' && verbosity !== 'normal' && verbosity !== 'long')
    throw new RangeError(`verbosity: expected 'terse', 'normal' or 'long', got ${JSON.stringify(verbosity)}`);
  const events = searchEvents(puzzle.statements, { limit: verbosity === 'long' ? Infinity : 2 });
  const found = events.filter((e): e is Extract<SearchEvent, { kind: 'solution' }> => e.kind === 'solution');
  const where = `puzzle${puzzle.index !== undefined ? ` ${puzzle.index}` : ''}`;
  if (found.length !== 1)
    throw new RangeError(
      `${where}: has ${found.length === 0 ? 'no solution' : 'more than one solution'}; a trace needs exactly one`,
    );
  if (found[0].knights.some((k, i) => k !== puzzle.solution[i]))
    throw new RangeError(`${where}: its stored solution is not the one that satisfies its statements`);
  // terse and normal stop at the solution; the search ran on only to prove it unique.
  const told = verbosity === 'long' ? events : events.slice(0, events.indexOf(found[0]) + 1);
  const n = new Narrator(puzzle, verbosity, new Rng(mixSeed(opts.seed ?? 0, hashString(puzzle.quiz))));
  n.intro();
  for (let i = 0; i < told.length;) i += n.event(told, i);
  return `\n${n.finish()}\n</think>\n${formatAnswer(puzzle)}`;
}
