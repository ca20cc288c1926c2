// Reproducible data order and per-step seeds. A run's whole order is a function of (seed, epoch),
// so a resumed run sees exactly the examples an uninterrupted one would have seen.

import { splitmixSeed as mixSeed } from '../util/random.js';

export { mixSeed };

// The permutation of [0, n) used in `epoch` (Fisher-Yates driven by mixSeed(seed, epoch, i)).
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((mixSeed(seed, epoch, i) / 4294967296) * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// The example indices of optimizer step `step` when every step takes `perStep` examples from the
// concatenated epoch orders (an epoch boundary may fall inside a step).
export function stepIndices(
  n: number,
  perStep: number,
  seed: number,
  step: number,
): { indices: number[]; epoch: number } {
  const indices: number[] = [];
  let pos = step * perStep;
  let epoch = Math.floor(pos / n);
  let order = epochOrder(n, seed, epoch);
  const firstEpoch = epoch;
  while (indices.length < perStep) {
    const e = Math.floor(pos / n);
    if (e !== epoch) {
      epoch = e;
      order = epochOrder(n, seed, epoch);
    }
    indices.push(order[pos % n]);
    pos++;
  }
  return { indices, epoch: firstEpoch };
}
