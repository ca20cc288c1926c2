import { readFileSync } from 'node:fs';

import test from 'ava';
import { evaluate } from 'mathjs';

import { latexToMathjs } from '../../lib/rewards/latex.js';
import { lastBoxed, normalizeAnswer } from '../../lib/rewards/math-answer.js';
import { mathEqual } from '../../lib/rewards/math-equal.js';
import { extractMathAnswer, MATH_REWARD, type MathExample } from '../../lib/rewards/math.js';
import { mathTask } from '../../lib/tasks/math-task.js';

const golds: string[] = readFileSync(new URL('../../../shared/data/math500/math500.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).answer as string);

const wrap = (answer: string) =>
  `Let me work it out... so we get that.</think>\n<answer> The answer is $\\boxed{${answer}}$. </answer>`;

test('lastBoxed: last box, nested braces, \\fbox, \\boxed with a space, none', (t) => {
  t.is(lastBoxed('\\boxed{1} then \\boxed{\\frac{a}{b^{2}}}'), '\\frac{a}{b^{2}}');
  t.is(lastBoxed('so \\fbox{42}.'), '42');
  t.is(lastBoxed('$\\boxed 7$'), '7');
  t.is(lastBoxed('\\boxed{\\text{a \\{ b}}'), '\\text{a \\{ b}');
  t.is(lastBoxed('no box here'), null);
  t.is(lastBoxed('\\boxed{unclosed'), null);
});

test('normalizeAnswer: the MATH conventions', (t) => {
  const cases: [string, string][] = [
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['\\dfrac{17}{50}', '\\frac{17}{50}'],
    ['\\tfrac12', '\\frac{1}{2}'],
    ['5.4 \\text{ cents}', '5.4'],
    ['864 \\mbox{ inches}^2', '864'],
    ['90^\\circ', '90'],
    ['45^{\\circ}', '45'],
    ['25\\%', '25'],
    ['\\$32,\\!348', '32348'],
    ['11,\\! 111,\\! 111,\\! 100', '11111111100'],
    ['x \\in [-2,7]', '[-2,7]'],
    ['\\text{(B)}', 'B'],
    ['4210_{5}', '4210_5'],
    ['12 square units', '12'],
    ['7.', '7'],
    ['.35625', '0.35625'],
    ['\\cot x', '\\cot x'],
    ['\\frac{270}7\\text{ degrees}', '\\frac{270}7'],
  ];
  for (const [input, want] of cases) t.is(normalizeAnswer(input), want, input);
});

test('latexToMathjs: notation of the subset', (t) => {
  const cases: [string, number][] = [
    ['\\frac{14}{3}', 14 / 3],
    ['\\frac14', 0.25],
    ['\\frac 34', 0.75],
    ['\\frac9{19}', 9 / 19],
    ['\\frac{270}7', 270 / 7],
    ['1\\frac{4}{5}', 1.8],
    ['137\\frac{1}{2}', 137.5],
    ['2\\sqrt{113}', 2 * Math.sqrt(113)],
    ['11\\sqrt2', 11 * Math.sqrt(2)],
    ['\\sqrt[3]{27}', 3],
    ['\\frac{20000}{\\pi}', 20000 / Math.PI],
    ['2^{10}', 1024],
    ['|-3|', 3],
    ['5!', 120],
    ['6.72\\times10^{-5}', 6.72e-5],
    ['3\\cdot4', 12],
    ['\\sin^2(1)+\\cos^2(1)', 1],
    ['-\\frac{\\pi}{6}', -Math.PI / 6],
  ];
  for (const [tex, want] of cases) {
    const got = evaluate(latexToMathjs(tex)) as number;
    t.true(
      Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)),
      `${tex} -> ${latexToMathjs(tex)} = ${got}, want ${want}`,
    );
  }
  t.is(latexToMathjs('xy'), 'x * y');
  t.is(latexToMathjs('\\cot x'), 'cot(x)');
  t.throws(() => latexToMathjs('\\text{east}'));
  t.throws(() => latexToMathjs('\\frac{1}'));
  t.throws(() => latexToMathjs('x = 5')); // never an assignment for mathjs
});

// Hand-written pairs: [predicted, gold, equal?]
const PAIRS: [string, string, boolean][] = [
  // numbers
  ['0.5', '\\frac{1}{2}', true],
  ['\\frac{2}{4}', '\\frac12', true],
  ['1/2', '\\frac{1}{2}', true],
  ['.5', '0.5', true],
  ['3.0', '3', true],
  ['1.8', '1\\frac{4}{5}', true],
  ['137.5', '137 \\frac{1}{2}', true],
  ['10080', '10,\\!080', true],
  ['10,080', '10080', true],
  ['11111111101', '11,\\! 111,\\! 111,\\! 100', false],
  ['10^6', '1000000', true],
  ['6.72\\times 10^{-5}', '.0000672', true],
  ['6.72e-5', '0.0000672', true],
  ['18.9', '\\$18.90', true],
  ['\\$36', '36', true],
  ['25\\%', '25', true],
  ['106', '106^\\circ', true],
  ['\\frac{270}{7}', '\\frac{270}7\\text{ degrees}', true],
  ['15', '15\\mbox{ cm}^2', true],
  ['5.4', '5.4 \\text{ cents}', true],
  ['0.3333', '\\frac13', false],
  ['3', '-3', false],
  ['10081', '10080', false],
  ['1.25', '1.2', false],
  ['2', '\\frac{1}{2}', false],
  // radicals and constants
  ['\\sqrt{8}', '2\\sqrt{2}', true],
  ['2\\sqrt2', '2 \\sqrt{2}', true],
  ['\\frac{1}{\\sqrt{3}}', '\\frac{\\sqrt{3}}{3}', true],
  ['\\frac{\\sqrt{3}}{3}', '\\frac{\\sqrt{3}}{2}', false],
  ['2\\pi', '\\pi+\\pi', true],
  ['6.283185307', '2\\pi', true],
  ['3.14', '\\pi', false],
  ['\\sqrt{50}', '5\\sqrt{3}', false],
  // complex
  ['-2+7i', '-2 + 7i', true],
  ['7i-2', '-2 + 7i', true],
  ['1-12i', '1 + 12i', false],
  // expressions
  ['-q+p', 'p - q', true],
  ['x^2+2x+1', '(x+1)^2', true],
  ['(x+1)(x-1)', 'x^2-1', true],
  ['2(k+1)', '2k+2', true],
  ['ab+2a+5b+10', '(a+5)(b+2)', true],
  ['\\frac{9a+11}{20}', '\\frac{11+9a}{20}', true],
  ['\\frac{\\cos x}{\\sin x}', '\\cot x', true],
  ['x^2+2x', '(x+1)^2', false],
  ['2k+1', '2k+2', false],
  ['\\tan x', '\\cot x', false],
  ['3r^2', '3R^2', false],
  // equations
  ['x=5', '5', true],
  ['y=2x+3', 'y = 2x + 3', true],
  ['-5x+7y-11z-4=0', '5x - 7y + 11z + 4 = 0', true],
  ['10x-14y+22z+8=0', '5x - 7y + 11z + 4 = 0', true],
  ['5x-7y+11z-4=0', '5x - 7y + 11z + 4 = 0', false],
  // tuples and intervals
  ['(3, \\frac{\\pi}{2})', '\\left( 3, \\frac{\\pi}{2} \\right)', true],
  ['(\\frac{\\pi}{2}, 3)', '\\left( 3, \\frac{\\pi}{2} \\right)', false],
  ['(1.5,-13)', '\\left( \\frac{3}{2}, -13 \\right)', true],
  ['[-2,7]', 'x \\in [-2,7]', true],
  ['(-2,7)', '[-2,7]', false],
  ['(0.6,\\frac{8}{3}]', '\\left(\\frac{3}{5},\\frac{8}{3}\\right]', true],
  ['(-\\infty,0]', '(-\\infty, 0]', true],
  ['(-\\infty,0)', '(-\\infty, 0]', false],
  ['(3,\\infty)\\cup(-\\infty,2)', '(-\\infty, 2) \\cup (3, \\infty)', true],
  ['(-\\infty,2)\\cup[3,\\infty)', '(-\\infty, 2) \\cup (3, \\infty)', false],
  // sets and lists (unordered)
  ['-2, 1', '1,-2', true],
  ['7, 5, 3', '3, 5, 7', true],
  ['3, 5', '3, 5, 7', false],
  ['1,2', '1,-2', false],
  ['1+\\sqrt{19}, 1-\\sqrt{19}', '1 \\pm \\sqrt{19}', true],
  ['1+\\sqrt{19}', '1 \\pm \\sqrt{19}', false],
  ['\\{-2, 1-\\sqrt5, 1+\\sqrt5\\}', '\\{1\\pm\\sqrt{5},-2\\}', true],
  ['3+2\\sqrt{2}, 3-2\\sqrt{2}', '3 \\pm 2 \\sqrt{2}', true],
  // matrices
  [
    '\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}',
    '\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}',
    true,
  ],
  ['\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}', '\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}', true],
  ['\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}', '\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}', false],
  ['\\begin{pmatrix} 1/5 \\\\ -18/5 \\\\ 0 \\end{pmatrix}', '\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}', false],
  // text, choices and bases
  ['\\text{Evelyn}', 'Evelyn', true],
  ['evelyn', '\\text{Evelyn}', true],
  ['Briana', '\\text{Evelyn}', false],
  ['(B)', '\\text{(B)}', true],
  ['B', '\\text{(B)}', true],
  ['C', '\\text{(B)}', false],
  ['204_5', '204_{5}', true],
  ['204_6', '204_5', false],
  ['204', '204_5', false],
  // unicode maths
  ['2√2', '2\\sqrt{2}', true],
  ['3π', '3\\pi', true],
  ['−5', '-5', true],
  ['(−∞, 0]', '(-\\infty, 0]', true],
  ['2×3', '6', true],
  ['√3', '\\sqrt{2}', false],
  // garbage never equals
  ['', '5', false],
  ['\\frac{', '5', false],
  ['\\unknown{5}', '5', false],
  ['x=y=5', '5', false],
  ['x', '5', false],
];

test(`${PAIRS.length} hand-written pairs, each asserted`, (t) => {
  t.true(PAIRS.length >= 60);
  t.true(PAIRS.filter((p) => !p[2]).length >= 20);
  for (const [pred, gold, want] of PAIRS) t.is(mathEqual(pred, gold), want, `${pred}  vs  ${gold}`);
});

// Value-preserving rewrites of a gold answer, applied where they fit.
function rewrites(gold: string): string[] {
  const out = [
    gold.replace(/(?<!\\[a-zA-Z]+)\s+/g, ''),
    ` ${gold.replace(/,/g, ', ')} `,
    `$${gold}$`,
    gold.replace(/\\frac/g, '\\dfrac'),
  ];
  const norm = normalizeAnswer(gold);
  let value: number | null = null;
  try {
    const v = evaluate(latexToMathjs(norm));
    if (typeof v === 'number' && Number.isFinite(v)) value = v;
  } catch {
    value = null;
  }
  if (value !== null && !/^[A-Za-z]$/.test(norm)) {
    out.push(value.toPrecision(12));
    if (Number.isInteger(value) && Math.abs(value) >= 1000) out.push(value.toLocaleString('en-US'));
    if (!/[=,]/.test(gold)) out.push(`x = ${gold}`);
  }
  const list = norm.split(',');
  if (list.length > 1 && !/^[([]/.test(norm) && !norm.includes('\\{')) out.push(list.reverse().join(', '));
  return out;
}

test('every MATH-500 gold answer equals itself boxed and its rewritten forms; a changed number does not', (t) => {
  t.is(golds.length, 500);
  let rewritten = 0;
  let perturbed = 0;
  const failures: string[] = [];
  for (const gold of golds) {
    const ex: MathExample = { id: 'x', problem: '', answer: gold };
    t.is(mathTask.reward(wrap(gold), ex), MATH_REWARD.correct, `boxed: ${gold}`);
    t.true(mathTask.correct(wrap(gold), ex) as boolean, `boxed: ${gold}`);
    t.is(extractMathAnswer(wrap(gold)), gold);
    for (const r of rewrites(gold)) {
      if (!mathEqual(r, gold)) failures.push(`rewrite ${JSON.stringify(r)} of ${JSON.stringify(gold)}`);
      rewritten++;
    }
    // A different number: bump the first digit.
    const m = /\d/.exec(gold);
    if (m) {
      const changed = gold.slice(0, m.index) + String((Number(m[0]) + 1) % 10) + gold.slice(m.index + 1);
      if (mathEqual(changed, gold)) failures.push(`changed ${changed} equals ${gold}`);
      perturbed++;
    }
  }
  t.deepEqual(failures, []);
  t.true(rewritten >= 2000, `rewrites checked: ${rewritten}`);
  t.true(perturbed >= 450, `perturbations checked: ${perturbed}`);
});

test('reward shape: format gate -2, no box -1, equal +2, else -0.5; correct() ignores the gate', (t) => {
  const ex: MathExample = { id: '1', problem: 'p', answer: '\\frac{14}{3}' };
  t.is(mathTask.reward('<answer>\\boxed{14/3}</answer>', ex), MATH_REWARD.format); // no </think>
  t.is(mathTask.reward('think</think><answer>\\boxed{14/3}</answer> trailing', ex), MATH_REWARD.format);
  t.is(mathTask.reward('a</think></think><answer>\\boxed{14/3}</answer>', ex), MATH_REWARD.format);
  t.is(mathTask.reward('think</think><answer>14/3</answer>', ex), MATH_REWARD.noAnswer);
  t.is(mathTask.reward('\\boxed{14/3} think</think><answer>so 14/3</answer>', ex), MATH_REWARD.noAnswer);
  t.is(mathTask.reward('think</think> <answer>\\boxed{\\dfrac{14}{3}}</answer>\n', ex), MATH_REWARD.correct);
  t.is(mathTask.reward('think</think><answer>\\boxed{4.6667}</answer>', ex), MATH_REWARD.wrong);
  t.true(mathTask.correct('no tags, but \\boxed{\\frac{28}{6}}', ex) as boolean);
  t.false(mathTask.correct('no answer at all', ex) as boolean);
});
