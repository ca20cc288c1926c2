import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import test from 'ava';

import { swapDirectory, writeFileAtomic } from '../../lib/util/atomic.js';
import { parseJsonl, readJsonlFile, readJsonlFileSync, stringField } from '../../lib/util/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'util-'));

test('jsonl: records carry file:line; blank lines skipped; gzip read the same', async (t) => {
  const text = '{"a": 1}\n\n{"a": "x"}\n';
  writeFileSync(join(dir, 'p.jsonl'), text);
  writeFileSync(join(dir, 'p.jsonl.gz'), gzipSync(text));
  const plain = await readJsonlFile(join(dir, 'p.jsonl'));
  t.deepEqual(
    plain.map((r) => [r.where, r.line, r.value]),
    [
      [`${join(dir, 'p.jsonl')}:line 1`, 1, { a: 1 }],
      [`${join(dir, 'p.jsonl')}:line 3`, 3, { a: 'x' }],
    ],
  );
  t.deepEqual(
    (await readJsonlFile(join(dir, 'p.jsonl.gz'))).map((r) => r.value),
    plain.map((r) => r.value),
  );
  t.is(stringField(plain[1], 'a'), 'x');
  t.throws(() => stringField(plain[0], 'a'), { message: /p\.jsonl:line 1: field "a" must be a string, got number/ });
});

test('jsonl: one message for a bad line, naming the file and the line', (t) => {
  t.throws(() => parseJsonl('{"a": 1}\n{oops\n', 'f.jsonl'), { message: /^f\.jsonl:line 2: invalid JSON \(/ });
  t.throws(() => parseJsonl('[1, 2]\n', 'f.jsonl'), {
    message: 'f.jsonl:line 1: expected a JSON object, got an array',
  });
  t.throws(() => readJsonlFileSync(join(dir, 'missing.jsonl')), { message: /^cannot read .*missing\.jsonl/ });
});

test('jsonl: tornTail drops only an unterminated bad last line', (t) => {
  t.deepEqual(
    parseJsonl('{"a": 1}\n{"a": 2', 'm.jsonl', { tornTail: true }).map((r) => r.value),
    [{ a: 1 }],
  );
  t.deepEqual(
    parseJsonl('{"a": 1}\n{"a": 2}', 'm.jsonl', { tornTail: true }).map((r) => r.value),
    [{ a: 1 }, { a: 2 }],
  );
  t.throws(() => parseJsonl('{"a": \n{"a": 2}\n', 'm.jsonl', { tornTail: true }), { message: /m\.jsonl:line 1/ });
});

test('atomic: a file is replaced whole and no temporary is left', (t) => {
  const f = join(dir, 'out.json');
  writeFileAtomic(f, 'old\n');
  writeFileAtomic(f, 'new\n');
  t.is(readFileSync(f, 'utf8'), 'new\n');
  t.deepEqual(
    readdirSync(dir).filter((e) => e.startsWith('out.json')),
    ['out.json'],
  );
  t.throws(() => writeFileAtomic(join(dir, 'no-such-dir', 'x'), 'x'));
});

test('atomic: swapDirectory puts a finished folder in place of an old one', (t) => {
  const target = join(dir, 'ck');
  for (const [name, content] of [
    ['.tmp-1', 'one'],
    ['.tmp-2', 'two'],
  ]) {
    const tmp = join(dir, name);
    mkdirSync(join(tmp, 'sub'), { recursive: true });
    writeFileSync(join(tmp, 'sub', 'f'), content);
    swapDirectory(tmp, target);
  }
  t.is(readFileSync(join(target, 'sub', 'f'), 'utf8'), 'two');
  t.deepEqual(
    readdirSync(dir).filter((e) => e.startsWith('.tmp') || e.startsWith('ck')),
    ['ck'],
  );
});
