// Prompts and the answer format of "Warm Up Before You Train" (arXiv 2505.13718) for K&K:
// the model reasons inside <think> ... </think>, then answers inside <answer> ... </answer> with
// one line a person, "(1) Name is a knight". The raw prompt is the paper's (its K&K loader): the
// shared preamble and raw shape of lib/data/prompts.ts around the K&K instruction below, ending
// with "Assistant: <think>" so the model continues the thought. Every K&K raw prompt (warmup
// traces, `warmstart kk traces`, the RLVR kk task, kk evaluation) is built here. The chat variant
// puts Logic-RL's instructions in a system message (as the published data's `prompt` column does)
// and the assistant turn is prefilled with "<think>".

import { ASSISTANT_PREFIX, rawPrompt } from '../data/prompts.js';
import type { KKPuzzle } from './puzzle.js';
import { roleWords, type RoleWords } from './text.js';

/** What the assistant's turn starts with; completions continue after it. */
export const KK_ASSISTANT_PREFIX = ASSISTANT_PREFIX;

/**
 * The paper's K&K instruction, the `User:` turn of its raw prompt. Placeholders: `{quiz}`, and
 * the role words `{a_knight}`, `{a_knave}`. The example answer breaks its line after "(1) Zoey is
 * a knight", as the paper's prompt does.
 */
export const KK_USER_TEMPLATE =
  'Please solve this logical reasoning problem. After thinking, when you finally reach a conclusion, ' +
  'clearly state the identity of each character within <answer> </answer> tags i.e., ' +
  '<answer> (1) Zoey is {a_knight}\n(2) ... </answer>. Here is my question,\n\n' +
  '{quiz}';

/** The paper's raw K&K prompt: the preamble, `User:` {@link KK_USER_TEMPLATE}, `Assistant: <think>`. */
export const KK_RAW_TEMPLATE = rawPrompt(KK_USER_TEMPLATE);

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

function fill(template: string, quiz: string, roles: Pick<RoleWords, 'a_knight' | 'a_knave'>): string {
  const vars: Record<string, string> = { quiz, a_knight: roles.a_knight, a_knave: roles.a_knave };
  return template.replace(/\{(quiz|a_knight|a_knave)\}/g, (_, k: string) => vars[k]);
}

/**
 * The paper's K&K `User:` turn for a quiz (role words knight/knave unless given): what
 * lib/data's raw and chat formats wrap.
 */
export function kkUserMessage(quiz: string, roles: Pick<RoleWords, 'a_knight' | 'a_knave'> = roleWords()): string {
  return fill(KK_USER_TEMPLATE, quiz, roles);
}

/**
 * The raw prompt for a puzzle: the paper's ({@link KK_RAW_TEMPLATE}), ending with
 * `Assistant: <think>`. A custom `template` must contain `{quiz}`; it may use `{a_knight}` and
 * `{a_knave}`.
 */
export function buildPrompt(puzzle: KKPuzzle, opts: { template?: string } = {}): string {
  const template = opts.template ?? KK_RAW_TEMPLATE;
  if (!template.includes('{quiz}')) throw new RangeError('template: a prompt template must contain {quiz}');
  return fill(template, puzzle.quiz, puzzle.knight_knave);
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
  if (system !== '') messages.push({ role: 'system', content: fill(system, puzzle.quiz, puzzle.knight_knave) });
  messages.push({ role: 'user', content: fill(user, puzzle.quiz, puzzle.knight_knave) });
  return messages;
}

/** The expected answer block: `<answer>\n(1) A is a knight\n(2) B is a knave\n</answer>`. */
export function formatAnswer(puzzle: KKPuzzle): string {
  return `<answer>\n${puzzle.solution_text_format}\n</answer>`;
}
