import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import test from 'ava';

import { newReadStats, readPairs, readParquet, readRecords, type SourceRecord } from '../../lib/data/readers.js';

const dir = mkdtempSync(join(tmpdir(), 'ws-read-'));
const lines = [
  JSON.stringify({ q: 'one', a: 'uno' }),
  '',
  '{ not json',
  JSON.stringify({ q: 'two', meta: { a: 'dos' }, a: 'dos' }),
  JSON.stringify([1, 2]),
  JSON.stringify({ q: 'three', a: 3 }),
  JSON.stringify({ q: 'four', a: 'cuatro' }),
].join('\n');
const plainFile = join(dir, 'd.jsonl');
const gzFile = join(dir, 'd.jsonl.gz');
writeFileSync(plainFile, lines);
writeFileSync(gzFile, gzipSync(lines));

async function all<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}

test('JSONL errors name the file and line', async (t) => {
  await t.throwsAsync(all(readRecords(plainFile)), {
    message: `${plainFile}:line 3: invalid JSON (Expected property name or '}' in JSON at position 2)`,
  });
  const recs: SourceRecord[] = [];
  await t.throwsAsync(
    (async () => {
      for await (const r of readRecords(gzFile)) recs.push(r);
    })(),
    { message: new RegExp(`^${gzFile.replace(/[.]/g, '\\.')}:line 3: invalid JSON`) },
  );
  t.deepEqual(
    recs.map((r) => r.where),
    [`${gzFile}:line 1`],
  );
});

test('--skip-bad counts what it skipped, plain and gzip alike', async (t) => {
  for (const f of [plainFile, gzFile]) {
    const stats = newReadStats();
    const pairs = await all(readPairs(f, { promptField: 'q', completionField: 'a' }, { skipBad: true, stats }));
    t.deepEqual(
      pairs.map((p) => [p.prompt, p.completion]),
      [
        ['one', 'uno'],
        ['two', 'dos'],
        ['four', 'cuatro'],
      ],
    );
    t.is(stats.records, 3);
    t.is(stats.skipped, 3); // bad JSON, an array, a number where a string belongs
    t.regex(stats.errors[2], /line 6: field "a" is a number, not a string/);
  }
  const stats = newReadStats();
  const nested = await all(
    readPairs(plainFile, { promptField: 'q', completionField: 'meta.a' }, { skipBad: true, stats }),
  );
  t.deepEqual(
    nested.map((p) => p.completion),
    ['dos'],
  );
  await t.throwsAsync(all(readPairs(join(dir, 'nope.jsonl'), { promptField: 'q', completionField: 'a' })), {
    message: /cannot open .*nope\.jsonl/,
  });
});

test('Parquet rows read by row group with 1-based row names; a field map reaches into lists', async (t) => {
  const f = '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet';
  const rows = await all(readParquet(f));
  t.is(rows.length, 100);
  t.is(rows[0].where, `${f}:row 1`);
  t.is(typeof rows[0].value.index, 'number');
  const pairs = await all(readPairs(f, { promptField: 'prompt.0.content', completionField: 'solution_text_format' }));
  t.is(pairs.length, 100);
  t.true(pairs[0].prompt.startsWith('<|im_start|>system\n'));
  t.regex(pairs[0].completion, /^\(1\) \w+ is a kni/);
  await t.throwsAsync(all(readPairs(f, { promptField: 'quiz', completionField: 'answer' })), {
    message: `${f}:row 1: field "answer" is missing`,
  });
  const bad = join(dir, 'bad.parquet');
  writeFileSync(bad, 'PAR1 but not really');
  await t.throwsAsync(all(readRecords(bad)), { message: /bad\.parquet: not a readable Parquet file/ });
});
