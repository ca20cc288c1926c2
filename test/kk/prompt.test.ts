import test from 'ava';

import { rawPrompt } from '../../lib/data/prompts.js';
import {
  buildChatMessages,
  buildPrompt,
  formatAnswer,
  generatePuzzles,
  KK_ASSISTANT_PREFIX,
  kkUserMessage,
  type KKChatMessage as ChatMessage,
} from '../../lib/kk/index.js';
import { readParquetRows } from '../../lib/kk/io.js';
import { PUBLISHED_FILES, publishedPuzzles } from './published.js';

// Qwen's ChatML with a generation prompt, as the published data's `prompt` column was made.
const chatml = (messages: ChatMessage[]) =>
  messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';

test('the raw prompt holds the quiz and the answer format, and ends with "Assistant: <think>"', async (t) => {
  const p = (await publishedPuzzles())[0].puzzles[0];
  const prompt = buildPrompt(p);
  t.true(prompt.endsWith(`\n${p.quiz}\nAssistant: <think>`));
  t.true(prompt.startsWith('A conversation between User and Assistant.'));
  t.regex(prompt, /<think> reasoning process here <\/think> <answer> answer here <\/answer>/);
  t.regex(prompt, /<answer> \(1\) Zoey is a knight\n\(2\) \.\.\. <\/answer>/);
  t.is(
    buildPrompt(p, { template: 'Q: {quiz} ({a_knight}/{a_knave})\nAssistant: <think>' }),
    `Q: ${p.quiz} (a knight/a knave)\nAssistant: <think>`,
  );
  t.throws(() => buildPrompt(p, { template: 'no quiz here' }), { message: /template: .*\{quiz\}/ });
});

test('chat messages + ChatML + "<think>" reproduce the published prompt column, row by row', async (t) => {
  const mismatches: string[] = [];
  let n = 0;
  for (const [k, file] of PUBLISHED_FILES.entries()) {
    const rows = await readParquetRows(file);
    const puzzles = (await publishedPuzzles())[k].puzzles;
    rows.forEach((r, i) => {
      const published = (r.prompt as { content: string }[])[0].content;
      if (chatml(buildChatMessages(puzzles[i])) + KK_ASSISTANT_PREFIX !== published)
        mismatches.push(`${file} row ${i}`);
      n++;
    });
  }
  t.is(n, 4000);
  t.deepEqual(mismatches, []);
});

test('chat templates are configurable; role words follow the puzzle', (t) => {
  const [p] = generatePuzzles({ people: 3, count: 1, seed: 1, roles: ['a sage', 'a fool'] });
  t.deepEqual(buildChatMessages(p, { system: '', user: 'Solve: {quiz}' }), [
    { role: 'user', content: `Solve: ${p.quiz}` },
  ]);
  t.regex(buildChatMessages(p)[0].content, /\(1\) Zoey is a sage/);
  t.is(buildPrompt(p), rawPrompt(kkUserMessage(p.quiz, p.knight_knave)));
  t.regex(buildPrompt(p), /<answer> \(1\) Zoey is a sage\n\(2\) \.\.\. <\/answer>/);
  t.throws(() => buildChatMessages(p, { user: 'x' }), { message: /user: .*\{quiz\}/ });
  t.is(formatAnswer(p), `<answer>\n${p.solution_text_format}\n</answer>`);
  t.regex(
    formatAnswer(p),
    /^<answer>\n\(1\) \w+ is a (sage|fool)\n\(2\) \w+ is a (sage|fool)\n\(3\) \w+ is a (sage|fool)\n<\/answer>$/,
  );
});
