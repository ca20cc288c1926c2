// Training tokens/s of one full step (forward, loss, backward, clipping, AdamW) on the CPU
// engine, beside the PyTorch CPU eager peer (bench/peers/train_step.py) on the same config,
// tokens and thread count, in one run. Prints a markdown table for bench/RESULTS.md.
//   npx tsx bench/train-step.ts [--threads 2] [--steps 3] [--quick]
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { packSequences } from '../lib/engine/batch.js';
import { cpu } from '../lib/engine/addon.js';
import { nativeConfig } from '../lib/engine/config.js';
import { initModel, presetConfig } from '../lib/index.js';
import { flag, quick } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const threads = flag('threads', 2);
const steps = flag('steps', 3);

interface Case {
  name: string;
  preset: string;
  vocab: number;
  overrides: Record<string, unknown>;
  seqs: number;
  seqLen: number;
}
const cases: Case[] = [
  { name: 'tiny (vocab 151936)', preset: 'tiny', vocab: 151936, overrides: {}, seqs: 4, seqLen: quick ? 64 : 256 },
  {
    name: 'Qwen2.5-0.5B dims, 2 layers, vocab 32768',
    preset: 'qwen2.5-0.5b',
    vocab: 32768,
    overrides: { num_hidden_layers: 2 },
    seqs: 4,
    seqLen: quick ? 64 : 256,
  },
];

// Best of the timed repetitions: the machine is shared, the fastest run is the least disturbed.
function best(xs: number[]): number {
  return Math.min(...xs);
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648);
}

cpu().setNumThreads(threads);
const rows: string[] = [];
for (const c of cases) {
  const config = presetConfig(c.preset, c.vocab, c.overrides);
  const model = await initModel({ preset: c.preset, vocabSize: c.vocab, overrides: c.overrides, seed: 0 });
  const trainer = model.trainer({ lr: 1e-5, betas: [0.9, 0.99], weightDecay: 0.1, maxGradNorm: 1 });
  const next = lcg(1);
  const seqs = Array.from({ length: c.seqs }, () => {
    const ids = Int32Array.from({ length: c.seqLen }, () => next() % c.vocab);
    return { ids, tokenWeights: new Float32Array(c.seqLen).fill(1) };
  });
  const batch = packSequences(seqs);
  const ours: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const t0 = performance.now();
    await trainer.step(batch);
    if (i > 0) ours.push((performance.now() - t0) / 1000);
  }
  const peerArgs = { config: nativeConfig(config), threads, seqs: c.seqs, seqLen: c.seqLen, steps, warmup: 1 };
  const out = execFileSync('/usr/bin/python3', [join(here, 'peers', 'train_step.py'), JSON.stringify(peerArgs)], {
    encoding: 'utf8',
  });
  const peer = JSON.parse(out.trim().split('\n').pop() as string);
  const tokens = c.seqs * c.seqLen;
  const oursTps = tokens / best(ours);
  const peerTps = tokens / best(peer.stepSeconds);
  rows.push(
    `| ${c.name} | ${tokens} | ${threads} | ${oursTps.toFixed(0)} | ${peerTps.toFixed(0)} | ${(oursTps / peerTps).toFixed(2)}x |`,
  );
  console.error(
    `${c.name}: ours ${ours.map((x) => x.toFixed(3)).join(' ')} s, torch ${peer.stepSeconds.map((x: number) => x.toFixed(3)).join(' ')} s`,
  );
}
console.log('| config | tokens/step | threads | warmstart tokens/s | PyTorch eager tokens/s | ratio |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
