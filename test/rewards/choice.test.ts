import { readFileSync } from 'node:fs';

import test from 'ava';

import { CHOICE_REWARD, extractChoice, type ChoiceExample } from '../../lib/rewards/choice.js';
import { choiceTask } from '../../lib/tasks/mmlu-pro-task.js';

interface Gpt4oRow {
  question_id: number;
  answer: string;
  pred: string | null;
  response: string;
}
const rows: Gpt4oRow[] = JSON.parse(
  readFileSync(new URL('../../../shared/data/mmlu-pro/gpt4o_physics_result.json', import.meta.url), 'utf8'),
);

test('MMLU-Pro physics: agreement with the letter MMLU-Pro extracted from each GPT-4o response', (t) => {
  t.is(rows.length, 1299);
  // `pred` is MMLU-Pro's own extraction (regex "answer is \(?([A-J])\)?", else null).
  const withPred = rows.filter((r) => r.pred !== null);
  const agree = withPred.filter((r) => extractChoice(r.response) === r.pred).length;
  // Where MMLU-Pro found nothing, we agree only if we find nothing either.
  const noPred = rows.filter((r) => r.pred === null);
  const bothNull = noPred.filter((r) => extractChoice(r.response) === null).length;
  const overall = (agree + bothNull) / rows.length;
  t.log(
    `agree on ${agree}/${withPred.length} with a pred letter; ${bothNull}/${noPred.length} null preds also null here; overall ${(100 * overall).toFixed(2)}%`,
  );
  t.is(agree, withPred.length);
  t.true(overall >= 0.97);
  // Where MMLU-Pro found no letter our fallbacks find one in most responses that state one, e.g.
  // "The answer is **(G) frequency**." and "The answer is \( I. 2.72L \)."
  t.is(extractChoice(rows.find((r) => r.question_id === 9126)!.response), 'G');
  t.is(extractChoice(rows.find((r) => r.question_id === 9149)!.response), 'I');
  t.is(extractChoice(rows.find((r) => r.question_id === 9098)!.response), 'A');
});

test('extractChoice: each pattern, in priority order', (t) => {
  const cases: [string, string | null][] = [
    ['so \\boxed{C}', 'C'],
    ['\\boxed{\\text{D}}', 'D'],
    ['\\boxed{(E)}', 'E'],
    ['\\boxed{ F }', 'F'],
    ['<answer> G </answer>', 'G'],
    ['<answer>H. 42 m/s</answer>', 'H'],
    ['<answer>(B)</answer>', 'B'],
    ['The answer is (J).', 'J'],
    ['the answer is B', 'B'],
    ['Answer: C', 'C'],
    ['The answer is **(G) frequency**.', 'G'],
    ['Option A is wrong, so I pick D', 'D'],
    ['I think it is C', 'C'],
    ['A ball falls; choose B', 'B'],
    ['the answer is (A) but \\boxed{B}', 'B'],
    ['\\boxed{A} ... <answer>C</answer>', 'A'],
    ['answer is (A), no wait, the answer is (C)', 'C'],
    ['no letter here at all', null],
    ['K is not an option', null],
    ['\\boxed{42}', null],
    ['the answer is a mass', null],
  ];
  for (const [text, want] of cases) t.is(extractChoice(text), want, text);
});

test('reward shape: format gate -2, right letter +2, else -0.5', (t) => {
  const ex: ChoiceExample = { id: '1', question: 'q', options: ['a', 'b', 'c'], answer: 'B' };
  t.is(choiceTask.reward('hmm</think><answer> \\boxed{B} </answer>', ex), CHOICE_REWARD.correct);
  t.is(choiceTask.reward('hmm</think><answer> \\boxed{C} </answer>', ex), CHOICE_REWARD.wrong);
  t.is(choiceTask.reward('hmm</think><answer> nothing </answer>', ex), CHOICE_REWARD.wrong);
  t.is(choiceTask.reward('hmm <answer> \\boxed{B} </answer>', ex), CHOICE_REWARD.format);
  t.is(choiceTask.reward('hmm</think><answer> \\boxed{B} </answer> and more', ex), CHOICE_REWARD.format);
  t.true(choiceTask.correct('... the answer is (B).', ex) as boolean);
});
