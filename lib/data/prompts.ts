// Prompt formats. Two ways to turn a question into the text a model continues:
//
//  raw:  the paper's plain-text prompts (arXiv 2505.13718, as in its released loaders): a fixed
//        preamble that describes the <think>/<answer> protocol, then `User: …`, then
//        `Assistant: <think>`; the completion starts right after it. Each task supplies the
//        `User:` turn (K&K's is lib/kk/prompt.ts's kkUserMessage).
//  chat: the model's own chat_template from tokenizer_config.json, rendered with
//        @huggingface/jinja (the preamble becomes the system message), followed by `<think>` so
//        that completions read the same in both formats.
import { Template } from '@huggingface/jinja';

import type { Tokenizer } from './tokenizer.js';

/** The paper's preamble for every task: the reasoning protocol with <think> and <answer> tags. */
export const PAPER_PREAMBLE =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it.\n' +
  'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer.\n' +
  'The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively.\n' +
  'i.e., <think> reasoning process here </think> <answer> answer here </answer>.';

/** What the assistant's turn starts with in every format: the open thought that completions continue. */
export const ASSISTANT_PREFIX = '<think>';

/**
 * The end of a raw prompt; the completion starts right after it. The paper's MATH, code and
 * MMLU-Pro prompts end so; its K&K prompt adds a newline, which our K&K completions begin with.
 */
export const RAW_ASSISTANT_PREFIX = `Assistant: ${ASSISTANT_PREFIX}`;

/** The paper's raw prompt: `preamble`, `User: user`, `Assistant: <think>`. */
export function rawPrompt(user: string, preamble: string = PAPER_PREAMBLE): string {
  return `${preamble}\nUser: ${user}\n${RAW_ASSISTANT_PREFIX}`;
}

/** A chat message as chat templates expect it. */
export interface ChatMessage {
  role: string;
  content: string;
  [extra: string]: unknown;
}

export interface ChatOptions {
  /** Append the assistant header so the model's reply comes next (transformers' add_generation_prompt). Default false. */
  addGenerationPrompt?: boolean;
  /** More variables for the template (e.g. `enable_thinking`, `tools`). */
  variables?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/** Renders `messages` with the tokenizer's chat_template (as transformers' apply_chat_template(tokenize=False)). */
export function renderChat(tok: Tokenizer, messages: readonly ChatMessage[], opts: ChatOptions = {}): string {
  const source = tok.chatTemplate;
  if (source === undefined) throw new Error(`${tok.source}: tokenizer_config.json has no chat_template`);
  let tpl = compiled.get(source);
  if (!tpl) {
    try {
      tpl = new Template(source);
    } catch (err) {
      throw new Error(`${tok.source}: chat_template does not parse: ${(err as Error).message}`);
    }
    compiled.set(source, tpl);
  }
  const special = (k: string) => {
    const v = tok.config[k];
    return typeof v === 'string' ? v : (v as { content?: string } | null | undefined)?.content;
  };
  return tpl.render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: special('bos_token') ?? '',
    eos_token: special('eos_token') ?? '',
    pad_token: special('pad_token') ?? '',
    ...opts.variables,
  });
}

/**
 * A chat-format prompt: the preamble as the system message, the user turn, the generation
 * prompt, then `<think>` unless `think` is false (so the completion is the same text as after a
 * raw prompt).
 */
export function chatPrompt(tok: Tokenizer, user: string, opts: { system?: string; think?: boolean } = {}): string {
  const messages: ChatMessage[] = [];
  const system = opts.system ?? PAPER_PREAMBLE;
  if (system) messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: user });
  return renderChat(tok, messages, { addGenerationPrompt: true }) + (opts.think === false ? '' : ASSISTANT_PREFIX);
}
