import test from 'ava';

import { sampleStatements } from '../../lib/kk/generate.js';
import { Rng } from '../../lib/util/random.js';
import {
  evaluate,
  evaluate3,
  formatStatements,
  parseStatements,
  depth,
  width,
  mentioned,
  type Statement,
} from '../../lib/kk/statement.js';
import { readParquetRows } from '../../lib/kk/io.js';
import { PUBLISHED_FILES } from './published.js';

const allAssignments = (n: number) =>
  Array.from({ length: 1 << n }, (_, m) => Array.from({ length: n }, (_, i) => ((m >> i) & 1) === 1));

test('evaluate follows the truth tables', (t) => {
  const A: Statement = ['telling-truth', 0];
  const B: Statement = ['lying', 1];
  const cases: [Statement, (a: boolean, b: boolean) => boolean][] = [
    [A, (a) => a],
    [B, (_, b) => !b],
    [['not', A], (a) => !a],
    [['and', A, B], (a, b) => a && !b],
    [['or', A, B], (a, b) => a || !b],
    [['->', A, B], (a, b) => !a || !b],
    [['<=>', A, B], (a, b) => a === !b],
    [['and', A, B, ['telling-truth', 1]], () => false],
    [['or', A, B, ['telling-truth', 1]], () => true],
  ];
  for (const [s, f] of cases)
    for (const [a, b] of allAssignments(2)) t.is(evaluate(s, [a, b]), f(a, b), `${formatStatements([s])} at ${a},${b}`);
});

test('Kleene evaluation agrees with every completion of a partial assignment', (t) => {
  const rng = new Rng(7);
  let known = 0;
  for (let k = 0; k < 300; k++) {
    const n = 2 + rng.int(4);
    const [s] = sampleStatements(rng, n, 3, 3);
    const partial = Array.from({ length: n }, () => rng.int(3) - 1);
    const v = evaluate3(s, partial);
    const completions = allAssignments(n).filter((full) =>
      full.every((x, i) => partial[i] < 0 || x === (partial[i] === 1)),
    );
    const values = new Set(completions.map((full) => evaluate(s, full)));
    if (v >= 0) {
      known++;
      t.deepEqual([...values], [v === 1], formatStatements([s]));
    }
    if (partial.every((x) => x >= 0)) t.true(v >= 0);
  }
  t.true(known > 100);
});

test('published statements parse and format back to the same text', async (t) => {
  let rows = 0;
  for (const file of PUBLISHED_FILES) {
    for (const r of await readParquetRows(file)) {
      const text = r.statements as string;
      const parsed = parseStatements(text, (r.names as string[]).length);
      t.is(formatStatements(parsed), text);
      rows++;
    }
  }
  t.is(rows, 4000);
});

test('formatStatements writes a one-person puzzle as a Python 1-tuple', (t) => {
  const s: Statement[] = [['not', ['lying', 0]]];
  t.is(formatStatements(s), "(('not', ('lying', 0)),)");
  t.deepEqual(parseStatements(formatStatements(s), 1), s);
});

test('parseStatements names what is wrong', (t) => {
  t.throws(() => parseStatements("(('telling-truth', 3), ('lying', 0))", 2), { message: /person index 0\.\.1, got 3/ });
  t.throws(() => parseStatements("(('xor', ('lying', 0), ('lying', 1)), ('lying', 0))", 2), {
    message: /statements\[0\]: unknown operator "xor"/,
  });
  t.throws(() => parseStatements("(('->', ('lying', 0)), ('lying', 0))", 2), {
    message: /'->' takes 2 operands, got 1/,
  });
  t.throws(() => parseStatements("(('lying', 0), ('lying', 1)", 2), { message: /expected ',' or '\)' at offset/ });
  t.throws(() => parseStatements("(('lying', 0),)", 2), { message: /1 statements for 2 people/ });
  t.throws(() => parseStatements("(('lying', 0),) junk", 1, 'f.jsonl line 4: field "statements"'), {
    message: /^f\.jsonl line 4: field "statements": unexpected trailing text/,
  });
});

test('depth, width and mentioned people', (t) => {
  const s: Statement = ['and', ['telling-truth', 2], ['not', ['or', ['lying', 0], ['lying', 2], ['telling-truth', 1]]]];
  t.is(depth(s), 4);
  t.is(width(s), 3);
  t.deepEqual(mentioned(s), [2, 0, 1]);
});
