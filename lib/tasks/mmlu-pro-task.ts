// MMLU-Pro as a task: the questions, their prompt and the reward (lib/rewards/choice.ts).
// MMLU-Pro JSONL: question_id, question, options (up to 10; "N/A" padding dropped), answer
// (letter A–J, checked against answer_index), category.
import { CHOICE_REWARD, extractChoice, type ChoiceExample } from '../rewards/choice.js';
import { checkFormat } from '../rewards/format.js';
import { readJsonlFile, stringField } from '../util/jsonl.js';
import type { RewardTask } from './task.js';

const LETTERS = 'ABCDEFGHIJ';

export async function loadMmluPro(file: string): Promise<ChoiceExample[]> {
  const rows = await readJsonlFile(file);
  return rows.map((row) => {
    const v = row.value;
    if (typeof v.question_id !== 'number' && typeof v.question_id !== 'string')
      throw new Error(`${row.where}: missing "question_id"`);
    if (!Array.isArray(v.options) || !v.options.every((o) => typeof o === 'string'))
      throw new Error(`${row.where}: "options" must be a list of strings`);
    const options = (v.options as string[]).filter((o) => o !== 'N/A');
    if (options.length < 2 || options.length > 10)
      throw new Error(`${row.where}: expected 2 to 10 options, got ${options.length}`);
    const answer = stringField(row, 'answer');
    const k = LETTERS.indexOf(answer);
    if (answer.length !== 1 || k < 0 || k >= options.length)
      throw new Error(`${row.where}: "answer" must be one of A..${LETTERS[options.length - 1]}, got ${answer}`);
    if (typeof v.answer_index === 'number' && v.answer_index !== k)
      throw new Error(`${row.where}: "answer" ${answer} disagrees with "answer_index" ${v.answer_index}`);
    return {
      id: String(v.question_id),
      question: stringField(row, 'question'),
      options,
      answer,
      category: typeof v.category === 'string' ? v.category : undefined,
    };
  });
}

// The user turn of the raw prompt: the answer goes inside <answer> </answer> as the format gate wants.
export function choiceUserMessage(q: ChoiceExample): string {
  const letters = 'ABCDEFGHIJ';
  const options = q.options.map((o, i) => `${letters[i]}. ${o}`).join('\n');
  return `${q.question}\n\nOptions:\n${options}\n\nAnswer with the letter of the correct option within \\boxed{} inside the <answer> </answer> tags.`;
}

/** MMLU-Pro as a reward task (see RewardTask for `reward` vs `correct`). */
export const choiceTask: RewardTask<ChoiceExample> = {
  name: 'mmlu-pro',
  reward(completion, example) {
    const f = checkFormat(completion);
    if (!f.ok) return CHOICE_REWARD.format;
    return extractChoice(f.answer) === example.answer ? CHOICE_REWARD.correct : CHOICE_REWARD.wrong;
  },
  correct(completion, example) {
    return extractChoice(completion) === example.answer;
  },
};
