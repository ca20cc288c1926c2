// Large inputs to the server: a body over the limit gets its 413 (not a broken pipe), a prompt of
// megabytes is encoded on the tokenize worker only as far as the context reaches while other
// clients are answered, and a request with many prompts runs without listener-leak warnings.
import { connect } from 'node:net';

import test from 'ava';

import type { Model } from '../../lib/engine/model.js';
import { startServer, type WarmstartServer } from '../../lib/serve/server.js';
import { post } from './http.js';
import { tinyServeModel, type TinyServeModel } from './fixture.js';

let fx: TinyServeModel;
let server: WarmstartServer;
const MODEL = 'tiny-kk';

test.before(async () => {
  fx = await tinyServeModel(20);
  server = await startServer(fx.model, fx.tokenizer, { port: 0, maxTokens: 8, maxBodyBytes: 64 * 1024 });
});

test.after.always(async () => {
  await server?.close({ graceMs: 1000 });
  fx?.cleanup();
});

test('a body over the limit is read to its end and answered 413, with or without Content-Length', async (t) => {
  const url = `${server.url}/v1/completions`;
  const body = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(16 << 20) });
  const sized = await post(url, body);
  t.is(sized.status, 413);
  t.is(sized.json.error.code, 'body_too_large');
  // sent in pieces with pauses, so the upload is still going on when the limit is passed
  const piece = new TextEncoder().encode('x'.repeat(1 << 16));
  let sent = 0;
  const chunked = new ReadableStream({
    async pull(c) {
      if (sent++ === 64)
        c.close(); // 4 MiB
      else {
        await new Promise((r) => setTimeout(r, 2));
        c.enqueue(piece);
      }
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
  t.is((await post(url, { model: MODEL, prompt: 'x', max_tokens: 2 })).status, 200);
});

test('a client that uploads its whole body before reading (as curl does) gets the 413, not a broken pipe', async (t) => {
  const { hostname, port } = new URL(server.url);
  const size = 8 << 20;
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const got: Buffer[] = [];
    sock.on('data', (b) => got.push(b));
    sock.on('error', reject);
    sock.on('end', () => resolve(Buffer.concat(got).toString('latin1')));
    sock.write(
      `POST /v1/completions HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
    );
    const piece = Buffer.alloc(1 << 16, 0x78);
    let sent = 0;
    const more = () => {
      if (sent === size) return;
      sent += piece.length;
      if (sock.write(piece)) setTimeout(more, 1);
      else sock.once('drain', more);
    };
    more();
  });
  t.regex(reply, /^HTTP\/1\.1 413 /);
  t.regex(reply, /"code":"body_too_large"/);
});

test('a prompt of megabytes is refused without holding up /health', async (t) => {
  // The same model seen with a context of 128 Ki tokens, so that the prompt must be encoded that
  // far (a second or so of work) before it is known to be too long.
  const context = 1 << 17;
  const wide = Object.create(fx.model) as Model;
  Object.defineProperty(wide, 'config', { value: { ...fx.model.config, maxPositionEmbeddings: context } });
  const big = await startServer(wide, fx.tokenizer, { port: 0, maxTokens: 8 });
  try {
    const text = fx.puzzles.map((p) => p.quiz).join('\n');
    const prompt = text.repeat(Math.ceil(3.5e6 / text.length)).slice(0, 3.5e6);
    let bigDone = false;
    const answer = post(`${big.url}/v1/completions`, { model: MODEL, prompt, max_tokens: 1 }).finally(() => {
      bigDone = true;
    });
    // an ordinary prompt sent after the big one is answered before it (never queued behind it)
    await new Promise((r) => setTimeout(r, 50));
    const ordinary = post(`${big.url}/v1/completions`, { model: MODEL, prompt: fx.puzzles[1].quiz, max_tokens: 2 });
    const ordinaryFirst = ordinary.then((o) => {
      t.is(o.status, 200);
      return !bigDone;
    });
    let during = 0;
    while (!bigDone) {
      const h = await fetch(`${big.url}/health`);
      t.is(h.status, 200);
      await h.json();
      if (!bigDone) during++;
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await answer;
    t.is(r.status, 400, r.text.slice(0, 200));
    t.is(r.json.error.code, 'context_length_exceeded');
    t.regex(r.json.error.message, new RegExp(`prompt holds more than ${context} tokens`));
    t.true(await ordinaryFirst, 'the ordinary prompt was answered while the big one was still being encoded');
    // /health kept answering while the prompt was being encoded
    t.true(during >= 5, `${during} health answers while the big prompt was in flight`);
    // a prompt that fits is still served afterwards
    t.is(
      (await post(`${big.url}/v1/completions`, { model: MODEL, prompt: fx.puzzles[0].quiz, max_tokens: 2 })).status,
      200,
    );
  } finally {
    await big.close({ graceMs: 1000 });
  }
});

test('a request with 30 prompts logs no MaxListenersExceededWarning', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const prompts = fx.puzzles.slice(0, 15).flatMap((p) => [p.quiz, p.quiz.slice(0, 40)]);
    const r = await post(`${server.url}/v1/completions`, { model: MODEL, prompt: prompts, n: 2, max_tokens: 3 });
    t.is(r.status, 200, r.text.slice(0, 200));
    t.is(r.json.choices.length, 60);
    const s = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: prompts, max_tokens: 3, stream: true }),
    });
    t.true((await s.text()).includes('[DONE]'));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  t.deepEqual(
    warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});
