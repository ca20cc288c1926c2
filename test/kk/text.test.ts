import test from 'ava';

import {
  listNames,
  matchQuizTemplates,
  renderQuiz,
  renderStatement,
  roleWords,
  SAYING_TEMPLATES,
  solutionText,
  solutionTextFormat,
  type Statement,
} from '../../lib/kk/index.js';
import { publishedPuzzles } from './published.js';

test('every published quiz is our rendering of its statements, and every phrasing occurs', async (t) => {
  const used = new Array<number>(SAYING_TEMPLATES.length).fill(0);
  for (const { file, puzzles } of await publishedPuzzles()) {
    for (const p of puzzles) {
      const found = matchQuizTemplates(p.quiz, p.statements, p.names, p.knight_knave);
      t.truthy(found, `${file} row ${p.index}`);
      if (!found) continue;
      t.is(renderQuiz(p.statements, p.names, p.knight_knave, found), p.quiz);
      for (const i of found) used[i]++;
    }
  }
  // 18 phrasings, each used for roughly 1/18 of the 18000 sentences.
  t.true(
    used.every((c) => c > 800 && c < 1200),
    used.join(','),
  );
});

test('solution_text and solution_text_format match the published columns', async (t) => {
  for (const { puzzles } of await publishedPuzzles()) {
    for (const p of puzzles) {
      t.is(solutionText(p.names, p.solution, p.knight_knave), p.solution_text);
      t.is(solutionTextFormat(p.names, p.solution, p.knight_knave), p.solution_text_format);
    }
  }
});

test('statement wording: the published forms, and parentheses beyond depth 2', (t) => {
  const names = ['Ann', 'Bo', 'Cy'];
  const r = roleWords();
  const w = (s: Statement) => renderStatement(s, names, r);
  t.is(w(['telling-truth', 0]), 'Ann is a knight');
  t.is(w(['lying', 1]), 'Bo is a knave');
  t.is(w(['not', ['telling-truth', 2]]), 'Cy is not a knight');
  t.is(w(['not', ['lying', 2]]), 'Cy is not a knave');
  t.is(
    w(['and', ['telling-truth', 0], ['lying', 1], ['lying', 2]]),
    'Ann is a knight and Bo is a knave and Cy is a knave',
  );
  t.is(w(['or', ['telling-truth', 0], ['lying', 1]]), 'Ann is a knight or Bo is a knave');
  t.is(w(['->', ['telling-truth', 0], ['lying', 1]]), 'If Ann is a knight then Bo is a knave');
  t.is(w(['<=>', ['telling-truth', 0], ['lying', 1]]), 'Ann is a knight if and only if Bo is a knave');
  t.is(
    w(['<=>', ['->', ['telling-truth', 0], ['lying', 1]], ['not', ['or', ['lying', 2], ['lying', 0]]]]),
    '(if Ann is a knight then Bo is a knave) if and only if (it is not the case that (Cy is a knave or Ann is a knave))',
  );
  t.is(w(['not', ['and', ['lying', 2], ['lying', 0]]]), 'It is not the case that (Cy is a knave and Ann is a knave)');
});

test('role words are configurable and checked', (t) => {
  const r = roleWords(['an angel', 'a devil']);
  t.deepEqual(r, {
    knight: 'angel',
    knave: 'devil',
    a_knight: 'an angel',
    a_knave: 'a devil',
    Knight: 'Angel',
    Knave: 'Devil',
  });
  const quiz = renderQuiz(
    [
      ['lying', 1],
      ['telling-truth', 0],
    ],
    ['Ann', 'Bo'],
    r,
    [0, 2],
  );
  t.is(
    quiz,
    'A very special island is inhabited only by angels and devils. Angels always tell the truth, and devils always lie. ' +
      'You meet 2 inhabitants: Ann, and Bo. Ann said that Bo is a devil. Bo said, "Ann is an angel." So who is an angel and who is a devil?',
  );
  t.throws(() => roleWords(['knight', 'a knave']), {
    message: /roles: the truth-teller must be an article and one word/,
  });
  t.throws(() => roleWords(['a knight', 'a knight']), { message: /must differ/ });
});

test('lists of people keep the published comma before "and"', (t) => {
  t.is(listNames(['A']), 'A');
  t.is(listNames(['A', 'B']), 'A, and B');
  t.is(listNames(['A', 'B', 'C']), 'A, B, and C');
});

test('matchQuizTemplates rejects text that does not render the statements', (t) => {
  const r = roleWords();
  const s: Statement[] = [
    ['lying', 1],
    ['telling-truth', 0],
  ];
  const quiz = renderQuiz(s, ['Ann', 'Bo'], r, [4, 7]);
  t.deepEqual(matchQuizTemplates(quiz, s, ['Ann', 'Bo'], r), [4, 7]);
  t.is(matchQuizTemplates(quiz.replace('knave"', 'knight"'), s, ['Ann', 'Bo'], r), null);
  t.is(matchQuizTemplates(quiz.replace('Bo.', 'Bo, and Cy.'), s, ['Ann', 'Bo'], r), null);
  t.is(
    matchQuizTemplates(
      quiz,
      [
        ['lying', 1],
        ['lying', 0],
      ],
      ['Ann', 'Bo'],
      r,
    ),
    null,
  );
});
