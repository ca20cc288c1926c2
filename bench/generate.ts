// Decode tokens/s of batched sampling with a KV cache on the CPU engine, beside the PyTorch CPU
// eager peer (bench/peers/generate.py) on the same config, prompts, new tokens and threads, in
// one run. Prints a markdown table for bench/RESULTS.md.
//   npx tsx bench/generate.ts [--threads 2] [--quick]
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cpu } from '../lib/engine/addon.js';
import { nativeConfig } from '../lib/engine/config.js';
import { initModel, presetConfig } from '../lib/index.js';
import { flag, quick } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const threads = flag('threads', 2);
const reps = flag('reps', 3);

interface Case {
  name: string;
  preset: string;
  vocab: number;
  overrides: Record<string, unknown>;
  batch: number;
  promptLen: number;
  newTokens: number;
}
const cases: Case[] = [
  {
    name: 'tiny (vocab 151936)',
    preset: 'tiny',
    vocab: 151936,
    overrides: {},
    batch: 8,
    promptLen: 32,
    newTokens: quick ? 16 : 64,
  },
  {
    name: 'Qwen2.5-0.5B dims, 2 layers, vocab 32768',
    preset: 'qwen2.5-0.5b',
    vocab: 32768,
    overrides: { num_hidden_layers: 2 },
    batch: 8,
    promptLen: 32,
    newTokens: quick ? 16 : 64,
  },
];

// Best of the timed repetitions: the machine is shared, the fastest run is the least disturbed.
function best(xs: number[]): number {
  return Math.min(...xs);
}

cpu().setNumThreads(threads);
const rows: string[] = [];
for (const c of cases) {
  const config = presetConfig(c.preset, c.vocab, c.overrides);
  const model = await initModel({ preset: c.preset, vocabSize: c.vocab, overrides: c.overrides, seed: 0 });
  let s = 7;
  const prompts = Array.from({ length: c.batch }, () =>
    Array.from({ length: c.promptLen }, () => (s = (s * 1103515245 + 12345) % 2147483648) % c.vocab),
  );
  const ours: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    const g = await model.generate(prompts, { maxNewTokens: c.newTokens, temperature: 1, seed: i });
    if (g.tokens.some((t) => t.length !== c.newTokens)) throw new Error('a sequence stopped early');
    if (i > 0) ours.push((performance.now() - t0) / 1000);
  }
  const peerArgs = {
    config: nativeConfig(config),
    threads,
    batch: c.batch,
    promptLen: c.promptLen,
    newTokens: c.newTokens,
    temperature: 1,
    reps,
    warmup: 1,
  };
  const out = execFileSync('/usr/bin/python3', [join(here, 'peers', 'generate.py'), JSON.stringify(peerArgs)], {
    encoding: 'utf8',
  });
  const peer = JSON.parse(out.trim().split('\n').pop() as string);
  const n = c.batch * c.newTokens;
  const oursTps = n / best(ours);
  const peerTps = n / best(peer.seconds);
  rows.push(
    `| ${c.name} | ${c.batch} x (${c.promptLen} + ${c.newTokens}) | ${threads} | ${oursTps.toFixed(0)} | ${peerTps.toFixed(0)} | ${(oursTps / peerTps).toFixed(2)}x |`,
  );
  console.error(
    `${c.name}: ours ${ours.map((x) => x.toFixed(3)).join(' ')} s, torch ${peer.seconds.map((x: number) => x.toFixed(3)).join(' ')} s`,
  );
}
console.log(
  '| config | batch x (prompt + new) | threads | warmstart new tokens/s | PyTorch eager new tokens/s | ratio |',
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
