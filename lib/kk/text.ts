// English rendering of K&K puzzles, in the format of the published data (Xie et al. 2024):
//   opening  "A very special island is inhabited only by knights and knaves. Knights always tell
//             the truth, and knaves always lie. You meet 3 inhabitants: A, B, and C."
//   one sentence a person, its frame drawn from 18 phrasings ("A said that ...", "As B put it,
//   "..."", ...), statements worded "X is a knight", "X is not a knave", "P and Q", "P or Q",
//   "If P then Q", "P if and only if Q";
//   closing  "So who is a knight and who is a knave?"
// The published generator only words statements of depth <= 2; deeper ones (our extension) put
// compound operands in parentheses and word a negated compound "it is not the case that (...)".

import { children, isLeaf, type Statement } from './statement.js';

/** Role words, keyed as in the published data's `knight_knave` column. */
export interface RoleWords {
  knight: string;
  knave: string;
  a_knight: string;
  a_knave: string;
  Knight: string;
  Knave: string;
}

/**
 * Role words from a pair of phrases with their articles, e.g. `['a knight', 'a knave']` (the
 * default) or `['a saint', 'a sinner']`. Plurals add an "s", as the published generator does.
 */
export function roleWords(pair: readonly [string, string] = ['a knight', 'a knave']): RoleWords {
  const split = (phrase: string, which: string): string => {
    const m = /^(a|an) ([A-Za-z-]+)$/.exec(phrase.trim());
    if (!m)
      throw new RangeError(
        `roles: ${which} must be an article and one word, like "a knight", got ${JSON.stringify(phrase)}`,
      );
    return m[2];
  };
  const knight = split(pair[0], 'the truth-teller');
  const knave = split(pair[1], 'the liar');
  if (knight.toLowerCase() === knave.toLowerCase())
    throw new RangeError(`roles: the two role words must differ, got "${knight}" twice`);
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
  return { knight, knave, a_knight: pair[0].trim(), a_knave: pair[1].trim(), Knight: cap(knight), Knave: cap(knave) };
}

/** The 18 sentence frames of the published data; `{name}` is the speaker, `{content}` the claim. */
export const SAYING_TEMPLATES: readonly string[] = [
  '{name} said that {content}.',
  '{name} told you that {content}.',
  '{name} said, "{content}."',
  '{name} stated, "{content}".',
  'According to {name}, "{content}".',
  `In {name}'s words: "{content}".`,
  '{name} remarked, "{content}".',
  '"{content}," {name} declared.',
  '{name} was heard saying, "{content}".',
  '{name} expressed that {content}.',
  '"{content}" - {name}.',
  'As {name} put it, "{content}".',
  '{name} asserted: "{content}".',
  '"{content}," {name} mentioned.',
  '{name} commented, "{content}".',
  'In a statement by {name}: "{content}".',
  '{name} noted, "{content}".',
  '"{content}," {name} claimed.',
];

/** Fills one sentence frame. */
export function fillTemplate(template: string, name: string, content: string): string {
  return template.replace('{name}', name).replace('{content}', content);
}

/** Words one statement (`top`: it is a whole claim, so a leading "If"/"It" is capitalised). */
export function renderStatement(s: Statement, names: readonly string[], roles: RoleWords, top = true): string {
  const operand = (c: Statement): string =>
    isLeaf(c) || (c[0] === 'not' && isLeaf(c[1]))
      ? renderStatement(c, names, roles, false)
      : `(${renderStatement(c, names, roles, false)})`;
  switch (s[0]) {
    case 'telling-truth':
      return `${names[s[1]]} is ${roles.a_knight}`;
    case 'lying':
      return `${names[s[1]]} is ${roles.a_knave}`;
    case 'not': {
      const c = s[1];
      if (c[0] === 'telling-truth') return `${names[c[1]]} is not ${roles.a_knight}`;
      if (c[0] === 'lying') return `${names[c[1]]} is not ${roles.a_knave}`;
      return `${top ? 'It' : 'it'} is not the case that ${operand(c)}`;
    }
    case 'and':
    case 'or':
      return children(s).map(operand).join(` ${s[0]} `);
    case '->':
      return `${top ? 'If' : 'if'} ${operand(s[1])} then ${operand(s[2])}`;
    case '<=>':
      return `${operand(s[1])} if and only if ${operand(s[2])}`;
  }
}

/** "A, B, and C", the published data's list of people (it keeps the comma for two people too). */
export function listNames(names: readonly string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')}, and ${names[names.length - 1]}`;
}

/** The quiz's first sentences, up to and including the list of people. */
export function quizOpening(names: readonly string[], roles: RoleWords): string {
  return (
    `A very special island is inhabited only by ${roles.knight}s and ${roles.knave}s. ` +
    `${roles.Knight}s always tell the truth, and ${roles.knave}s always lie. ` +
    `You meet ${names.length} inhabitants: ${listNames(names)}.`
  );
}

/** The quiz's closing question. */
export function quizClosing(roles: RoleWords): string {
  return `So who is ${roles.a_knight} and who is ${roles.a_knave}?`;
}

/** The whole quiz; `templates[i]` indexes {@link SAYING_TEMPLATES} for person i's sentence. */
export function renderQuiz(
  statements: readonly Statement[],
  names: readonly string[],
  roles: RoleWords,
  templates: readonly number[],
): string {
  const sentences = statements.map((s, i) =>
    fillTemplate(SAYING_TEMPLATES[templates[i]], names[i], renderStatement(s, names, roles)),
  );
  return [quizOpening(names, roles), ...sentences, quizClosing(roles)].join(' ');
}

/** One person's role as a sentence fragment: "Zoey is a knight". */
export function roleSentence(name: string, knight: boolean, roles: RoleWords): string {
  return `${name} is ${knight ? roles.a_knight : roles.a_knave}`;
}

/** The `solution_text` column: "A is a knight, B is a knave, and C is a knight." */
export function solutionText(names: readonly string[], solution: readonly boolean[], roles: RoleWords): string {
  return `${listNames(names.map((n, i) => roleSentence(n, solution[i], roles)))}.`;
}

/** The `solution_text_format` column: "(1) A is a knight\n(2) B is a knave". */
export function solutionTextFormat(names: readonly string[], solution: readonly boolean[], roles: RoleWords): string {
  return names.map((n, i) => `(${i + 1}) ${roleSentence(n, solution[i], roles)}`).join('\n');
}

/**
 * Which sentence frame each person's sentence uses, when `quiz` is exactly the rendering of these
 * statements (opening, one sentence a person in order, closing); null when it is not.
 */
export function matchQuizTemplates(
  quiz: string,
  statements: readonly Statement[],
  names: readonly string[],
  roles: RoleWords,
): number[] | null {
  const opening = quizOpening(names, roles);
  const closing = quizClosing(roles);
  if (!quiz.startsWith(opening + ' ') || !quiz.endsWith(' ' + closing)) return null;
  let rest = quiz.slice(opening.length + 1, quiz.length - closing.length - 1);
  const found: number[] = [];
  for (let i = 0; i < statements.length; i++) {
    const content = renderStatement(statements[i], names, roles);
    const sep = i + 1 < statements.length ? ' ' : '';
    const t = SAYING_TEMPLATES.findIndex((tpl) => rest.startsWith(fillTemplate(tpl, names[i], content) + sep));
    if (t < 0) return null;
    found.push(t);
    rest = rest.slice(fillTemplate(SAYING_TEMPLATES[t], names[i], content).length + sep.length);
  }
  return rest === '' ? found : null;
}
