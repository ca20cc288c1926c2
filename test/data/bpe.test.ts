import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { trainBpe } from '../../lib/data/bpe.js';
import { kkTracePair } from '../../lib/kk/traces-published.js';
import { renderChat } from '../../lib/data/prompts.js';
import { readParquet } from '../../lib/data/readers.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';

const texts: string[] = [];
for await (const rec of readParquet('../shared/data/knights-and-knaves-logic-rl/4ppl/train.parquet')) {
  const p = kkTracePair(rec);
  texts.push(p.prompt + p.completion);
}
const dir = mkdtempSync(join(tmpdir(), 'ws-bpe-'));
const result = trainBpe(texts, { vocabSize: 768, out: dir });
const tok = Tokenizer.load(dir);

test('a trained tokenizer loads through the same loader with the requested vocabulary', (t) => {
  t.true(texts.join('').length > 1_000_000); // about 2 MB of K&K traces
  t.is(result.merges, 768 - 256 - 7);
  t.is(tok.vocabSize, 768);
  t.is(tok.eosTokenId, tok.specialTokens.get('<|endoftext|>'));
  t.is(tok.addedTokens.get('<think>'), 764);
  t.is(tok.padTokenId, tok.eosTokenId);
});

test('the loader reproduces the trainer’s own segmentation of the training text', (t) => {
  // Applying the saved merges by rank must give exactly the token count the trainer ended with.
  const n = texts.reduce((s, x) => s + tok.encode(x).length, 0);
  t.is(n, result.trainedTokens);
  const bytes = texts.reduce((s, x) => s + Buffer.byteLength(x), 0);
  t.true(n / bytes < 0.25, `tokens per byte ${n / bytes}`);
});

test('any text round-trips, unseen scripts fall back to bytes, tags are single tokens', (t) => {
  for (const s of [
    'Zoey is a knight.',
    '你好 😀 Ærø\n\tcode()',
    '<think>\nLet us see.\n</think>\n<answer> (1) A is a knave </answer><|endoftext|>',
  ]) {
    t.is(tok.decode(tok.encode(s)), s);
  }
  t.deepEqual(
    [...tok.encode('<|im_start|></think>')],
    [tok.specialTokens.get('<|im_start|>'), tok.addedTokens.get('</think>')],
  );
  t.is(tok.encode('😀').length, 4); // four UTF-8 bytes, never seen in training
  t.is(
    renderChat(tok, [{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }),
    '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('bad options are named', (t) => {
  t.throws(() => trainBpe(['abc'], { vocabSize: 100 }), {
    instanceOf: RangeError,
    message: /vocabSize must be an integer in \[263/,
  });
  t.throws(() => trainBpe(['abc'], { vocabSize: 300, eosToken: '<eos>' }), { message: /eosToken <eos>/ });
  // Tiny text: pairs run out before the vocabulary fills, and what was learned is still consistent.
  const small = trainBpe(['aaab aaab'], { vocabSize: 1000, minFrequency: 1 });
  t.true(small.merges > 0 && small.merges < 10);
});
