import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';

import {
  statementDepth as depth,
  formatStatements,
  generatePuzzles,
  loadPuzzles,
  matchQuizTemplates,
  parsePeople,
  SAYING_TEMPLATES,
  solve,
  statementWidth as width,
  writePuzzles,
  type KKPuzzle,
  type Statement,
} from '../../lib/kk/index.js';
import { publishedPuzzles } from './published.js';

// The shape of a statement: "t"/"l" for leaves, "(op ...)" otherwise.
const shape = (s: Statement): string =>
  s[0] === 'telling-truth'
    ? 't'
    : s[0] === 'lying'
      ? 'l'
      : `(${s[0]} ${s
          .slice(1)
          .map((c) => shape(c as Statement))
          .join(' ')})`;

test('1000 puzzles of each size 2..8: unique solution, load back, re-solve to the stored solution, published phrasing', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kk-gen-'));
  const file = path.join(dir, 'gen.jsonl');
  const puzzles = generatePuzzles({ people: '2-8', count: 7000, seed: 1 });
  t.is(puzzles.length, 7000);
  await writePuzzles(file, puzzles);
  const back = await loadPuzzles(file);
  t.is(JSON.stringify(back), JSON.stringify(puzzles));
  const sizes = new Map<number, number>();
  const keys = new Set<string>();
  const templates = new Set<number>();
  const bad: string[] = [];
  for (const p of back) {
    sizes.set(p.names.length, (sizes.get(p.names.length) ?? 0) + 1);
    const sols = solve(p.statements);
    if (sols.length !== 1 || sols[0].some((k, i) => k !== p.solution[i]))
      bad.push(`puzzle ${p.index}: ${sols.length} solutions`);
    const found = matchQuizTemplates(p.quiz, p.statements, p.names, p.knight_knave);
    if (!found) bad.push(`puzzle ${p.index}: quiz is not in the published phrasing`);
    found?.forEach((i) => templates.add(i));
    keys.add(`${p.names.join()}|${formatStatements(p.statements)}`);
  }
  t.deepEqual(bad, []);
  t.deepEqual(
    [...sizes],
    [2, 3, 4, 5, 6, 7, 8].map((n) => [n, 1000]),
  );
  t.is(keys.size, 7000);
  t.is(templates.size, SAYING_TEMPLATES.length);
});

test('statements have the published shapes in similar proportions', async (t) => {
  const count = (ps: readonly KKPuzzle[]) => {
    const c = new Map<string, number>();
    let total = 0;
    for (const p of ps)
      for (const s of p.statements) {
        c.set(shape(s), (c.get(shape(s)) ?? 0) + 1);
        total++;
      }
    return { c, total };
  };
  const published = count((await publishedPuzzles()).flatMap((f) => f.puzzles));
  const ours = count(generatePuzzles({ people: '3-6', count: 4000, seed: 9 }));
  t.deepEqual([...ours.c.keys()].sort(), [...published.c.keys()].sort());
  for (const [k, v] of published.c) {
    const a = v / published.total,
      b = ours.c.get(k)! / ours.total;
    t.true(Math.abs(a - b) < 0.02, `${k}: published ${a.toFixed(3)}, generated ${b.toFixed(3)}`);
  }
});

test('reproducible by seed; each size its own stream', (t) => {
  const a = generatePuzzles({ people: [3, 5], count: 20, seed: 42 });
  t.deepEqual(generatePuzzles({ people: [3, 5], count: 20, seed: 42 }), a);
  t.notDeepEqual(
    generatePuzzles({ people: [3, 5], count: 20, seed: 43 }).map((p) => p.quiz),
    a.map((p) => p.quiz),
  );
  const fives = generatePuzzles({ people: 5, count: 10, seed: 42 });
  t.deepEqual(
    fives.map((p) => p.quiz),
    a.filter((p) => p.names.length === 5).map((p) => p.quiz),
  );
  t.deepEqual(
    a.map((p) => p.index),
    [...Array(20).keys()],
  );
});

test('depth and width controls', (t) => {
  const two = generatePuzzles({ people: 4, count: 100, seed: 1 });
  t.is(Math.max(...two.flatMap((p) => p.statements.map(depth))), 2);
  const deep = generatePuzzles({ people: 5, count: 200, seed: 1, depth: 4, width: 3 });
  const depths = deep.flatMap((p) => p.statements.map(depth));
  const widths = deep.flatMap((p) => p.statements.map(width));
  t.is(Math.max(...depths), 4);
  t.is(Math.max(...widths), 3);
  t.true(
    deep.every(
      (p) =>
        solve(p.statements).length === 1 && matchQuizTemplates(p.quiz, p.statements, p.names, p.knight_knave) !== null,
    ),
  );
});

test('12 people, role words, names, exclusion and strict de-duplication', (t) => {
  const big = generatePuzzles({
    people: 12,
    count: 50,
    seed: 4,
    roles: ['a saint', 'a sinner'],
    names: 'ABCDEFGHIJKLMN'.split(''),
  });
  t.true(big.every((p) => p.names.length === 12 && p.names.every((n) => 'ABCDEFGHIJKLMN'.includes(n))));
  t.true(
    big.every(
      (p) =>
        p.quiz.startsWith('A very special island is inhabited only by saints and sinners.') &&
        p.quiz.endsWith('So who is a saint and who is a sinner?'),
    ),
  );
  t.true(big[0].solution_text_format.includes('is a s'));
  const first = generatePuzzles({ people: 3, count: 100, seed: 1 });
  const again = generatePuzzles({ people: 3, count: 100, seed: 1, exclude: first });
  const seen = new Set(first.map((p) => `${p.names.join()}|${formatStatements(p.statements)}`));
  t.true(again.every((p) => !seen.has(`${p.names.join()}|${formatStatements(p.statements)}`)));
  const distinct = generatePuzzles({ people: 2, count: 300, seed: 1, dedupe: 'statements' });
  t.is(new Set(distinct.map((p) => formatStatements(p.statements))).size, 300);
  t.throws(() => generatePuzzles({ people: 2, count: 2000, seed: 1, dedupe: 'statements', maxTriesPerPuzzle: 20 }), {
    message: /found only \d+ of 2000 unique-solution puzzles for 2 people/,
  });
});

test('options are checked', (t) => {
  t.deepEqual(parsePeople('3-7'), [3, 4, 5, 6, 7]);
  t.deepEqual(parsePeople('3, 5,8'), [3, 5, 8]);
  t.deepEqual(parsePeople(4), [4]);
  t.throws(() => parsePeople('7-3'), { message: /people: range "7-3" is empty/ });
  t.throws(() => parsePeople('1-3'), { message: /people: each size must be an integer >= 2, got 1/ });
  t.throws(() => parsePeople('three'), { message: /people: expected N/ });
  t.throws(() => generatePuzzles({ people: 3, count: -1 }), { message: /count/ });
  t.throws(() => generatePuzzles({ people: 3, count: 1, depth: 1 }), { message: /depth: expected an integer >= 2/ });
  t.throws(() => generatePuzzles({ people: 3, count: 1, width: 1 }), { message: /width/ });
  t.throws(() => generatePuzzles({ people: 3, count: 1, seed: 1.5 }), { message: /seed/ });
  t.throws(() => generatePuzzles({ people: 60, count: 1 }), { message: /60 people need 60 names, the list has 51/ });
});
