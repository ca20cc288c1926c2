// The batcher on a scripted engine: which requests share an engine call, in what order, how
// results are split and cut back, the queue limit, cancellation, seeds and engine errors.
import test from 'ava';

import { AbortedError, Batcher, QueueFullError, type GenJob } from '../../lib/serve/batcher.js';
import type { FinishReason, GenerateOptions, Generation, SampledToken } from '../../lib/engine/model.js';

interface Call {
  prompts: number[][];
  opts: GenerateOptions;
}

// A fake engine that samples step by step as the real one does: sequence s of a call answers
// [prompt[0], 100+s+1, 100+s+2, ...] up to its own limit, ending after a stop token, stopping when
// its signal fires (checked between steps), and reporting the tokens to onTokens every `per`
// steps (as the real engine does when its consumer is slower). Calls wait on `gate` when one is set.
function engine(per = 1) {
  const calls: Call[] = [];
  let gate: Promise<void> | null = null;
  let fail: Error | null = null; // the next call throws it
  const generate = async (prompts: number[][], opts: GenerateOptions): Promise<Generation> => {
    calls.push({ prompts, opts });
    const failure = fail;
    fail = null;
    if (gate) await gate;
    if (failure) throw failure;
    const limit = (s: number) => (typeof opts.maxNewTokens === 'number' ? opts.maxNewTokens : opts.maxNewTokens[s]);
    const tokens: number[][] = prompts.map(() => []);
    const finishReasons: FinishReason[] = prompts.map(() => 'length');
    const live = new Set(prompts.keys());
    let step: SampledToken[] = [];
    for (let k = 1; live.size > 0; k++) {
      for (const s of [...live]) {
        if (opts.signals?.[s]?.aborted) {
          finishReasons[s] = 'abort';
          live.delete(s);
          continue;
        }
        const i = tokens[s].length;
        const tok = i === 0 ? prompts[s][0] : 100 + s + i;
        tokens[s].push(tok);
        step.push({ prompt: s, token: tok, logprob: -1 });
        if (opts.stopTokens?.includes(tok)) finishReasons[s] = 'stop';
        if (opts.stopTokens?.includes(tok) || tokens[s].length >= limit(s)) live.delete(s);
      }
      if (step.length > 0 && (k % per === 0 || live.size === 0)) {
        opts.onTokens?.(step);
        step = [];
      }
      await new Promise((r) => setImmediate(r));
    }
    return {
      tokens: tokens.map((t) => Int32Array.from(t)),
      logprobs: tokens.map((t) => new Float32Array(t.length).fill(-1)),
      finishReasons,
    };
  };
  return {
    calls,
    generate,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => {
        release = () => {
          gate = null;
          r();
        };
      });
      return release;
    },
    failNext(e: Error) {
      fail = e;
    },
  };
}

const job = (id: number, o: Partial<GenJob> = {}): GenJob => ({
  prompt: [id],
  n: 1,
  maxTokens: 3,
  temperature: 0.6,
  topP: 0.95,
  topK: 40,
  stopTokens: [2],
  ...o,
});
const opts = { maxQueue: 16, maxBatchSequences: 8, maxBatchKvBytes: 1 << 30, kvBytesPerToken: 1 };

test('arrivals during a batch form the next one, oldest first, grouped by sampling settings', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const release = e.hold();
  const first = b.submit(job(1));
  await new Promise((r) => setImmediate(r));
  t.is(b.running, 1);
  const rest = [
    b.submit(job(2, { temperature: 1 })),
    b.submit(job(3)),
    b.submit(job(4)),
    b.submit(job(5, { temperature: 1 })),
    b.submit(job(6, { stopTokens: [2, 9] })),
    b.submit(job(7, { temperature: 0, topP: 0.5, topK: 3 })),
    b.submit(job(8, { temperature: 0 })),
  ];
  t.is(b.queued, 7);
  release();
  await Promise.all([first, ...rest]);
  // greedy ignores top-p/top-k, so 7 and 8 share a call; different stop tokens do not
  t.deepEqual(
    e.calls.map((c) => c.prompts.map((p) => p[0])),
    [[1], [2, 5], [3, 4], [6], [7, 8]],
  );
  t.deepEqual(
    e.calls.map((c) => c.opts.temperature),
    [0.6, 1, 0.6, 0.6, 0],
  );
  t.deepEqual(e.calls[3].opts.stopTokens, [2, 9]);
  await b.idle(); // jobs are answered as their completions end, before their engine call returns
  t.deepEqual(b.stats, { batches: 5, sequences: 8, tokens: 7 * 3 + 1 }); // job 2 stops at its first token
});

test('results are split per job and n, each job with its own max tokens', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const [a, c, d] = await Promise.all([
    b.submit(job(7, { n: 2, maxTokens: 5 })),
    b.submit(job(8, { maxTokens: 2 })),
    b.submit(job(2, { maxTokens: 4 })),
  ]);
  t.is(e.calls.length, 1);
  t.deepEqual(e.calls[0].opts.maxNewTokens, [5, 5, 2, 4]);
  t.deepEqual(a, {
    tokens: [
      [7, 101, 102, 103, 104],
      [7, 102, 103, 104, 105],
    ],
    finishReasons: ['length', 'length'],
  });
  t.deepEqual(c, { tokens: [[8, 103]], finishReasons: ['length'] });
  t.deepEqual(d, { tokens: [[2]], finishReasons: ['stop'] }); // its first token is a stop token
});

test('a batch holds at most maxBatchSequences sequences and fits the KV budget', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, { ...opts, maxBatchSequences: 4, maxBatchKvBytes: 40, kvBytesPerToken: 1 });
  await Promise.all([
    b.submit(job(1)),
    b.submit(job(2, { n: 3 })),
    b.submit(job(3, { n: 2 })),
    b.submit(job(4)),
    b.submit(job(5, { prompt: [5, 5, 5, 5, 5, 5, 5, 5], maxTokens: 4 })),
  ]);
  // 1 + 2 (n=3) fill 4 sequences; then 3 (n=2) + 4; 5 is 12 tokens long, and 4 sequences × 12 > 40 bytes of KV
  t.deepEqual(
    e.calls.map((c) => c.prompts.map((p) => p[0])),
    [[1, 2, 2, 2], [3, 3, 4], [5]],
  );
  t.deepEqual(
    e.calls.map((c) => c.opts.maxNewTokens),
    [[3, 3, 3, 3], [3, 3, 3], [4]],
  );
});

test('a full queue refuses at once; a cancelled request leaves the queue', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, { ...opts, maxQueue: 2, maxBatchSequences: 1 });
  const release = e.hold();
  const running = b.submit(job(1));
  await new Promise((r) => setImmediate(r));
  const ctl = new AbortController();
  const waiting = b.submit(job(2), { signal: ctl.signal });
  const third = b.submit(job(3));
  await t.throwsAsync(b.submit(job(4)), { instanceOf: QueueFullError, message: /queue is full \(2 waiting\)/ });
  ctl.abort();
  await t.throwsAsync(waiting, { instanceOf: AbortedError });
  t.is(b.queued, 1);
  await t.throwsAsync(b.submit(job(5), { signal: AbortSignal.abort() }), { instanceOf: AbortedError });
  release();
  await Promise.all([running, third]);
  t.deepEqual(
    e.calls.map((c) => c.prompts[0][0]),
    [1, 3],
  );
});

test('a seeded request runs alone with its seed; unseeded batches draw fresh seeds', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const release = e.hold();
  const all = [
    b.submit(job(1)),
    b.submit(job(2, { seed: 42, n: 2 })),
    b.submit(job(3, { seed: 42 })),
    b.submit(job(4)),
    b.submit(job(5)),
  ];
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all(all);
  t.deepEqual(
    e.calls.map((c) => c.prompts.map((p) => p[0])),
    [[1, 4, 5], [2, 2], [3]],
  );
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

test('tokens stream to each job as sampled, and a job is answered when its own completions end', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const got: [number, number[]][] = [];
  const order: string[] = [];
  const long = b.submit(job(7, { maxTokens: 6 })).then((r) => {
    order.push('long');
    return r;
  });
  const short = b
    .submit(job(8, { n: 2, maxTokens: 2 }), {
      onTokens: (i, toks) => {
        got.push([i, toks]);
      },
    })
    .then((r) => {
      order.push(`short after ${b.stats.tokens} tokens`);
      return r;
    });
  const [l, s] = await Promise.all([long, short]);
  t.is(e.calls.length, 1);
  // one call per step, in order, for each completion
  t.deepEqual(got, [
    [0, [8]],
    [1, [8]],
    [0, [102]],
    [1, [103]],
  ]);
  t.deepEqual(s.tokens, [
    [8, 102],
    [8, 103],
  ]);
  t.deepEqual(l.tokens, [[7, 101, 102, 103, 104, 105]]);
  // the short job resolved in the step its completions ended (7's first two tokens + its four)
  t.deepEqual(order, ['short after 6 tokens', 'long']);
});

test('a sink that returns true ends that completion alone; a sink that throws rejects its job', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const ended = b.submit(job(9, { n: 2, maxTokens: 8 }), { onTokens: (i, toks) => i === 1 && toks.includes(104) });
  const broken = b.submit(job(5, { maxTokens: 8 }), {
    onTokens: () => {
      throw new Error('sink broke');
    },
  });
  const other = b.submit(job(6, { maxTokens: 3 }));
  const r = await ended;
  t.deepEqual(r.tokens, [
    [9, 101, 102, 103, 104, 105, 106, 107],
    [9, 102, 103, 104],
  ]);
  t.deepEqual(r.finishReasons, ['length', 'abort']);
  await t.throwsAsync(broken, { message: 'sink broke' });
  t.deepEqual((await other).tokens, [[6, 104, 105]]);
  // the engine stopped the ended and broken sequences instead of running them to their limits
  await b.idle();
  t.true(b.stats.tokens < 8 + 8 + 8 + 3);
});

test('a request cancelled while it runs is refused at once and its completions stop', async (t) => {
  const e = engine();
  const b = new Batcher(e.generate, opts);
  const ctl = new AbortController();
  let seen = 0;
  const cancelled = b.submit(job(3, { n: 2, maxTokens: 50 }), {
    signal: ctl.signal,
    onTokens: () => {
      if (++seen === 4) ctl.abort();
    },
  });
  const kept = b.submit(job(4, { maxTokens: 200 }));
  await t.throwsAsync(cancelled, { instanceOf: AbortedError, message: /while it ran/ });
  t.is(b.running, 3, 'refused at once, while the batch runs on');
  t.is((await kept).tokens[0].length, 200);
  t.true(b.stats.tokens < 2 * 50 + 200);
});

test('tokens of several steps in one engine call reach each sink together, in order', async (t) => {
  const e = engine(3);
  const b = new Batcher(e.generate, opts);
  const got: [number, number[]][] = [];
  const sink = (i: number, toks: number[]) => {
    got.push([i, toks]);
  };
  const [a, c] = await Promise.all([
    b.submit(job(5, { n: 2, maxTokens: 5, stopTokens: [104] }), { onTokens: sink }),
    b.submit(job(6, { maxTokens: 7, stopTokens: [104] })),
  ]);
  // sequence s answers 5, 100+s+1, ...: both stop at 104 (sequence 0 as its 5th token, 1 as its 4th)
  t.deepEqual(a.tokens, [
    [5, 101, 102, 103, 104],
    [5, 102, 103, 104],
  ]);
  t.deepEqual(a.finishReasons, ['stop', 'stop']);
  t.deepEqual(got, [
    [0, [5, 101, 102]],
    [1, [5, 102, 103]],
    [0, [103, 104]],
    [1, [104]],
  ]);
  t.deepEqual(c.tokens, [[6, 103, 104]]);
  t.deepEqual(c.finishReasons, ['stop']);
});
