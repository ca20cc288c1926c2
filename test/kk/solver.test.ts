import test from 'ava';

import {
  countSolutions,
  evaluateStatement3 as evaluate3,
  generatePuzzles,
  hasUniqueSolution,
  sampleStatements,
  satisfies,
  searchEvents,
  solve,
  solveBruteForce,
  type Statement,
} from '../../lib/kk/index.js';
import { mixSeed, Rng } from '../../lib/util/random.js';
import { publishedPuzzles } from './published.js';

const key = (sols: boolean[][]) => sols.map((s) => s.map(Number).join('')).sort();

test('every published puzzle has exactly one solution, the stored one', async (t) => {
  let rows = 0;
  for (const { file, puzzles } of await publishedPuzzles()) {
    for (const p of puzzles) {
      const sols = solve(p.statements);
      t.is(sols.length, 1, `${file} row ${p.index}`);
      t.deepEqual(sols[0], p.solution, `${file} row ${p.index}`);
      rows++;
    }
  }
  t.is(rows, 4000);
});

test('finds exactly the assignments brute force finds, on unfiltered random statements', (t) => {
  const counts = new Map<number, number>();
  for (let n = 1; n <= 10; n++) {
    const rng = new Rng(mixSeed(11, n));
    for (let k = 0; k < 60; k++) {
      const statements = sampleStatements(rng, n, 1 + rng.int(3), 2 + rng.int(2));
      const fast = solve(statements);
      t.deepEqual(key(fast), key(solveBruteForce(statements)), JSON.stringify(statements));
      counts.set(fast.length, (counts.get(fast.length) ?? 0) + 1);
    }
  }
  // The sample covers inconsistent, unique and many-solution puzzles.
  t.true((counts.get(0) ?? 0) > 10 && (counts.get(1) ?? 0) > 10 && [...counts.keys()].some((c) => c >= 4));
});

test('solves 12- to 40-person puzzles, checked against brute force up to 16', (t) => {
  for (const people of [12, 16, 24, 40]) {
    for (const p of generatePuzzles({ people, count: 20, seed: 3 })) {
      const sols = solve(p.statements);
      t.is(sols.length, 1);
      t.true(satisfies(p.statements, sols[0]));
      if (people <= 16) t.deepEqual(key(solveBruteForce(p.statements)), key(sols));
    }
  }
});

test('limit stops the search early', (t) => {
  // Nobody says anything binding: every one of the 2^4 assignments works.
  const free: Statement[] = [0, 1, 2, 3].map((i) => ['telling-truth', i] as Statement);
  t.is(countSolutions(free), 16);
  t.is(countSolutions(free, 3), 3);
  t.false(hasUniqueSolution(free));
  t.is(
    countSolutions([
      ['lying', 1],
      ['telling-truth', 0],
    ]),
    0,
  );
  t.is(
    countSolutions([
      ['lying', 1],
      ['lying', 0],
    ]),
    2,
  );
  // "I am a knave or B is a knave" can only come from a knight, which makes B a knave.
  t.true(
    hasUniqueSolution([
      ['or', ['lying', 0], ['lying', 1]],
      ['lying', 0],
    ]),
  );
  t.deepEqual(
    solve([
      ['or', ['lying', 0], ['lying', 1]],
      ['lying', 0],
    ]),
    [[true, false]],
  );
  t.throws(() => solve([]), { message: /at least one person/ });
});

test('search events replay to consistent states: deductions are forced, conflicts are real', (t) => {
  const rng = new Rng(5);
  let conflicts = 0,
    deductions = 0;
  for (let k = 0; k < 200; k++) {
    const n = 3 + rng.int(5);
    const statements = sampleStatements(rng, n, 2, 2);
    const events = searchEvents(statements);
    let a = new Int8Array(n).fill(-1);
    const snaps: Int8Array[] = [];
    for (const e of events) {
      if (e.kind === 'assume') {
        if (e.knight) snaps[e.depth] = a.slice();
        else a = snaps[e.depth].slice();
        t.is(a[e.person], -1);
        a[e.person] = e.knight ? 1 : 0;
      } else if (e.kind === 'deduce') {
        t.is(a[e.person], -1);
        // The role is forced: every full assignment extending the current one with the other role
        // violates the speaker's constraint or is inconsistent.
        const other = a.slice();
        other[e.person] = e.knight ? 0 : 1;
        const full = solveBruteForce(statements).filter((s) =>
          s.every((x, i) => other[i] < 0 || x === (other[i] === 1)),
        );
        t.is(full.length, 0);
        a[e.person] = e.knight ? 1 : 0;
        deductions++;
      } else if (e.kind === 'conflict') {
        const s = statements[e.speaker];
        if (e.person === undefined) t.not(evaluate3(s, a), a[e.speaker]);
        t.is(
          solveBruteForce(statements).filter((sol) => sol.every((x, i) => a[i] < 0 || x === (a[i] === 1))).length,
          0,
        );
        conflicts++;
      } else if (e.kind === 'solution') {
        t.true(satisfies(statements, e.knights));
        t.deepEqual(
          e.knights,
          Array.from(a, (v) => v === 1),
        );
      }
    }
  }
  t.true(conflicts > 50 && deductions > 200);
});
