// Seeded shuffling for reproducible epochs and splits: Fisher-Yates driven by the project's
// seeded PRNG (lib/util/random.ts), one stream per (seed, stream). The same seed gives the same
// order on every platform and Node version.
import { Rng } from '../util/random.js';

// The stream's starting state: seed and stream number (e.g. the epoch) spread by two odd
// multipliers, so neighbouring seeds and streams start far apart.
function streamRng(seed: number, stream: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(stream)) throw new RangeError(`stream must be an integer, got ${stream}`);
  return new Rng(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream >>> 0) + 0x632be5ab, 0x85ebca77));
}

/** A seeded random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number, stream = 0): Int32Array {
  const rng = streamRng(seed, stream);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Holds out `size` items, chosen by a seeded permutation, as a validation set (the paper holds
 * out 100 traces). Both parts keep the input order.
 */
export function splitValidation<T>(items: readonly T[], size: number, seed: number): { train: T[]; validation: T[] } {
  if (!Number.isInteger(size) || size < 0 || size > items.length) {
    throw new RangeError(`validation size must be an integer in [0, ${items.length}], got ${size}`);
  }
  const held = new Uint8Array(items.length);
  const p = permutation(items.length, seed, 0x7a11d);
  for (let i = 0; i < size; i++) held[p[i]] = 1;
  const train: T[] = [];
  const validation: T[] = [];
  items.forEach((x, i) => (held[i] ? validation : train).push(x));
  return { train, validation };
}
