// Shared set-up of the serve tests: published K&K puzzles (3 people, test split), a small BPE
// tokenizer trained on their prompts and symbolic traces, and a tiny random Qwen2 (2 layers)
// with that tokenizer, written to a temporary model folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { trainBpe } from '../../lib/data/bpe.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { initModel } from '../../lib/engine/init.js';
import { loadModel, type Model } from '../../lib/engine/model.js';
import { buildPrompt, loadPuzzles, symbolicTrace, writePuzzles, type KKPuzzle } from '../../lib/kk/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KK_3PPL_TEST = path.resolve(ROOT, '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet');

export interface TinyServeModel {
  /** Temporary folder holding everything (removed by cleanup). */
  tmp: string;
  /** The model folder (config.json, model.safetensors, tokenizer files). */
  dir: string;
  model: Model;
  tokenizer: Tokenizer;
  puzzles: KKPuzzle[];
  /** `puzzles` as a JSONL puzzle file. */
  puzzleFile: string;
  cleanup(): void;
}

export async function tinyServeModel(count = 40): Promise<TinyServeModel> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ws-serve-'));
  const puzzles = (await loadPuzzles(KK_3PPL_TEST)).slice(0, count);
  const texts = puzzles.flatMap((p) => [buildPrompt(p), symbolicTrace(p, { verbosity: 'terse' })]);
  const tokDir = path.join(tmp, 'tokenizer');
  trainBpe(texts, { vocabSize: 400, out: tokDir });
  const tokenizer = Tokenizer.load(tokDir);
  const dir = path.join(tmp, 'tiny-kk');
  await initModel({
    preset: 'tiny',
    vocabSize: tokenizer.vocabSize,
    seed: 1,
    out: dir,
    tokenizerFrom: tokDir,
    eosTokenId: tokenizer.eosTokenId,
    overrides: { num_hidden_layers: 2 },
  });
  const puzzleFile = path.join(tmp, 'puzzles.jsonl');
  await writePuzzles(puzzleFile, puzzles);
  return {
    tmp,
    dir,
    model: await loadModel(dir),
    tokenizer: Tokenizer.load(dir),
    puzzles,
    puzzleFile,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/**
 * The model with every generate call counted (its number of prompts) and delayed by `delayMs`;
 * `hold()` makes the next calls wait until the function it returns is called.
 */
export function instrumented(model: Model, delayMs = 0): { model: Model; calls: number[]; hold(): () => void } {
  const calls: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  const m = Object.create(model) as Model;
  m.generate = async (prompts, opts) => {
    calls.push(prompts.length);
    await gate;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return model.generate(prompts, opts);
  };
  return {
    model: m,
    calls,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return release;
    },
  };
}

/** Waits until `cond()` holds (polling every 5 ms), or throws after `ms`. */
export async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}
