// warmstart serve over a tiny model on 127.0.0.1: the answers match the engine's own generation,
// stop strings, chat templates, streams, batching of concurrent requests, every kind of bad
// request, the queue limit, the API key and graceful shutdown.
import test from 'ava';

import { renderChat } from '../../lib/data/prompts.js';
import { startServer, type WarmstartServer } from '../../lib/serve/server.js';
import { instrumented, tinyServeModel, until, type TinyServeModel } from './fixture.js';
import { get, post, stream } from './http.js';

let fx: TinyServeModel;
let server: WarmstartServer;
const MODEL = 'tiny-kk';

test.before(async () => {
  fx = await tinyServeModel(20);
  server = await startServer(fx.model, fx.tokenizer, { port: 0, maxTokens: 64, maxBodyBytes: 64 * 1024 });
});

test.after.always(async () => {
  await server?.close({ graceMs: 1000 });
  fx?.cleanup();
});

const eos = () => [...new Set([...fx.tokenizer.stopTokenIds])];

test('a seeded completion is exactly what the engine samples for that prompt and seed', async (t) => {
  const prompt = 'Zoey is a knight and';
  const r = await post(`${server.url}/v1/completions`, {
    model: MODEL,
    prompt,
    n: 2,
    max_tokens: 12,
    temperature: 0.8,
    top_p: 0.9,
    top_k: 20,
    seed: 7,
  });
  t.is(r.status, 200, r.text);
  const ids = Array.from(fx.tokenizer.encode(prompt));
  const g = await fx.model.generate([ids, ids], {
    maxNewTokens: 12,
    temperature: 0.8,
    topP: 0.9,
    topK: 20,
    seed: 7,
    stopTokens: eos(),
  });
  t.is(r.json.object, 'text_completion');
  t.is(r.json.model, MODEL);
  t.is(r.json.choices.length, 2);
  r.json.choices.forEach((c: { index: number; text: string; finish_reason: string }, i: number) => {
    t.is(c.index, i);
    const toks = g.finishReasons[i] === 'stop' ? g.tokens[i].slice(0, -1) : g.tokens[i];
    t.is(c.text, fx.tokenizer.decode(toks, { skipSpecialTokens: true }));
    t.is(c.finish_reason, g.finishReasons[i]);
  });
  t.not(r.json.choices[0].text, r.json.choices[1].text); // n samples, not n copies
  t.deepEqual(r.json.usage, {
    prompt_tokens: ids.length,
    completion_tokens: g.tokens[0].length + g.tokens[1].length,
    total_tokens: ids.length + g.tokens[0].length + g.tokens[1].length,
  });
  const again = await post(`${server.url}/v1/completions`, {
    model: MODEL,
    prompt,
    n: 2,
    max_tokens: 12,
    temperature: 0.8,
    top_p: 0.9,
    top_k: 20,
    seed: 7,
  });
  t.deepEqual(again.json.choices, r.json.choices);
});

test('token-id prompts and prompt lists give one choice per prompt and n', async (t) => {
  const ids = Array.from(fx.tokenizer.encode('Who is a knave?'));
  const r = await post(`${server.url}/v1/completions`, {
    model: MODEL,
    prompt: [ids, 'Who is a knight?'],
    n: 2,
    max_tokens: 5,
    temperature: 0,
  });
  t.is(r.status, 200, r.text);
  t.deepEqual(
    r.json.choices.map((c: { index: number }) => c.index),
    [0, 1, 2, 3],
  );
  t.is(r.json.choices[0].text, r.json.choices[1].text); // greedy: both samples agree
  const direct = await fx.model.generate([ids], { maxNewTokens: 5, temperature: 0, stopTokens: eos() });
  t.is(r.json.choices[0].text, fx.tokenizer.decode(direct.tokens[0], { skipSpecialTokens: true }));
  t.is(r.json.usage.prompt_tokens, ids.length + fx.tokenizer.encode('Who is a knight?').length);
  // the edges of the sampling ranges reach the engine inside its own ranges
  const edges = await post(`${server.url}/v1/completions`, {
    model: MODEL,
    prompt: 'x',
    max_tokens: 2,
    top_k: 10 ** 6,
    top_p: 1e-300,
    temperature: 2,
    seed: -1,
  });
  t.is(edges.status, 200, edges.text);
});

test('a stop string cuts the text before it, reports it, and counts only the tokens up to it', async (t) => {
  const prompt = 'Alice says that Bob is a knave.';
  const full = await post(`${server.url}/v1/completions`, { model: MODEL, prompt, max_tokens: 40, temperature: 0 });
  const text: string = full.json.choices[0].text;
  // a two-character stop from the middle of the greedy text (no replacement characters)
  let at = 10;
  while (at < text.length - 2 && /\uFFFD/.test(text.slice(at, at + 2))) at++;
  const stop = text.slice(at, at + 2);
  t.true(stop.length === 2 && !stop.includes('\uFFFD'), `greedy text too short: ${JSON.stringify(text)}`);
  const cut = await post(`${server.url}/v1/completions`, {
    model: MODEL,
    prompt,
    max_tokens: 40,
    temperature: 0,
    stop: ['never-there', stop],
  });
  const c = cut.json.choices[0];
  t.is(c.text, text.slice(0, text.indexOf(stop)));
  t.is(c.finish_reason, 'stop');
  t.is(c.stop_reason, stop);
  t.true(cut.json.usage.completion_tokens < full.json.usage.completion_tokens);
  t.true(fx.tokenizer.decode(fx.tokenizer.encode(prompt + c.text)).length <= (prompt + text).length);
});

test('chat completions render the model chat template and answer as the engine does', async (t) => {
  const messages = [
    { role: 'system', content: 'Answer briefly.' },
    { role: 'user', content: [{ type: 'text', text: 'Is Zoey a knight?' }] },
  ];
  const r = await post(`${server.url}/v1/chat/completions`, {
    model: MODEL,
    messages,
    max_tokens: 10,
    temperature: 0.7,
    seed: 3,
  });
  t.is(r.status, 200, r.text);
  const rendered = renderChat(
    fx.tokenizer,
    [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: 'Is Zoey a knight?' },
    ],
    { addGenerationPrompt: true },
  );
  t.true(rendered.endsWith('<|im_start|>assistant\n'));
  const ids = Array.from(fx.tokenizer.encode(rendered));
  const stops = [...eos(), fx.tokenizer.tokenToId('<|im_end|>')!];
  const g = await fx.model.generate([ids], { maxNewTokens: 10, temperature: 0.7, seed: 3, stopTokens: stops });
  const toks = g.finishReasons[0] === 'stop' ? g.tokens[0].slice(0, -1) : g.tokens[0];
  t.is(r.json.object, 'chat.completion');
  t.deepEqual(r.json.choices[0].message, {
    role: 'assistant',
    content: fx.tokenizer.decode(toks, { skipSpecialTokens: true }),
  });
  t.is(r.json.usage.prompt_tokens, ids.length);
});

test('streams send the same text as server-sent events, then usage and [DONE]', async (t) => {
  for (const [path, body] of [
    ['/v1/completions', { prompt: 'Bob says Alice lies.' }],
    ['/v1/chat/completions', { messages: [{ role: 'user', content: 'Who lies?' }] }],
  ] as const) {
    const req = { model: MODEL, ...body, n: 2, max_tokens: 16, temperature: 0.9, seed: 11 };
    const whole = await post(`${server.url}${path}`, req);
    const s = await stream(`${server.url}${path}`, { ...req, stream: true, stream_options: { include_usage: true } });
    t.is(s.status, 200);
    t.regex(s.contentType ?? '', /^text\/event-stream/);
    t.is(s.events.at(-1), '[DONE]');
    const chunks = s.events.slice(0, -1) as { object: string; id: string; choices: any[]; usage?: unknown }[];
    t.true(
      chunks.every(
        (c) =>
          c.id === chunks[0].id && c.object === (path.includes('chat') ? 'chat.completion.chunk' : 'text_completion'),
      ),
    );
    t.deepEqual(chunks.at(-1)!.usage, whole.json.usage);
    for (let i = 0; i < 2; i++) {
      const mine = chunks.flatMap((c) => c.choices).filter((c) => c.index === i);
      const text = mine.map((c) => (path.includes('chat') ? (c.delta.content ?? '') : c.text)).join('');
      const expected = path.includes('chat') ? whole.json.choices[i].message.content : whole.json.choices[i].text;
      t.is(text, expected);
      t.true(mine.length > 3, 'one chunk per token or so');
      t.is(mine.at(-1).finish_reason, whole.json.choices[i].finish_reason);
      if (path.includes('chat')) t.is(mine[0].delta.role, 'assistant');
    }
  }
});

test('/v1/models and /health', async (t) => {
  const m = await get(`${server.url}/v1/models`);
  t.is(m.status, 200);
  t.is(m.json.object, 'list');
  t.deepEqual(
    m.json.data.map((d: { id: string; object: string }) => [d.id, d.object]),
    [[MODEL, 'model']],
  );
  t.is((await get(`${server.url}/v1/models/${MODEL}`)).json.id, MODEL);
  t.is((await get(`${server.url}/v1/models/other`)).status, 404);
  // at least one batch run, whatever the order the tests in this file run in
  t.is((await post(`${server.url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 1 })).status, 200);
  const h = await get(`${server.url}/health`);
  t.is(h.status, 200);
  t.is(h.json.status, 'ok');
  t.true(h.json.batches > 0 && h.json.memory.rss_bytes > 0);
});

test('bad requests get clean 4xx answers in the OpenAI error shape, naming the field', async (t) => {
  const url = `${server.url}/v1/completions`;
  const chat = `${server.url}/v1/chat/completions`;
  const cases: [string, unknown, number, string | null, RegExp][] = [
    [url, '{"model": "tiny-kk", "prompt": ', 400, null, /not valid JSON/],
    [url, '[1, 2]', 400, null, /must be a JSON object/],
    [url, { model: 5, prompt: 'x' }, 400, 'model', /model must be a non-empty string/],
    [url, { model: MODEL, prompt: 3 }, 400, 'prompt', /prompt must be/],
    [url, { model: MODEL, prompt: 'x', max_tokens: '10' }, 400, 'max_tokens', /must be a number, got a string/],
    [url, { model: MODEL, prompt: 'x', max_tokens: 65 }, 400, 'max_tokens', /in \[1, 64\]/],
    [url, { model: MODEL, prompt: 'x', temperature: -1 }, 400, 'temperature', /in \[0, 2\]/],
    [url, { model: MODEL, prompt: 'x', n: 1.5 }, 400, 'n', /integer/],
    [url, { model: MODEL, prompt: 'x', stop: [1] }, 400, 'stop', /stop must be/],
    [url, { model: MODEL, prompt: 'x', stream: 'yes' }, 400, 'stream', /boolean/],
    [url, { model: MODEL, prompt: 'x', logprobs: 3 }, 400, 'logprobs', /not supported/],
    [url, { model: MODEL, prompt: [[1, 2, 100000]] }, 400, 'prompt', /not below the vocabulary size/],
    [url, { model: MODEL, prompt: '' }, 400, 'prompt', /empty/],
    [
      url,
      { model: MODEL, prompt: 'word '.repeat(5000), max_tokens: 8 },
      400,
      'prompt', // the prompt alone is past the context
      /maximum context length is 4096/,
    ],
    [chat, { model: MODEL, messages: 'hi' }, 400, 'messages', /non-empty array/],
    [chat, { model: MODEL, messages: [{ role: 'robot', content: 'hi' }] }, 400, 'messages[0].role', /one of system/],
    [
      chat,
      { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      400,
      'messages[0].content',
      /only text/,
    ],
    [url, { model: 'gpt-4o', prompt: 'x' }, 404, 'model', /does not exist/],
    [chat, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 404, 'model', /does not exist/],
    [url, { model: MODEL, prompt: 'x'.repeat(70 * 1024) }, 413, null, /larger than the limit/],
    [`${server.url}/v1/embeddings`, { model: MODEL, input: 'x' }, 404, null, /no route/],
  ];
  for (const [u, body, status, param, msg] of cases) {
    const r = await post(u, body);
    const label = `${JSON.stringify(body).slice(0, 80)} -> ${r.text.slice(0, 200)}`;
    t.is(r.status, status, label);
    t.is(r.headers.get('content-type'), 'application/json', label);
    t.is(typeof r.json.error.type, 'string', label);
    t.is(r.json.error.param, param, label);
    t.regex(r.json.error.message, msg, label);
  }
  // a huge body sent in chunks (no Content-Length) is cut off at the limit too
  const chunked = new ReadableStream({
    start(c) {
      for (let i = 0; i < 40; i++) c.enqueue(new TextEncoder().encode('x'.repeat(8192)));
      c.close();
    },
  });
  const res = await fetch(url, {
    method: 'POST',
    body: chunked,
    headers: { 'Content-Type': 'application/json' },
    duplex: 'half',
  } as RequestInit);
  t.is(res.status, 413);
  t.is(((await res.json()) as { error: { code: string } }).error.code, 'body_too_large');
  const wrongMethod = await fetch(url);
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'POST');
  const wrongType = await post(url, 'prompt=x', { 'Content-Type': 'application/x-www-form-urlencoded' });
  t.is(wrongType.status, 400);
  // the server still answers after all that
  t.is((await post(url, { model: MODEL, prompt: 'x', max_tokens: 2 })).status, 200);
});

test('requests that arrive while a batch runs join the next one; different sampling runs apart', async (t) => {
  const { model, calls, hold } = instrumented(fx.model);
  const s = await startServer(model, fx.tokenizer, { port: 0 });
  try {
    const body = (p: string, temperature = 0.5) => ({ model: MODEL, prompt: p, max_tokens: 4, temperature });
    const release = hold();
    const first = post(`${s.url}/v1/completions`, body('first'));
    await until(() => s.batcher.running === 1); // the first batch is in the engine
    const rest = Promise.all([
      ...Array.from({ length: 6 }, (_, i) => post(`${s.url}/v1/completions`, body(`joiner ${i}`))),
      post(`${s.url}/v1/completions`, body('greedy', 0)),
    ]);
    await until(() => s.batcher.queued === 7);
    release();
    t.is((await first).status, 200);
    t.true((await rest).every((r) => r.status === 200));
    t.deepEqual(calls, [1, 6, 1]);
    t.is(s.batcher.stats.batches, 3);
  } finally {
    await s.close();
  }
});

test('a full queue answers 429 with Retry-After; every request gets an answer', async (t) => {
  const { model, hold } = instrumented(fx.model);
  const s = await startServer(model, fx.tokenizer, { port: 0, maxQueue: 2, maxBatchSequences: 1 });
  try {
    const release = hold();
    let answered = 0;
    const all = Array.from({ length: 8 }, (_, i) =>
      post(`${s.url}/v1/completions`, { model: MODEL, prompt: `q${i}`, max_tokens: 2 }).finally(() => answered++),
    );
    // one runs, two wait (or three, if they queue before the first batch starts), the rest are refused at once
    await until(() => answered >= 5 && s.batcher.running === 1);
    release();
    const codes = (await Promise.all(all)).map((r) => r.status);
    t.true(
      codes.every((c) => c === 200 || c === 429),
      codes.join(),
    );
    t.true(codes.filter((c) => c === 200).length >= 2 && codes.filter((c) => c === 429).length >= 5, codes.join());
    for (const r of await Promise.all(all)) {
      if (r.status === 200) continue;
      t.is(r.status, 429);
      t.is(r.headers.get('retry-after'), '1');
      t.is(r.json.error.type, 'rate_limit_error');
    }
  } finally {
    await s.close();
  }
});

test('with an API key, /v1 needs it and /health does not', async (t) => {
  const s = await startServer(fx.model, fx.tokenizer, { port: 0, apiKey: 'sekret-123' });
  try {
    const body = { model: MODEL, prompt: 'x', max_tokens: 2 };
    const none = await post(`${s.url}/v1/completions`, body);
    t.is(none.status, 401);
    t.is(none.json.error.code, 'invalid_api_key');
    t.is((await post(`${s.url}/v1/completions`, body, { Authorization: 'Bearer sekret-124' })).status, 401);
    t.is((await get(`${s.url}/v1/models`)).status, 401);
    t.is((await post(`${s.url}/v1/completions`, body, { Authorization: 'Bearer sekret-123' })).status, 200);
    t.is((await get(`${s.url}/health`)).status, 200);
  } finally {
    await s.close();
  }
});

test('close() lets requests in flight finish, then refuses connections', async (t) => {
  const { model, hold } = instrumented(fx.model);
  const s = await startServer(model, fx.tokenizer, { port: 0 });
  const release = hold();
  const inflight = post(`${s.url}/v1/completions`, { model: MODEL, prompt: 'slow', max_tokens: 3 });
  await until(() => s.batcher.running === 1);
  const closed = s.close({ graceMs: 10_000 });
  release();
  const r = await inflight;
  t.is(r.status, 200);
  t.is(r.json.choices.length, 1);
  await closed;
  const err = await t.throwsAsync(fetch(`${s.url}/health`));
  t.regex(String((err as { cause?: { code?: string } }).cause?.code), /ECONNREFUSED/);
});

test('every single-field mutation of a valid body is answered 200 or a clean 4xx, never 500', async (t) => {
  const values: unknown[] = [
    null,
    undefined,
    true,
    false,
    0,
    -1,
    1.5,
    2 ** 53,
    -(2 ** 60),
    1e300,
    '',
    'x',
    '10',
    [],
    [1],
    ['a'],
    {},
    { a: 1 },
    [[1, 2]],
    [[-1]],
    [{}],
    'y'.repeat(3000),
  ];
  const bodies: [string, Record<string, unknown>, string[]][] = [
    [
      '/v1/completions',
      { model: MODEL, prompt: 'Zoey is', max_tokens: 2 },
      [
        'model',
        'prompt',
        'max_tokens',
        'temperature',
        'top_p',
        'top_k',
        'n',
        'stop',
        'seed',
        'stream',
        'stream_options',
        'logprobs',
        'echo',
        'best_of',
        'suffix',
        'presence_penalty',
        'logit_bias',
      ],
    ],
    [
      '/v1/chat/completions',
      { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
      [
        'messages',
        'max_completion_tokens',
        'response_format',
        'tools',
        'logprobs',
        'top_logprobs',
        'messages.0',
        'messages.0.role',
        'messages.0.content',
      ],
    ],
  ];
  const cases: [string, unknown][] = [];
  for (const [path, base, fields] of bodies) {
    for (const f of fields) {
      for (const v of values) {
        const body = structuredClone(base);
        const keys = f.split('.');
        let at: any = body;
        for (const k of keys.slice(0, -1)) at = at[k];
        if (v === undefined) delete at[keys.at(-1)!];
        else at[keys.at(-1)!] = v;
        cases.push([path, body]);
      }
    }
  }
  const statuses = new Map<number, number>();
  for (let i = 0; i < cases.length; i += 16) {
    await Promise.all(
      cases.slice(i, i + 16).map(async ([path, body]) => {
        const r = await post(`${server.url}${path}`, body);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const label = `${path} ${JSON.stringify(body).slice(0, 160)} -> ${r.status} ${r.text.slice(0, 160)}`;
        if (r.status === 200) return;
        t.true(r.status >= 400 && r.status < 500, label);
        t.is(typeof r.json?.error?.message, 'string', label);
      }),
    );
  }
  t.true((statuses.get(200) ?? 0) > 20 && (statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
  t.is((await post(`${server.url}/v1/completions`, { model: MODEL, prompt: 'still here', max_tokens: 2 })).status, 200);
});
