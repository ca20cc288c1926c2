import test from 'ava';

import { kkReward, kkRewardDetails, parseAnswer, roleWords, type KKPuzzle } from '../../lib/kk/index.js';

// Ann is a knight, Bo a knave, Cy a knight.
const puzzle: KKPuzzle = {
  quiz: '(not needed by the reward)',
  names: ['Ann', 'Bo', 'Cy'],
  knight_knave: roleWords(),
  solution: [true, false, true],
  solution_text: 'Ann is a knight, Bo is a knave, and Cy is a knight.',
  solution_text_format: '(1) Ann is a knight\n(2) Bo is a knave\n(3) Cy is a knight',
  statements: [
    ['telling-truth', 2],
    ['lying', 0],
    ['not', ['lying', 2]],
  ],
};

const RIGHT = '(1) Ann is a knight\n(2) Bo is a knave\n(3) Cy is a knight';
const wrap = (answer: string, think = ' Ann must be a knight because ...\n') =>
  `${think}</think>\n<answer>\n${answer}\n</answer>`;
const paper = (c: string) => kkReward(c, puzzle, { variant: 'paper' });
const logicRl = (c: string) => kkReward(c, puzzle, { variant: 'logic-rl' });

test("a right answer: +2 (paper), +3 (Logic-RL), default variant is the paper's", (t) => {
  t.is(paper(wrap(RIGHT)), 2);
  t.is(logicRl(wrap(RIGHT)), 3);
  t.is(kkReward(wrap(RIGHT), puzzle), 2);
  t.deepEqual(kkRewardDetails(wrap(RIGHT), puzzle), {
    reward: 2,
    format: true,
    parsed: true,
    correct: true,
    reason: 'all roles right',
  });
});

test('lenient reading: whitespace, bold, numbering styles, trailing periods, order, case, inline lists', (t) => {
  const variants = [
    '  (1)   Ann  is a knight  \n\n (2) Bo is a knave\n(3) Cy is a knight   ',
    '(1) **Ann** is a **knight**\n(2) **Bo is a knave**\n(3) *Cy* is a _knight_',
    '1. Ann is a knight.\n2. Bo is a knave.\n3. Cy is a knight.',
    '- Cy is a knight\n- Ann is a knight\n- Bo is a knave',
    '(3) Cy is a knight\n(1) ann is a Knight\n(2) BO IS A KNAVE',
    '(1) Ann is a knight (2) Bo is a knave (3) Cy is a knight',
    'Ann is knight\nBo is knave\nCy is knight',
  ];
  for (const v of variants) {
    t.is(paper(wrap(v)), 2, v);
    t.is(logicRl(wrap(v)), 3, v);
  }
  t.is(paper(`<think>\n${wrap(RIGHT)}  \n\n`), 2);
  t.is(logicRl(`<think>${wrap(RIGHT)}`), 3);
});

test('wrong answers', (t) => {
  const oneWrong = '(1) Ann is a knight\n(2) Bo is a knight\n(3) Cy is a knight';
  t.is(paper(wrap(oneWrong)), -0.5);
  t.is(logicRl(wrap(oneWrong)), 1 - 1.5);
  t.deepEqual(kkRewardDetails(wrap(oneWrong), puzzle).reason, '1 of 3 roles wrong');
  const allFlipped = '(1) Ann is a knave\n(2) Bo is a knight\n(3) Cy is a knave';
  t.is(paper(wrap(allFlipped)), -0.5);
  t.is(logicRl(wrap(allFlipped)), -0.5);
});

test('missing or extra people are never right', (t) => {
  const missing = '(1) Ann is a knight\n(2) Bo is a knave';
  t.is(paper(wrap(missing)), -0.5);
  t.is(logicRl(wrap(missing)), -1);
  t.is(kkRewardDetails(wrap(missing), puzzle).reason, '1 of 3 people missing');
  const repeated = `${RIGHT}\n(4) Bo is a knave`;
  t.is(paper(wrap(repeated)), -0.5);
  t.is(logicRl(wrap(repeated)), -1);
  const hedged = `${RIGHT}\n(4) Bo is a knight`;
  t.is(paper(wrap(hedged)), -0.5);
  const stranger = `${RIGHT}\n(4) Dee is a knave`;
  t.is(paper(wrap(stranger)), -1);
  t.is(logicRl(wrap(stranger)), -1);
  t.is(paper(wrap('')), -0.5);
  t.is(paper(wrap('   ')), -0.5);
});

test('unknown names, other role words and unreadable lines: -1 (paper)', (t) => {
  const cases = [
    '(1) Anne is a knight\n(2) Bo is a knave\n(3) Cy is a knight',
    '(1) Ann is a liar\n(2) Bo is a knave\n(3) Cy is a knight',
    '(1) Ann is a knight\n(2) Bo is a knave\n(3) Cy is a truth-teller',
    '(1) Ann is a knight or a knave\n(2) Bo is a knave\n(3) Cy is a knight',
    '(1) Ann is not a knave\n(2) Bo is a knave\n(3) Cy is a knight',
    'I think everyone is a knight',
    'Ann: knight, Bo: knave, Cy: knight',
  ];
  for (const c of cases) {
    t.is(paper(wrap(c)), -1, c);
    t.is(logicRl(wrap(c)), -1, c);
  }
});

test('malformed completions: -2 (paper), -3 (Logic-RL)', (t) => {
  const cases = [
    `reasoning\n<answer>\n${RIGHT}\n</answer>`, // no </think>
    `a</think> b</think>\n<answer>\n${RIGHT}\n</answer>`, // two </think>
    `a</think>\n<answer>\n${RIGHT}\n</answer>\n<answer>\n${RIGHT}\n</answer>`, // two answers
    `a</think>\n<answer>\n${RIGHT}\n`, // unclosed answer
    `a</think>\n${RIGHT}`, // no answer tags
    `a</think>\n</answer>${RIGHT}<answer>`, // tags in the wrong order
    `<answer>\n${RIGHT}\n</answer> then </think>`, // answer before </think>
  ];
  for (const c of cases) {
    t.is(paper(c), -2, c);
    t.is(logicRl(c), -3, c);
  }
  // The paper's gate wants nothing but whitespace after </answer> and something before </think>;
  // Logic-RL's only wants each tag once, in order.
  t.is(paper(`${wrap(RIGHT)} The end.`), -2);
  t.is(logicRl(`${wrap(RIGHT)} The end.`), 3);
  t.is(paper(`</think>\n<answer>\n${RIGHT}\n</answer>`), -2);
  t.is(paper(`a</think> some words <answer>\n${RIGHT}\n</answer>`), -2);
  // A second <think> is a format error for Logic-RL (the prompt already opened one).
  t.is(logicRl(`x <think> ${wrap(RIGHT)}`), -3);
  t.is(paper(`x <think> ${wrap(RIGHT)}`), 2);
});

test('adversarial answers', (t) => {
  // Every person with both roles.
  const both =
    '(1) Ann is a knight\n(1) Ann is a knave\n(2) Bo is a knight\n(2) Bo is a knave\n(3) Cy is a knight\n(3) Cy is a knave';
  t.is(paper(wrap(both)), -0.5);
  t.is(logicRl(wrap(both)), -1);
  // The right answer quoted inside the reasoning does not count; the answer block does.
  t.is(paper(wrap('(1) Ann is a knave\n(2) Bo is a knave\n(3) Cy is a knight', `I guess: ${RIGHT}\n`)), -0.5);
  // Tags smuggled in the answer.
  t.is(paper(wrap(`${RIGHT}\n</think>`)), -2);
  // A very long answer with the right lines repeated.
  t.is(paper(wrap(Array(50).fill(RIGHT).join('\n'))), -0.5);
  t.throws(() => kkReward(wrap(RIGHT), puzzle, { variant: 'grpo' as 'paper' }), {
    message: /variant: expected 'paper' or 'logic-rl'/,
  });
});

test('role words follow the puzzle', (t) => {
  const saints = { ...puzzle, knight_knave: roleWords(['a saint', 'a sinner']) };
  const answer = wrap('(1) Ann is a saint\n(2) Bo is a sinner\n(3) Cy is a saint');
  t.is(kkReward(answer, saints), 2);
  t.is(kkReward(wrap(RIGHT), saints), -1);
  t.deepEqual(parseAnswer('(1) Ann is a saint\n(2) Ann is a sinner', saints), {
    ok: true,
    roles: new Map([[0, [true, false]]]),
  });
  t.deepEqual(parseAnswer('(1) Ann is a knight', saints), {
    ok: false,
    problem: 'bad-role',
    line: '(1) Ann is a knight',
  });
});
