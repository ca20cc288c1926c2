// The official `openai` npm client (5.23.2), unchanged, against warmstart serve: completions,
// chat, streams (with usage), models, and its typed errors for our 4xx answers.
import test from 'ava';
import OpenAI from 'openai';

import { startServer, type WarmstartServer } from '../../lib/serve/server.js';
import { tinyServeModel, type TinyServeModel } from './fixture.js';

let fx: TinyServeModel;
let server: WarmstartServer;
let client: OpenAI;
const MODEL = 'tiny-kk';

test.before(async () => {
  fx = await tinyServeModel(10);
  server = await startServer(fx.model, fx.tokenizer, { port: 0, apiKey: 'sk-local', maxTokens: 32 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-local', maxRetries: 0, timeout: 30_000 });
});

test.after.always(async () => {
  await server?.close({ graceMs: 1000 });
  fx?.cleanup();
});

test('models.list and models.retrieve', async (t) => {
  const list = await client.models.list();
  t.deepEqual(
    list.data.map((m) => m.id),
    [MODEL],
  );
  t.is((await client.models.retrieve(MODEL)).owned_by, 'warmstart');
});

test('completions.create, plain and streamed, agree for a seed', async (t) => {
  const req = { model: MODEL, prompt: 'Zoey says Bob is a knave.', max_tokens: 12, temperature: 0.7, seed: 5, n: 2 };
  const r = await client.completions.create(req);
  t.is(r.choices.length, 2);
  t.true(r.usage!.completion_tokens > 0);
  const s = await client.completions.create({ ...req, stream: true });
  const texts = ['', ''];
  const finish: (string | null)[] = [null, null];
  for await (const chunk of s) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  t.deepEqual(
    texts,
    r.choices.map((c) => c.text),
  );
  t.deepEqual(
    finish,
    r.choices.map((c) => c.finish_reason),
  );
});

test('chat.completions.create, plain and streamed with usage', async (t) => {
  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Who is a knight?' },
  ];
  const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0.5, seed: 9 });
  t.is(r.object, 'chat.completion');
  t.is(r.choices[0].message.role, 'assistant');
  const s = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: 10,
    temperature: 0.5,
    seed: 9,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let role: string | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  let chunks = 0;
  for await (const chunk of s) {
    chunks++;
    role ??= chunk.choices[0]?.delta.role;
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  t.is(role, 'assistant');
  t.is(text, String(r.choices[0].message.content));
  t.deepEqual(usage, r.usage);
  t.true(chunks > 3);
});

test("the client's typed errors: unknown model, bad field, wrong key, context too long", async (t) => {
  const nf = await t.throwsAsync(client.completions.create({ model: 'gpt-4o', prompt: 'x' }), {
    instanceOf: OpenAI.NotFoundError,
  });
  t.regex(nf!.message, /does not exist/);
  const bad = await t.throwsAsync(
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: 7 }),
    { instanceOf: OpenAI.BadRequestError },
  );
  t.is((bad as InstanceType<typeof OpenAI.BadRequestError>).param, 'temperature');
  const other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await t.throwsAsync(other.models.list(), { instanceOf: OpenAI.AuthenticationError });
  const long = await t.throwsAsync(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 33 }), {
    instanceOf: OpenAI.BadRequestError,
  });
  t.regex(long!.message, /max_tokens must be in \[1, 32\]/);
});
