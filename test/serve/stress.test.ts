// warmstart serve under 32 concurrent clients for a bounded time, in rounds: every request is
// answered (a complete body or stream) or refused with 429, none is lost or left hanging; clients
// that hang up mid-request leave nothing queued; memory stays flat across rounds (a generous
// bound: the benchmark measures it, the test only catches a leak).
import test from 'ava';

import { startServer } from '../../lib/serve/server.js';
import { tinyServeModel } from './fixture.js';

const CLIENTS = 32;
const ROUNDS = 5;
const ROUND_MS = 1200;
const MODEL = 'tiny-kk';

test('32 clients: every request answered or refused with 429, none lost, memory flat', async (t) => {
  const fx = await tinyServeModel(10);
  const server = await startServer(fx.model, fx.tokenizer, { port: 0, maxQueue: 8, maxBatchSequences: 16 });
  const tally = { ok: 0, refused: 0, hungUp: 0, lost: [] as string[] };
  try {
    const kinds = ['completion', 'chat', 'completion-stream', 'chat-stream'] as const;
    let seq = 0;
    const one = async (deadline: number) => {
      while (Date.now() < deadline) {
        const i = seq++;
        const kind = kinds[i % kinds.length];
        const chat = kind.startsWith('chat');
        const streamed = kind.endsWith('stream');
        const n = 1 + (i % 2);
        const body = {
          model: MODEL,
          max_tokens: 1 + (i % 8),
          temperature: i % 3 === 0 ? 0 : 0.8,
          n,
          stream: streamed,
          ...(chat
            ? { messages: [{ role: 'user', content: `Is person ${i} a knight?` }] }
            : { prompt: `Person ${i} says` }),
        };
        const hangUp = i % 13 === 0; // this client gives up at once
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), hangUp ? 2 : 30_000);
        try {
          const res = await fetch(`${server.url}/v1/${chat ? 'chat/completions' : 'completions'}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
            signal: ctl.signal,
          });
          const text = await res.text();
          if (res.status === 429) {
            if (JSON.parse(text).error.type !== 'rate_limit_error')
              tally.lost.push(`429 without the error body: ${text}`);
            tally.refused++;
            await new Promise((r) => setTimeout(r, 10));
          } else if (res.status !== 200) {
            tally.lost.push(`${res.status} ${text.slice(0, 200)}`);
          } else if (streamed) {
            const events = text.split('\n\n').filter((e) => e !== '');
            const finished = events.filter((e) => e.includes('"finish_reason":"')).length;
            if (events.at(-1) !== 'data: [DONE]' || finished !== n)
              tally.lost.push(`incomplete stream: ${text.slice(-200)}`);
            else tally.ok++;
          } else {
            const j = JSON.parse(text);
            if (j.choices?.length !== n || !(j.usage?.completion_tokens >= n))
              tally.lost.push(`incomplete body: ${text.slice(0, 200)}`);
            else tally.ok++;
          }
        } catch (e) {
          if (ctl.signal.aborted && hangUp) tally.hungUp++;
          else tally.lost.push(`no answer: ${String((e as Error).cause ?? e)}`);
        } finally {
          clearTimeout(timer);
        }
      }
    };
    const rss: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const deadline = Date.now() + ROUND_MS;
      await Promise.all(Array.from({ length: CLIENTS }, () => one(deadline)));
      rss.push(process.memoryUsage().rss);
    }
    t.deepEqual(tally.lost, []);
    t.true(tally.ok > CLIENTS, `answered ${tally.ok}`);
    t.true(tally.refused > 0, 'the queue limit was reached');
    t.true(tally.hungUp > 0);
    t.true(
      server.batcher.stats.batches < tally.ok,
      `${tally.ok} answers in ${server.batcher.stats.batches} engine calls`,
    );
    // hung-up clients left nothing behind
    const health = (await (await fetch(`${server.url}/health`)).json()) as { queued: number; running: number };
    t.deepEqual([health.queued, health.running], [0, 0]);
    // memory: after the warm-up round, RSS grows by less than 64 MB in all
    const MB = 1 << 20;
    t.true(rss.at(-1)! - rss[1] < 64 * MB, `RSS by round (MB): ${rss.map((r) => (r / MB).toFixed(0)).join(', ')}`);
    t.log(
      `${tally.ok} answered, ${tally.refused} refused (429), ${tally.hungUp} hung up, ${server.batcher.stats.batches} batches; RSS by round (MB): ${rss.map((r) => (r / MB).toFixed(0)).join(', ')}`,
    );
  } finally {
    await server.close({ graceMs: 5000 });
    fx.cleanup();
  }
});
