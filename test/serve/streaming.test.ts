// Streaming as the engine samples: over a scripted model that emits a known text token by token
// and pauses where the test says, a client receives the text of the tokens sampled so far while
// the generation is still running; a stop string ends the completion in the engine as soon as it
// is sampled (streamed or not); a client that hangs up stops its completion.
import test from 'ava';

import type { FinishReason, Generation, Model } from '../../lib/engine/model.js';
import { startServer, type WarmstartServer } from '../../lib/serve/server.js';
import { tinyServeModel, until, type TinyServeModel } from './fixture.js';
import { post } from './http.js';

let fx: TinyServeModel;
test.before(async () => {
  fx = await tinyServeModel(10);
});
test.after.always(() => fx?.cleanup());

const SCRIPT = 'Bob is a knight. Alice is a knave. STOP then more words that follow it';

/**
 * A model whose generate() emits SCRIPT's tokens one step at a time for every prompt, honouring
 * per-prompt limits and signals, and waits at step `pauseAt` until `resume()`.
 */
function scripted(pauseAt: number) {
  const ids = Array.from(fx.tokenizer.encode(SCRIPT));
  let resume!: () => void;
  const paused = new Promise<void>((r) => {
    resume = r;
  });
  const state = { steps: 0, pausedNow: false, finished: false, aborted: [] as boolean[] };
  const m = Object.create(fx.model) as Model;
  m.generate = async (prompts, opts): Promise<Generation> => {
    const limit = (s: number) => (typeof opts.maxNewTokens === 'number' ? opts.maxNewTokens : opts.maxNewTokens[s]);
    const tokens: number[][] = prompts.map(() => []);
    const finishReasons: FinishReason[] = prompts.map(() => 'length');
    const live = new Set(prompts.keys());
    for (let k = 0; live.size > 0; k++) {
      if (k === pauseAt) {
        state.pausedNow = true;
        await paused;
        state.pausedNow = false;
      }
      const step = [];
      for (const s of [...live]) {
        if (opts.signals?.[s]?.aborted || k >= ids.length) {
          finishReasons[s] = k >= ids.length ? 'length' : 'abort';
          state.aborted[s] = finishReasons[s] === 'abort';
          live.delete(s);
          continue;
        }
        tokens[s].push(ids[k]);
        step.push({ prompt: s, token: ids[k], logprob: -1 });
        if (tokens[s].length >= limit(s)) live.delete(s);
      }
      state.steps = k + 1;
      if (step.length > 0) opts.onTokens?.(step);
      await new Promise((r) => setTimeout(r, 1));
    }
    state.finished = true;
    return {
      tokens: tokens.map((t) => Int32Array.from(t)),
      logprobs: tokens.map((t) => new Float32Array(t.length).fill(-1)),
      finishReasons,
    };
  };
  return { model: m, state, resume, ids };
}

async function withServer(model: Model, f: (s: WarmstartServer) => Promise<void>): Promise<void> {
  const s = await startServer(model, fx.tokenizer, { port: 0, maxTokens: 64, modelName: 'tiny' });
  try {
    await f(s);
  } finally {
    await s.close({ graceMs: 500 });
  }
}

/** Reads a server-sent event stream, handing each data event to `on` as it arrives. */
async function readEvents(res: Response, on: (e: any) => void): Promise<void> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.slice('data: '.length);
      on(data === '[DONE]' ? data : JSON.parse(data));
    }
  }
}

test('a stream carries the text of the tokens sampled so far while the generation still runs', async (t) => {
  const sc = scripted(6);
  await withServer(sc.model, async (s) => {
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'Who is who?', max_tokens: 64, stream: true }),
    });
    let text = '';
    let atPause = '';
    const events: any[] = [];
    const reading = readEvents(res, (e) => {
      events.push(e);
      if (e !== '[DONE]') text += e.choices[0]?.text ?? '';
    });
    await until(() => sc.state.pausedNow);
    const early = fx.tokenizer.decode(sc.ids.slice(0, 6), { skipSpecialTokens: true });
    await until(() => text.length > 0 && early.startsWith(text) && text.length >= early.length - 3);
    atPause = text;
    t.false(sc.state.finished, 'the generation is still running');
    sc.resume();
    await reading;
    t.true(atPause.length > 0);
    t.is(text, fx.tokenizer.decode(sc.ids, { skipSpecialTokens: true }));
    t.is(events.at(-1), '[DONE]');
    t.is(events.at(-2).choices[0].finish_reason, 'length');
  });
});

test('a stop string ends the completion in the engine as soon as it is sampled, streamed or not', async (t) => {
  for (const stream of [false, true]) {
    const sc = scripted(-1);
    await withServer(sc.model, async (s) => {
      const r = await post(`${s.url}/v1/completions`, {
        model: 'tiny',
        prompt: 'Who is who?',
        max_tokens: 64,
        stop: ['STOP'],
        stream,
      });
      t.is(r.status, 200);
      const text = stream
        ? r.text
            .split('\n\n')
            .filter((b) => b.startsWith('data: {'))
            .map((b) => JSON.parse(b.slice(6)).choices[0]?.text ?? '')
            .join('')
        : r.json.choices[0].text;
      t.is(text, 'Bob is a knight. Alice is a knave. ');
      await until(() => sc.state.finished);
      // the engine was told to stop within two steps of the stop string, far before its 64 tokens
      const upTo = Array.from(fx.tokenizer.encode('Bob is a knight. Alice is a knave. STOP')).length;
      t.true(sc.state.aborted[0], 'the completion was stopped');
      t.true(sc.state.steps <= upTo + 3, `${sc.state.steps} steps for ${upTo} tokens`);
    });
  }
});

test('a client that hangs up mid-stream stops its completion', async (t) => {
  const sc = scripted(5);
  await withServer(sc.model, async (s) => {
    const ctl = new AbortController();
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      signal: ctl.signal,
      body: JSON.stringify({ model: 'tiny', prompt: 'Who is who?', max_tokens: 64, stream: true }),
    });
    const reading = readEvents(res, () => undefined).catch(() => undefined);
    await until(() => sc.state.pausedNow);
    ctl.abort();
    await reading;
    await new Promise((r) => setTimeout(r, 50)); // the server sees the socket close
    sc.resume();
    await until(() => sc.state.finished);
    t.true(sc.state.aborted[0]);
    t.true(sc.state.steps <= 7, `${sc.state.steps} steps`);
    await s.batcher.idle();
  });
});
