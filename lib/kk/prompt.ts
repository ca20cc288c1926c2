// Prompts and the answer format of "Warm Up Before You Train" (arXiv 2505.13718) for K&K:
// the model reasons inside <think> ... </think>, then answers inside <answer> ... </answer> with
// one line a person, "(1) Name is a knight". The raw prompt ends with "Assistant: <think>" so
// the model continues the thought; the chat variant puts the same instructions in a system
// message (as the published data's `prompt` column does) and the assistant turn is prefilled
// with "<think>".

import type { KKPuzzle } from './puzzle.js';

/** What the assistant's turn starts with; completions continue after it. */
export const KK_ASSISTANT_PREFIX = '<think>';

/**
 * The paper's raw prompt. Placeholders: `{quiz}`, and the role words `{a_knight}`, `{a_knave}`.
 */
export const KK_RAW_TEMPLATE =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. ' +
  'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. ' +
  'The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, ' +
  'i.e., <think> reasoning process here </think> <answer> answer here </answer>.\n' +
  'User: Please solve this logical reasoning problem. After thinking, when you finally reach a conclusion, ' +
  'clearly state the identity of each character within <answer> </answer> tags, one per line, ' +
  'i.e., <answer> (1) Zoey is {a_knight}\n(2) ... </answer>. Here is my question:\n\n' +
  '{quiz}\n' +
  'Assistant: <think>';

/** System message of the chat variant: the one in the published data's `prompt` column. */
export const KK_CHAT_SYSTEM =
  'You are a helpful assistant. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. ' +
  'The reasoning process and answer are enclosed within <think> </think> and<answer> </answer> tags, respectively, ' +
  'i.e., <think> reasoning process here </think><answer> answer here </answer>.  ' +
  'Now the user asks you to solve a logical reasoning problem. After thinking, when you finally reach a conclusion, ' +
  'clearly state the identity of each character within <answer> </answer> tags. i.e., <answer> (1) Zoey is {a_knight}\n(2) ... </answer>.\n';

/** User message of the chat variant (the published data's: the quiz and a newline). */
export const KK_CHAT_USER = '{quiz}\n';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function fill(template: string, puzzle: KKPuzzle): string {
  const vars: Record<string, string> = { quiz: puzzle.quiz, a_knight: puzzle.knight_knave.a_knight, a_knave: puzzle.knight_knave.a_knave };
  return template.replace(/\{(quiz|a_knight|a_knave)\}/g, (_, k: string) => vars[k]);
}

/**
 * The raw prompt for a puzzle, ending with `Assistant: <think>`. A custom `template` must
 * contain `{quiz}`; it may use `{a_knight}` and `{a_knave}`.
 */
export function buildPrompt(puzzle: KKPuzzle, opts: { template?: string } = {}): string {
  const template = opts.template ?? KK_RAW_TEMPLATE;
  if (!template.includes('{quiz}')) throw new RangeError('template: a prompt template must contain {quiz}');
  return fill(template, puzzle);
}

/**
 * The chat variant: a system message with the instructions and a user message with the quiz.
 * Apply the model's chat template with a generation prompt, then append
 * {@link KK_ASSISTANT_PREFIX}; with Qwen's ChatML this gives the published `prompt` column.
 */
export function buildChatMessages(puzzle: KKPuzzle, opts: { system?: string; user?: string } = {}): ChatMessage[] {
  const user = opts.user ?? KK_CHAT_USER;
  if (!user.includes('{quiz}')) throw new RangeError('user: a user message template must contain {quiz}');
  const messages: ChatMessage[] = [];
  const system = opts.system ?? KK_CHAT_SYSTEM;
  if (system !== '') messages.push({ role: 'system', content: fill(system, puzzle) });
  messages.push({ role: 'user', content: fill(user, puzzle) });
  return messages;
}

/** The expected answer block: `<answer>\n(1) A is a knight\n(2) B is a knave\n</answer>`. */
export function formatAnswer(puzzle: KKPuzzle): string {
  return `<answer>\n${puzzle.solution_text_format}\n</answer>`;
}
