// The paper's data splits, seeded and reproducible (our own generator: the same seed gives the
// same split on every platform; it does not reproduce numpy's or Hugging Face's draws):
//   MATH       100 training problems drawn from a training pool, never one of the evaluation set
//   HumanEval+ 50 training problems, the other 114 held out for evaluation
//   MMLU-Pro   100 training questions per category, the rest of each category for evaluation

/** A seeded permutation of 0..n-1 (SplitMix32 stream, Fisher-Yates). */
export function seededPermutation(n: number, seed: number): number[] {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = Math.imul(seed >>> 0, 0x9e3779b1) >>> 0;
  const next = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Splits `items` into `trainSize` seeded-random training items and the rest (both in input order). */
export function seededSplit<T>(items: readonly T[], trainSize: number, seed: number): { train: T[]; heldOut: T[] } {
  if (!Number.isInteger(trainSize) || trainSize < 0 || trainSize > items.length) {
    throw new RangeError(`train size must be an integer in [0, ${items.length}], got ${trainSize}`);
  }
  const inTrain = new Uint8Array(items.length);
  for (const i of seededPermutation(items.length, seed).slice(0, trainSize)) inTrain[i] = 1;
  const train: T[] = [];
  const heldOut: T[] = [];
  items.forEach((x, i) => (inTrain[i] ? train : heldOut).push(x));
  return { train, heldOut };
}

/** Whitespace- and case-insensitive key of a problem text, for overlap checks. */
export function problemKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * MATH: `size` training problems drawn (seeded) from `pool`, skipping any whose problem text is
 * also in `evaluation` (MATH-500 was taken from MATH's test split, but pools get mixed).
 */
export function mathTrainSplit<T extends { problem: string }>(
  pool: readonly T[],
  evaluation: readonly { problem: string }[],
  size = 100,
  seed = 42,
): T[] {
  const held = new Set(evaluation.map((e) => problemKey(e.problem)));
  const eligible = pool.filter((p) => !held.has(problemKey(p.problem)));
  if (eligible.length < size)
    throw new RangeError(
      `MATH split: only ${eligible.length} pool problems are outside the evaluation set, need ${size}`,
    );
  return seededSplit(eligible, size, seed).train;
}

/** HumanEval+: 50 training problems and 114 held out (of 164), seeded. */
export function humanEvalSplit<T>(problems: readonly T[], trainSize = 50, seed = 42): { train: T[]; heldOut: T[] } {
  return seededSplit(problems, trainSize, seed);
}

/** MMLU-Pro: `perCategory` training questions from each category, the rest held out. */
export function mmluProSplit<T extends { category?: string }>(
  questions: readonly T[],
  perCategory = 100,
  seed = 42,
): { train: T[]; heldOut: T[] } {
  const byCat = new Map<string, T[]>();
  for (const q of questions) {
    const c = q.category ?? '';
    if (!byCat.has(c)) byCat.set(c, []);
    byCat.get(c)!.push(q);
  }
  const train: T[] = [];
  const heldOut: T[] = [];
  for (const [cat, qs] of [...byCat].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (qs.length < perCategory)
      throw new RangeError(`MMLU-Pro split: category "${cat}" has ${qs.length} questions, fewer than ${perCategory}`);
    const s = seededSplit(qs, perCategory, seed);
    train.push(...s.train);
    heldOut.push(...s.heldOut);
  }
  return { train, heldOut };
}
