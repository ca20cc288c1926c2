// Other clients while one sends a maximal prompt: time to first byte of GET /health and of a small
// streamed completion, sent every 50 ms by a second client, first with the server idle and then
// while a first client sends --big prompts of --mb megabytes one after another (just under the
// 4 MiB body limit by default: the largest prompt the server must read). Also the big requests'
// own answer times. The peer in the same run is the idle server. Run the same script on an older
// commit to compare (it uses only startServer and fetch).
//
//   node --import tsx bench/serve-big-prompt.ts [--mb 3.5] [--big 3] [--context 32768]
//
// The model is the tiny preset (2 layers) with a 1024-token BPE trained on K&K text, seen with a
// context of --context tokens (Qwen2.5's 32768 by default) so the prompt is encoded as far as a
// real model's context reaches before it is refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { trainBpe } from '../lib/data/bpe.js';
import { Tokenizer } from '../lib/data/tokenizer.js';
import { initModel } from '../lib/engine/init.js';
import { loadModel, type Model } from '../lib/engine/model.js';
import { buildPrompt, loadPuzzles, symbolicTrace } from '../lib/kk/index.js';
import { startServer } from '../lib/serve/server.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const mb = Number(opt('mb', '3.5'));
const nBig = Number(opt('big', '3'));
const context = Number(opt('context', '32768'));
const root = fileURLToPath(new URL('../', import.meta.url));

const puzzles = await loadPuzzles(path.resolve(root, '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet'));
const tmp = mkdtempSync(path.join(tmpdir(), 'ws-bench-big-'));
const tokDir = path.join(tmp, 'tokenizer');
trainBpe(
  puzzles.flatMap((p) => [buildPrompt(p), symbolicTrace(p)]),
  { vocabSize: 1024, out: tokDir },
);
const tok = Tokenizer.load(tokDir);
const dir = path.join(tmp, 'tiny-kk');
await initModel({
  preset: 'tiny',
  vocabSize: tok.vocabSize,
  seed: 0,
  out: dir,
  tokenizerFrom: tokDir,
  eosTokenId: tok.eosTokenId,
  overrides: { num_hidden_layers: 2 },
});
const loaded = await loadModel(dir);
const model = Object.create(loaded) as Model;
Object.defineProperty(model, 'config', { value: { ...loaded.config, maxPositionEmbeddings: context } });
const server = await startServer(model, Tokenizer.load(dir), { port: 0 });

const text = puzzles.map((p) => buildPrompt(p)).join('\n');
const bigPrompt = text.repeat(Math.ceil((mb * 1e6) / text.length)).slice(0, mb * 1e6);
const small = buildPrompt(puzzles[0]);

/** Milliseconds to the first byte of the answer to `init` at `url`; the answer is read whole. */
async function firstByte(url: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  const reader = res.body!.getReader();
  const first = await reader.read();
  const ms = performance.now() - t0;
  if (!first.done) while (!(await reader.read()).done);
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return ms;
}

const streamInit = (): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ model: server.modelName, prompt: small, max_tokens: 8, stream: true }),
});

interface Probe {
  health: number[];
  stream: number[];
  errors: number;
}

/** Two clients, each probing every 50 ms until `done()`: one GET /health, one a small streamed completion. */
async function probe(done: (n: number) => boolean): Promise<Probe> {
  const out: Probe = { health: [], stream: [], errors: 0 };
  const loop = async (xs: number[], once: () => Promise<number>) => {
    while (!done(xs.length)) {
      try {
        xs.push(await once());
      } catch {
        out.errors++; // a connection reset (a keep-alive socket the server closed meanwhile)
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all([
    loop(out.health, () => firstByte(`${server.url}/health`)),
    loop(out.stream, () => firstByte(`${server.url}/v1/completions`, streamInit())),
  ]);
  return out;
}

const q = (xs: number[], f: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.floor(f * v.length))];
};
const row = (label: string, p: Probe, n: number) =>
  `| ${label} | ${n} | ${p.health.length}, ${p.stream.length} | ${q(p.health, 0.5).toFixed(1)} | ${Math.max(...p.health).toFixed(1)} | ${q(p.stream, 0.5).toFixed(1)} | ${Math.max(...p.stream).toFixed(1)} | ${p.errors} |`;

// idle: 20 probes after a first request (which starts the tokenize worker, where there is one)
await firstByte(`${server.url}/v1/completions`, streamInit());
const idle = await probe((n) => n >= 20);

let bigDone = false;
const bigTimes: number[] = [];
const statuses: number[] = [];
const big = (async () => {
  for (let i = 0; i < nBig; i++) {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: server.modelName, prompt: bigPrompt, max_tokens: 1 }),
    });
    await res.text();
    statuses.push(res.status);
    bigTimes.push(performance.now() - t0);
  }
  bigDone = true;
})();
const busy = await probe(() => bigDone);
await big;

console.log(
  `model tiny (2 layers), vocabulary ${tok.vocabSize}, context ${context}; big prompt ${(bigPrompt.length / 1e6).toFixed(1)} MB, ${nBig} sent one after another`,
);
console.log(`big requests: answers ${statuses.join(', ')}; ms each ${bigTimes.map((x) => x.toFixed(0)).join(', ')}`);
console.log(
  '| server | big prompts | probes (health, stream) | /health median ms | /health max ms | stream first byte median ms | max ms | failed probes |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
console.log(row('idle', idle, 0));
console.log(row('one client sending big prompts', busy, nBig));
await server.close({ graceMs: 1000 });
rmSync(tmp, { recursive: true, force: true });
