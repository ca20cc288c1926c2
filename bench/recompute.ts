// Activation recomputation (gradient checkpointing): one training step (forward, loss, backward)
// with every layer's activations stored, and with only each layer's input kept and the layer
// recomputed in the backward, on the same model, tokens and threads, in one run: the step time
// and the activation arena the engine allocated. Prints a markdown table for bench/RESULTS.md.
//   npx tsx bench/recompute.ts [--threads 2] [--layers 4] [--tokens 1024] [--reps 3]
import { cpu } from '../lib/engine/addon.js';
import { packSequences } from '../lib/engine/batch.js';
import { initModel } from '../lib/index.js';
import { flag } from './args.js';

const threads = flag('threads', 2);
const layers = flag('layers', 4);
const tokens = flag('tokens', 1024);
const reps = flag('reps', 3);
const vocab = 32768;
cpu().setNumThreads(threads);

const overrides = { num_hidden_layers: layers };
let s = 1;
const next = () => (s = (s * 1103515245 + 12345) % 2147483648);
const seqs = Array.from({ length: 4 }, () => {
  const ids = Int32Array.from({ length: tokens / 4 }, () => next() % vocab);
  return { ids, tokenWeights: new Float32Array(ids.length).fill(1) };
});
const batch = packSequences(seqs);

const rows: string[] = [];
const results: Record<string, { ms: number; arena: number }> = {};
for (const recompute of [false, true]) {
  const model = await initModel({ preset: 'qwen2.5-0.5b', vocabSize: vocab, overrides, seed: 0 });
  const trainer = model.trainer({ lr: 0, gradientCheckpointing: recompute });
  await trainer.step(batch, { accumulate: true }); // warm: the arena and the gradient buffers
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await trainer.step(batch, { accumulate: true });
    times.push(performance.now() - t0);
  }
  const name = recompute ? 'recompute' : 'stored';
  results[name] = { ms: Math.min(...times), arena: await model.native.arenaBytes() };
}
const MiB = 2 ** 20;
for (const [name, r] of Object.entries(results))
  rows.push(
    `| ${name} | ${r.ms.toFixed(0)} | ${(r.arena / MiB).toFixed(1)} | ${(r.ms / results.stored.ms).toFixed(2)} | ${(r.arena / results.stored.arena).toFixed(3)} |`,
  );
console.log(
  `Qwen2.5-0.5B dims, ${layers} layers, vocab ${vocab}, ${tokens} tokens (4 sequences), ${threads} threads, best of ${reps} steps (forward + backward)\n`,
);
console.log('| activations | step ms | arena MiB | time vs stored | arena vs stored |');
console.log('| --- | --- | --- | --- | --- |');
console.log(rows.join('\n'));
