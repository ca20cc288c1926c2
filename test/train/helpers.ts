// Shared set-up of the recipe tests: K&K puzzles with symbolic traces, a small BPE tokenizer
// trained on them, and a tiny random Qwen2 with that tokenizer, in a model folder.
import { join } from 'node:path';

import { trainBpe } from '../../lib/data/bpe.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { DEMO_NAMES, DEMO_TEMPLATE } from '../../lib/demo.js';
import { initModel } from '../../lib/engine/init.js';
import { generatePuzzles } from '../../lib/kk/generate.js';
import { buildPrompt } from '../../lib/kk/prompt.js';
import type { KKPuzzle } from '../../lib/kk/puzzle.js';
import { symbolicTrace } from '../../lib/kk/trace.js';

export interface TinyKK {
  dir: string;
  tokenizer: Tokenizer;
  puzzles: KKPuzzle[];
  pairs: { prompt: string; completion: string }[];
}

// 2-person puzzles (the demo's names and compact prompt), terse traces, a BPE of at most 512
// tokens and a 2-layer tiny model written to `dir`.
export async function tinyKK(dir: string, count = 200, seed = 0): Promise<TinyKK> {
  const puzzles = generatePuzzles({ people: 2, count, seed, names: DEMO_NAMES });
  const pairs = puzzles.map((p) => ({
    prompt: buildPrompt(p, { template: DEMO_TEMPLATE }),
    completion: symbolicTrace(p, { verbosity: 'terse' }),
  }));
  const tokDir = join(dir, '..', 'tokenizer');
  trainBpe(
    pairs.flatMap((p) => [p.prompt, p.completion]),
    { vocabSize: 512, out: tokDir },
  );
  const tokenizer = Tokenizer.load(tokDir);
  await initModel({
    preset: 'tiny',
    vocabSize: tokenizer.vocabSize,
    seed,
    out: dir,
    tokenizerFrom: tokDir,
    eosTokenId: tokenizer.eosTokenId,
    overrides: { num_hidden_layers: 2 },
  });
  return { dir, tokenizer, puzzles, pairs };
}

export async function tinyKKModel(dir: string): Promise<string> {
  return (await tinyKK(dir, 60)).dir;
}
