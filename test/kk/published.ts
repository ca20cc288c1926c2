// The published K&K Parquet files (../shared/data relative to the repo root), loaded once.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { loadPuzzles, type KKPuzzle } from '../../lib/kk/index.js';

export const KK_DATA = path.resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  '../shared/data/knights-and-knaves-logic-rl',
);

export const PUBLISHED_FILES = [3, 4, 5, 6].flatMap((n) =>
  ['train', 'test'].map((s) => path.join(KK_DATA, `${n}ppl`, `${s}.parquet`)),
);

let cache: Promise<{ file: string; puzzles: KKPuzzle[] }[]> | undefined;

/** Every published file with its puzzles. */
export function publishedPuzzles(): Promise<{ file: string; puzzles: KKPuzzle[] }[]> {
  cache ??= Promise.all(PUBLISHED_FILES.map(async (file) => ({ file, puzzles: await loadPuzzles(file) })));
  return cache;
}
