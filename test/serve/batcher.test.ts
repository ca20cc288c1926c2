// The batcher on a scripted engine: which requests share an engine call, in what order, how
// results are split and cut back, the queue limit, cancellation, seeds and engine errors.
import test from 'ava';

import { AbortedError, Batcher, QueueFullError, type GenJob } from '../../lib/serve/batcher.js';
import type { GenerateOptions, Generation } from '../../lib/engine/model.js';

interface Call { prompts: number[][]; opts: GenerateOptions }

// A fake engine: sequence s of a call answers [prompt[0], 100+s, 101+s, ...] up to maxNewTokens,
// stopping early when it would emit a stop token. Calls wait on `gate` when one is set.
function engine() {
  const calls: Call[] = [];
  let gate: Promise<void> | null = null;
  let fail: Error | null = null; // the next call throws it
  const generate = async (prompts: number[][], opts: GenerateOptions): Promise<Generation> => {
    calls.push({ prompts, opts });
    const failure = fail;
    fail = null;
    if (gate) await gate;
    if (failure) throw failure;
    const tokens = prompts.map((p, s) => {
      const out: number[] = [];
      for (let i = 0; i < opts.maxNewTokens; i++) {
        const tok = i === 0 ? p[0] : 100 + s + i;
        out.push(tok);
        if (opts.stopTokens?.includes(tok)) break;
      }
      return out;
    });
    return { tokens, logprobs: tokens.map((t) => t.map(() => -1)), finishReasons: tokens.map((t) => (opts.stopTokens?.includes(t.at(-1)!) ? 'stop' : 'length')) };
  };
  return {
    calls,
    generate,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => { release = () => { gate = null; r(); }; });
      return release;
    },
    failNext(e: Error) { fail = e; },
  };
}

const job = (id: number, o: Partial<GenJob> = {}): GenJob => ({ prompt: [id], n: 1, maxTokens: 3, temperature: 0.6, topP: 0.95, topK: 40, stopTokens: [2], ...o });
const opts = { maxQueue: 16, maxBatchSequences: 8, maxBatchKvBytes: 1 << 30, kvBytesPerToken: 1 };

test('arrivals during a batch form the next one, oldest first, grouped by sampling settings', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const release = e.hold();
  const first = b.submit(job(1));
  await new Promise((r) => setImmediate(r));
  t.is(b.running, 1);
  const rest = [
    b.submit(job(2, { temperature: 1 })), b.submit(job(3)), b.submit(job(4)), b.submit(job(5, { temperature: 1 })),
    b.submit(job(6, { stopTokens: [2, 9] })), b.submit(job(7, { temperature: 0, topP: 0.5, topK: 3 })), b.submit(job(8, { temperature: 0 })),
  ];
  t.is(b.queued, 7);
  release();
  await Promise.all([first, ...rest]);
  // greedy ignores top-p/top-k, so 7 and 8 share a call; different stop tokens do not
  t.deepEqual(e.calls.map((c) => c.prompts.map((p) => p[0])), [[1], [2, 5], [3, 4], [6], [7, 8]]);
  t.deepEqual(e.calls.map((c) => c.opts.temperature), [0.6, 1, 0.6, 0.6, 0]);
  t.deepEqual(e.calls[3].opts.stopTokens, [2, 9]);
  t.deepEqual(b.stats, { batches: 5, sequences: 8, tokens: 7 * 3 + 1 }); // job 2 stops at its first token
  await b.idle();
});

test('results are split per job and n, and cut back to each job’s max tokens', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const [a, c, d] = await Promise.all([b.submit(job(7, { n: 2, maxTokens: 5 })), b.submit(job(8, { maxTokens: 2 })), b.submit(job(2, { maxTokens: 4 }))]);
  t.is(e.calls.length, 1);
  t.is(e.calls[0].opts.maxNewTokens, 5);
  t.deepEqual(a, { tokens: [[7, 101, 102, 103, 104], [7, 102, 103, 104, 105]], finishReasons: ['length', 'length'] });
  t.deepEqual(c, { tokens: [[8, 103]], finishReasons: ['length'] });
  t.deepEqual(d, { tokens: [[2]], finishReasons: ['stop'] }); // its first token is a stop token
});

test('a batch holds at most maxBatchSequences sequences and fits the KV budget', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, { ...opts, maxBatchSequences: 4, maxBatchKvBytes: 40, kvBytesPerToken: 1 });
  await Promise.all([b.submit(job(1)), b.submit(job(2, { n: 3 })), b.submit(job(3, { n: 2 })), b.submit(job(4)), b.submit(job(5, { prompt: [5, 5, 5, 5, 5, 5, 5, 5], maxTokens: 4 }))]);
  // 1 + 2 (n=3) fill 4 sequences; then 3 (n=2) + 4; 5 is 12 tokens long, and 4 sequences × 12 > 40 bytes of KV
  t.deepEqual(e.calls.map((c) => c.prompts.map((p) => p[0])), [[1, 2, 2, 2], [3, 3, 4], [5]]);
  t.deepEqual(e.calls.map((c) => c.opts.maxNewTokens), [3, 3, 4]);
});

test('a full queue refuses at once; a cancelled request leaves the queue', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, { ...opts, maxQueue: 2, maxBatchSequences: 1 });
  const release = e.hold();
  const running = b.submit(job(1));
  await new Promise((r) => setImmediate(r));
  const ctl = new AbortController();
  const waiting = b.submit(job(2), ctl.signal);
  const third = b.submit(job(3));
  await t.throwsAsync(b.submit(job(4)), { instanceOf: QueueFullError, message: /queue is full \(2 waiting\)/ });
  ctl.abort();
  await t.throwsAsync(waiting, { instanceOf: AbortedError });
  t.is(b.queued, 1);
  await t.throwsAsync(b.submit(job(5), AbortSignal.abort()), { instanceOf: AbortedError });
  release();
  await Promise.all([running, third]);
  t.deepEqual(e.calls.map((c) => c.prompts[0][0]), [1, 3]);
});

test('a seeded request runs alone with its seed; unseeded batches draw fresh seeds', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const release = e.hold();
  const all = [b.submit(job(1)), b.submit(job(2, { seed: 42, n: 2 })), b.submit(job(3, { seed: 42 })), b.submit(job(4)), b.submit(job(5))];
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all(all);
  t.deepEqual(e.calls.map((c) => c.prompts.map((p) => p[0])), [[1, 4, 5], [2, 2], [3]]);
  t.deepEqual([e.calls[1].opts.seed, e.calls[2].opts.seed], [42, 42]);
  const again = new Batcher(e.generate, opts);
  await again.submit(job(6));
  t.not(e.calls[3].opts.seed, e.calls[0].opts.seed);
});

test('an engine error rejects its batch only; the next batch runs', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, { ...opts, maxBatchSequences: 1 });
  e.failNext(new RangeError('prompts[0][0] = 9999 is not a token id'));
  const bad = b.submit(job(1));
  const good = b.submit(job(2));
  await t.throwsAsync(bad, { instanceOf: RangeError, message: /not a token id/ });
  t.deepEqual((await good).tokens, [[2]]);
  await b.idle();
  t.is(b.queued + b.running, 0);
});
