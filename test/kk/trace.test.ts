import test from 'ava';

import { generatePuzzles, kkRewardDetails, symbolicTrace, type KKPuzzle, type Statement } from '../../lib/kk/index.js';
import { publishedPuzzles } from './published.js';

const VERBOSITIES = ['terse', 'normal', 'long'] as const;

test('every symbolic trace of every published puzzle scores +2 under both rewards', async (t) => {
  const failures: string[] = [];
  let n = 0;
  for (const { file, puzzles } of await publishedPuzzles()) {
    for (const p of puzzles) {
      for (const verbosity of VERBOSITIES) {
        const trace = symbolicTrace(p, { verbosity });
        const paper = kkRewardDetails(trace, p, { variant: 'paper' });
        const logicRl = kkRewardDetails(trace, p, { variant: 'logic-rl' });
        if (paper.reward !== 2 || logicRl.reward !== 3)
          failures.push(`${file} row ${p.index} ${verbosity}: ${paper.reason}; ${logicRl.reason}`);
        n++;
      }
    }
  }
  t.is(n, 12000);
  t.deepEqual(failures, []);
});

test('traces of generated puzzles of 2 to 12 people score +2', (t) => {
  const failures: string[] = [];
  for (const p of generatePuzzles({ people: '2-12', count: 330, seed: 8 })) {
    for (const verbosity of VERBOSITIES) {
      const r = kkRewardDetails(symbolicTrace(p, { verbosity }), p);
      if (r.reward !== 2) failures.push(`${p.names.length} people, ${verbosity}: ${r.reason}`);
    }
  }
  t.deepEqual(failures, []);
});

// Michael, Mason, Jacob: Michael says "Mason is not a knight", Mason says "Michael is a knight
// and Jacob is a knave", Jacob says "If Michael is a knight then Jacob is a knight". Answer:
// Michael knight, Mason knave, Jacob knight.
async function michael(): Promise<KKPuzzle> {
  return (await publishedPuzzles())[0].puzzles[1];
}

test('a normal trace follows the statements from an assumption to the answer', async (t) => {
  const p = await michael();
  const trace = symbolicTrace(p);
  t.true(trace.startsWith('\n'));
  t.regex(trace, /(Suppose|Assume|Let's assume|What if) Michael is a knight/);
  t.regex(
    trace,
    /Since Michael is a knight, Michael's statement "Mason is not a knight" must be true\. So Mason is a knave\./,
  );
  t.regex(
    trace,
    /Since Mason is a knave, Mason's statement "Michael is a knight and Jacob is a knave" must be false\. Given that Michael is a knight, this means Jacob is a knight\./,
  );
  t.true(
    trace.endsWith(
      'So the answer is: Michael is a knight, Mason is a knave, and Jacob is a knight.\n</think>\n<answer>\n(1) Michael is a knight\n(2) Mason is a knave\n(3) Jacob is a knight\n</answer>',
    ),
  );
});

test('a long trace re-checks the statements and rules out the other case', async (t) => {
  const p = await michael();
  const long = symbolicTrace(p, { verbosity: 'long' });
  t.regex(long, /- Mason is a knave and says "Michael is a knight and Jacob is a knave", which is false: consistent\./);
  t.regex(long, /Michael (be|is) a knave/);
  t.regex(
    long,
    /Mason's statement "Michael is a knight and Jacob is a knave" is false \(Michael is a knave\), while Mason is a knight, who always tells the truth\. Contradiction\./,
  );
  t.regex(long, /this solution is the only one/);
  const terse = symbolicTrace(p, { verbosity: 'terse' });
  const normal = symbolicTrace(p, { verbosity: 'normal' });
  t.true(terse.length < normal.length && normal.length < long.length);
});

test('backtracking is narrated: a failed assumption is reversed', (t) => {
  // A says "B is a knave and A is a knave"... only a knave can say it, and then B must be a knight.
  const statements: Statement[] = [
    ['and', ['lying', 1], ['lying', 0]],
    ['telling-truth', 1],
  ];
  const [p] = generatePuzzles({ people: 2, count: 1, seed: 1 });
  const puzzle: KKPuzzle = {
    ...p,
    statements,
    solution: [false, true],
    solution_text: 'x.',
    solution_text_format: `(1) ${p.names[0]} is a knave\n(2) ${p.names[1]} is a knight`,
  };
  const trace = symbolicTrace(puzzle, { verbosity: 'normal' });
  t.regex(trace, new RegExp(`So ${p.names[0]} cannot be a knight; ${p.names[0]} is a knave\\.`));
  t.regex(trace, /Contradiction\./);
  t.is(kkRewardDetails(trace, puzzle).reward, 2);
});

test('the wording varies with the seed and is fixed by it', (t) => {
  const ps = generatePuzzles({ people: 5, count: 20, seed: 2 });
  const a = ps.map((p) => symbolicTrace(p, { seed: 1 }));
  t.deepEqual(
    ps.map((p) => symbolicTrace(p, { seed: 1 })),
    a,
  );
  t.notDeepEqual(
    ps.map((p) => symbolicTrace(p, { seed: 2 })),
    a,
  );
});

test('refuses puzzles without exactly one solution or with a wrong stored solution', (t) => {
  const [p] = generatePuzzles({ people: 3, count: 1, seed: 1 });
  t.throws(
    () =>
      symbolicTrace({
        ...p,
        statements: [
          ['telling-truth', 0],
          ['telling-truth', 1],
          ['telling-truth', 2],
        ],
      }),
    { message: /more than one solution/ },
  );
  t.throws(
    () =>
      symbolicTrace({
        ...p,
        statements: [
          ['lying', 1],
          ['telling-truth', 0],
          ['telling-truth', 2],
        ],
      }),
    { message: /no solution/ },
  );
  t.throws(() => symbolicTrace({ ...p, solution: p.solution.map((k) => !k) }), { message: /stored solution/ });
  t.throws(() => symbolicTrace(p, { verbosity: 'chatty' as 'long' }), { message: /verbosity/ });
});
