// `warmstart serve` throughput: completed requests/s and generated tokens/s with 1, 8 and 32
// concurrent clients on loopback, each client sending K&K raw prompts (the published 3-people
// test puzzles) one after another with the paper's teacher sampling (temperature 0.6, top-p 0.95,
// top-k 40). Beside it, in the same run, the engine alone: model.generate over batches of the
// same size and prompts (what the server could do with perfect batching and no HTTP), so the
// ratio is the server's cost. Clients stream (`stream: true`): the median time to the first text
// chunk and to the whole answer are read per request. Each level runs fixed work (every client
// sends --requests requests), best of --rounds rounds; RSS is read after every round.
//
//   node --import tsx bench/serve.ts [--model DIR] [--levels 1,8,32] [--requests 3] [--max-tokens 64] [--rounds 3]
//
// Without --model it builds the tiny demo model (tiny preset: 4 layers, hidden 64) with a
// 1024-token BPE trained on K&K prompts and traces, in a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { trainBpe } from '../lib/data/bpe.js';
import { Tokenizer } from '../lib/data/tokenizer.js';
import { initModel } from '../lib/engine/init.js';
import { loadModel } from '../lib/engine/model.js';
import { buildPrompt, loadPuzzles, symbolicTrace } from '../lib/kk/index.js';
import { startServer } from '../lib/serve/server.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const levels = opt('levels', '1,8,32').split(',').map(Number);
const perClient = Number(opt('requests', '3'));
const maxTokens = Number(opt('max-tokens', '64'));
const rounds = Number(opt('rounds', '3'));
const root = fileURLToPath(new URL('../', import.meta.url));

const puzzles = await loadPuzzles(path.resolve(root, '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet'));
const prompts = puzzles.map((p) => buildPrompt(p));

let dir = opt('model', '');
let tmp: string | undefined;
if (dir === '') {
  tmp = mkdtempSync(path.join(tmpdir(), 'ws-bench-serve-'));
  const tokDir = path.join(tmp, 'tokenizer');
  trainBpe(
    puzzles.flatMap((p) => [buildPrompt(p), symbolicTrace(p)]),
    { vocabSize: 1024, out: tokDir },
  );
  const tok = Tokenizer.load(tokDir);
  dir = path.join(tmp, 'tiny-kk');
  await initModel({
    preset: 'tiny',
    vocabSize: tok.vocabSize,
    seed: 0,
    out: dir,
    tokenizerFrom: tokDir,
    eosTokenId: tok.eosTokenId,
  });
}
const model = await loadModel(dir);
const tokenizer = Tokenizer.load(dir);
const server = await startServer(model, tokenizer, { port: 0, maxQueue: 1024, maxBatchSequences: Math.max(...levels) });
const sampling = { temperature: 0.6, top_p: 0.95, top_k: 40 };
const promptTokens = prompts.slice(0, 64).map((p) => tokenizer.encode(p).length);
const MB = 1 << 20;

interface Round {
  seconds: number;
  requests: number;
  tokens: number;
  rss: number;
  firstText: number[];
  whole: number[];
}

/** One streamed completion: its completion tokens (from the usage chunk) and when text first came. */
async function streamed(prompt: string): Promise<{ tokens: number; firstText: number; whole: number }> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model: server.modelName,
      prompt,
      max_tokens: maxTokens,
      ...sampling,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let firstText = NaN;
  let tokens = -1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const data = buf.slice('data: '.length, i);
      buf = buf.slice(i + 2);
      if (data === '[DONE]') continue;
      const e = JSON.parse(data) as { choices: { text: string }[]; usage?: { completion_tokens: number } };
      if (Number.isNaN(firstText) && e.choices[0]?.text) firstText = performance.now() - t0;
      if (e.usage) tokens = e.usage.completion_tokens;
    }
  }
  if (tokens < 0) throw new Error('no usage chunk in the stream');
  return { tokens, firstText, whole: performance.now() - t0 };
}

const median = (xs: number[]) => {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor(v.length / 2)];
};

async function serverRound(clients: number, offset: number): Promise<Round> {
  let requests = 0;
  let tokens = 0;
  const firstText: number[] = [];
  const whole: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const r = await streamed(prompts[(offset + c * perClient + i) % prompts.length]);
        requests++;
        tokens += r.tokens;
        firstText.push(r.firstText);
        whole.push(r.whole);
      }
    }),
  );
  return {
    seconds: (performance.now() - t0) / 1000,
    requests,
    tokens,
    rss: process.memoryUsage().rss,
    firstText,
    whole,
  };
}

async function engineRound(clients: number, offset: number): Promise<Round> {
  let tokens = 0;
  const t0 = performance.now();
  for (let i = 0; i < perClient; i++) {
    const batch = Array.from({ length: clients }, (_, c) =>
      Array.from(tokenizer.encode(prompts[(offset + c * perClient + i) % prompts.length])),
    );
    const g = await model.generate(batch, {
      maxNewTokens: maxTokens,
      temperature: 0.6,
      topP: 0.95,
      topK: 40,
      seed: i,
      stopTokens: [...tokenizer.stopTokenIds],
    });
    tokens += g.tokens.reduce((a, t) => a + t.length, 0);
  }
  return {
    seconds: (performance.now() - t0) / 1000,
    requests: clients * perClient,
    tokens,
    rss: process.memoryUsage().rss,
    firstText: [],
    whole: [],
  };
}

const best = (rs: Round[], f: (r: Round) => number) => Math.max(...rs.map(f));
await serverRound(4, 0); // warm-up: JIT, tokenizer, first batches
const rows: string[] = [];
for (const c of levels) {
  const ours: Round[] = [];
  const peer: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(await serverRound(c, r * 97));
    peer.push(await engineRound(c, r * 97));
  }
  const rps = best(ours, (r) => r.requests / r.seconds);
  const tps = best(ours, (r) => r.tokens / r.seconds);
  const peerTps = best(peer, (r) => r.tokens / r.seconds);
  const ms = (xs: number[]) => median(xs).toFixed(0);
  rows.push(
    `| ${c} | ${c * perClient} | ${rps.toFixed(2)} | ${tps.toFixed(0)} | ${peerTps.toFixed(0)} | ${(tps / peerTps).toFixed(2)} | ${ms(ours.flatMap((r) => r.firstText))} | ${ms(ours.flatMap((r) => r.whole))} | ${ours.map((r) => (r.rss / MB).toFixed(0)).join(' / ')} |`,
  );
  console.error(
    `${c} clients: server rounds ${ours.map((r) => r.seconds.toFixed(2)).join(' ')} s, engine rounds ${peer.map((r) => r.seconds.toFixed(2)).join(' ')} s`,
  );
}
console.error(`engine calls ${server.batcher.stats.batches}, sequences ${server.batcher.stats.sequences}`);
await server.close();
if (tmp) rmSync(tmp, { recursive: true, force: true });

console.log(
  `model ${path.basename(dir)} (${model.config.numHiddenLayers} layers, hidden ${model.config.hiddenSize}, vocab ${model.config.vocabSize}); prompts ${Math.min(...promptTokens)}-${Math.max(...promptTokens)} tokens; max_tokens ${maxTokens}; ${perClient} requests per client per round; best of ${rounds}`,
);
console.log(
  '| clients | requests / round | requests/s | generated tokens/s | engine alone, tokens/s (batch = clients) | server / engine | median ms to first text | median ms to whole answer | RSS after each round, MB |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
