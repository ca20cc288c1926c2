import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';

import { formatStatements, generatePuzzles, loadPuzzles, toRecord, writePuzzles } from '../../lib/kk/index.js';
import { KK_DATA, publishedPuzzles } from './published.js';

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'kk-io-'));

test('loads the published Parquet files: 900 train and 100 test rows per size', async (t) => {
  for (const { file, puzzles } of await publishedPuzzles()) {
    t.is(puzzles.length, file.endsWith('train.parquet') ? 900 : 100);
    const n = Number(/(\d)ppl/.exec(file)![1]);
    t.true(puzzles.every((p) => p.names.length === n && p.statements.length === n && p.solution.length === n));
  }
  const [first] = (await publishedPuzzles())[0].puzzles;
  t.deepEqual(first.names, ['Michael', 'Zoey', 'Ethan']);
  t.is(
    formatStatements(first.statements),
    "(('<=>', ('telling-truth', 2), ('telling-truth', 0)), ('or', ('telling-truth', 1), ('telling-truth', 2)), ('<=>', ('lying', 0), ('lying', 1)))",
  );
  t.is(first.index, 100);
});

test('published puzzles written as JSONL load back unchanged', async (t) => {
  const dir = await tmp();
  const { puzzles } = (await publishedPuzzles())[2];
  const file = path.join(dir, 'p.jsonl');
  await writePuzzles(file, puzzles);
  t.deepEqual(await loadPuzzles(file), puzzles);
  t.deepEqual(await fs.readdir(dir), ['p.jsonl']);
});

test('reads a JSON array and tuples given as JSON arrays; fills derived columns', async (t) => {
  const dir = await tmp();
  const [p] = generatePuzzles({ people: 3, count: 1, seed: 2 });
  const { solution_text: _a, solution_text_format: _b, knight_knave: _c, ...bare } = toRecord(p);
  const file = path.join(dir, 'p.json');
  await fs.writeFile(file, JSON.stringify([{ ...bare, statements: p.statements }]));
  const [back] = await loadPuzzles(file);
  t.deepEqual(back, p);
});

test('errors name the file, the line and the field', async (t) => {
  const dir = await tmp();
  const good = JSON.stringify(toRecord(generatePuzzles({ people: 3, count: 1, seed: 1 })[0]));
  const write = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await fs.writeFile(f, text);
    return f;
  };
  const badJson = await write('a.jsonl', `${good}\n\n{"quiz": oops}\n`);
  await t.throwsAsync(loadPuzzles(badJson), { message: new RegExp(`${badJson}:line 3: invalid JSON`) });
  const noSolution = await write('b.jsonl', `${good}\n${JSON.stringify({ ...JSON.parse(good), solution: [true] })}\n`);
  await t.throwsAsync(loadPuzzles(noSolution), {
    message: new RegExp(`${noSolution}:line 2: field "solution" must be an array of 3 booleans`),
  });
  const badStatements = await write('c.jsonl', JSON.stringify({ ...JSON.parse(good), statements: "(('lying', 7),)" }));
  await t.throwsAsync(loadPuzzles(badStatements), {
    message: /c\.jsonl:line 1: field "statements": 1 statements for 3 people/,
  });
  await t.throwsAsync(loadPuzzles(await write('d.csv', 'x')), { message: /d\.csv: unknown puzzle file type ".csv"/ });
  await t.throwsAsync(loadPuzzles(await write('e.parquet', 'not parquet at all')), {
    message: /e\.parquet: not a readable Parquet file/,
  });
  await t.throwsAsync(loadPuzzles(path.join(KK_DATA, 'missing.parquet')), { code: 'ENOENT' });
  await t.throwsAsync(writePuzzles(path.join(dir, 'out.parquet'), []), { message: /written as JSONL/ });
});
