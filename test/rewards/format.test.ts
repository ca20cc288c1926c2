import test from 'ava';

import { answerSection, checkFormat, checkPaperFormat } from '../../lib/rewards/format.js';

test('checkFormat accepts the paper shape and returns both parts', (t) => {
  const r = checkFormat(' reasoning here </think>\n <answer> 42 </answer>\n');
  t.deepEqual(r, { ok: true, think: ' reasoning here ', answer: ' 42 ' });
  const withOpen = checkFormat('<think>r</think><answer>a</answer>');
  t.true(withOpen.ok && withOpen.think === 'r');
});

test('checkFormat rejects each malformed shape with a reason', (t) => {
  const bad: [string, RegExp][] = [
    ['no tags at all', /one <\/think>, found 0/],
    ['r</think></think><answer>a</answer>', /one <\/think>, found 2/],
    ['r</think><answer>a</answer><answer>b</answer>', /one <answer>, found 2/],
    ['r</think><answer>a', /one <\/answer>, found 0/],
    ['r</think> text <answer>a</answer>', /nothing after/],
    ['r</think><answer>a</answer> trailing', /nothing after/],
    ['<answer>a</answer></think>', /one <\/think>|nothing after/],
    ['</think><answer>a</answer>', /empty reasoning/],
    ['r</think><answer>  </answer>', /empty <answer>/],
    ['<think>x<think>r</think><answer>a</answer>', /unexpected <think>/],
  ];
  for (const [text, why] of bad) {
    const r = checkFormat(text);
    t.false(r.ok, text);
    if (!r.ok) t.regex(r.reason, why, text);
  }
});

test("checkPaperFormat is the paper's gate; checkFormat is it plus non-blank parts and no stray <think>", (t) => {
  // Shapes both refuse, with the same reason.
  for (const text of [
    'r</think><answer>a',
    'r</think> text <answer>a</answer>',
    '</think><answer>a</answer>',
    'r</think><answer></answer>',
  ]) {
    const [p, c] = [checkPaperFormat(text), checkFormat(text)];
    t.false(p.ok, text);
    t.deepEqual(c, p, text);
  }
  // Shapes only the stricter gate refuses: blank parts, a second <think>.
  for (const text of [
    ' </think><answer>a</answer>',
    'r</think><answer> \n </answer>',
    'x <think> r</think><answer>a</answer>',
  ]) {
    t.true(checkPaperFormat(text).ok, text);
    t.false(checkFormat(text).ok, text);
  }
  // The paper's gate keeps everything before </think>, a leading <think> too.
  t.deepEqual(checkPaperFormat('<think>r</think>\n<answer>a</answer>\n'), { ok: true, think: '<think>r', answer: 'a' });
});

test('answerSection: the one <answer> pair, else the whole text', (t) => {
  t.is(answerSection('x <answer>A</answer> y'), 'A');
  t.is(answerSection('x <answer>A</answer> <answer>B</answer>'), 'x <answer>A</answer> <answer>B</answer>');
  t.is(answerSection('plain'), 'plain');
});
