// `warmstart eval --suite paper`: the paper's table for one or several models: pass@1 mean ± std
// over the k samples and the mean completion length on MATH-500, HumanEval(+), MMLU-Pro and K&K.
// Every (model, benchmark) cell has its completions file DIR/<model>/<benchmark>.jsonl, written
// whole or not at all (evaluate() commits it by rename), so a stopped suite resumes where it
// stopped: a cell whose file exists is scored from it and never sampled again, and a model whose
// cells all exist is not even loaded. The table comes from the completion files alone, so it can
// be rebuilt without a model (suiteFromCompletions), and is written as DIR/suite.md and suite.json.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Tokenizer } from '../data/tokenizer.js';
import type { Model } from '../engine/model.js';
import type { PromptedExample, RewardTask } from '../tasks/task.js';
import { writeFileAtomic } from '../util/atomic.js';
import { evaluate, type EvalConfig } from './evaluate.js';
import { readCompletions, scoreTask } from './score.js';

/** The paper's benchmarks, in its table's order: the names lib/tasks/load.ts loads. */
export const PAPER_SUITE = ['math500', 'humaneval', 'mmlu-pro', 'kk'] as const;

const TITLES: Record<string, string> = {
  math500: 'MATH-500',
  humaneval: 'HumanEval',
  'mmlu-pro': 'MMLU-Pro',
  kk: 'K&K',
};

/** One benchmark of a suite: its evaluation problems and reward task. */
export interface SuiteBenchmark {
  name: string;
  /** Column title (HumanEval+ when the problems are EvalPlus's). */
  title?: string;
  task: RewardTask<unknown>;
  examples: PromptedExample<unknown>[];
}

export interface SuiteCell {
  model: string;
  benchmark: string;
  problems: number;
  samples: number;
  passAt1: number;
  passAt1Std: number;
  meanReward: number;
  /** Mean completion length in tokens (null when the file does not give tokens). */
  meanLength: number | null;
}

export interface SuiteResult {
  models: string[];
  benchmarks: { name: string; title: string }[];
  /** One per (model, benchmark) whose completions exist; missing cells are absent. */
  cells: SuiteCell[];
}

/** Where the completions of one cell live. */
export function completionsFile(dir: string, model: string, benchmark: string): string {
  return join(dir, model, `${benchmark}.jsonl`);
}

const titleOf = (b: SuiteBenchmark) => b.title ?? TITLES[b.name] ?? b.name;

/** The table from the completion files under `dir` (no model): a cell per file that exists. */
export async function suiteFromCompletions(opts: {
  dir: string;
  models: string[];
  benchmarks: SuiteBenchmark[];
}): Promise<SuiteResult> {
  const cells: SuiteCell[] = [];
  for (const model of opts.models)
    for (const b of opts.benchmarks) {
      const file = completionsFile(opts.dir, model, b.name);
      if (!existsSync(file)) continue;
      // score against the prompted examples by id: the task sees each one's own example
      const task: RewardTask<PromptedExample<unknown>> = {
        name: b.task.name,
        reward: (c, e) => b.task.reward(c, e.example),
        correct: (c, e) => b.task.correct(c, e.example),
      };
      const r = await scoreTask(task, b.examples, await readCompletions(file));
      cells.push({
        model,
        benchmark: b.name,
        problems: r.problems,
        samples: r.samples,
        passAt1: r.passAt1,
        passAt1Std: r.passAt1Std,
        meanReward: r.meanReward,
        meanLength: r.meanTokens,
      });
    }
  return { models: opts.models, benchmarks: opts.benchmarks.map((b) => ({ name: b.name, title: titleOf(b) })), cells };
}

/** The paper's table in Markdown: pass@1 % mean ± std, then the mean length in tokens, per benchmark. */
export function suiteMarkdown(r: SuiteResult): string {
  const head = ['model', ...r.benchmarks.flatMap((b) => [`${b.title} pass@1 %`, `${b.title} length`])];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const m of r.models) {
    const row = [m];
    for (const b of r.benchmarks) {
      const c = r.cells.find((x) => x.model === m && x.benchmark === b.name);
      row.push(
        c ? `${(100 * c.passAt1).toFixed(1)} ± ${(100 * c.passAt1Std).toFixed(1)}` : '-',
        c?.meanLength != null ? c.meanLength.toFixed(0) : '-',
      );
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  const k = [...new Set(r.cells.map((c) => c.samples))].join('/');
  const n = r.benchmarks
    .map((b) => `${b.title} ${r.cells.find((c) => c.benchmark === b.name)?.problems ?? '-'}`)
    .join(', ');
  return `${lines.join('\n')}\n\npass@1: accuracy of each of the k = ${k || '-'} samples over the problems (${n}), mean ± std over the samples; length: mean completion tokens.\n`;
}

/** Writes DIR/suite.md and DIR/suite.json (each whole or not at all). */
export function writeSuite(dir: string, r: SuiteResult): { markdown: string; json: string } {
  const markdown = join(dir, 'suite.md');
  const json = join(dir, 'suite.json');
  writeFileAtomic(markdown, suiteMarkdown(r));
  writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  return { markdown, json };
}

export interface SuiteRunOptions {
  dir: string;
  models: { name: string; dir: string }[];
  benchmarks: SuiteBenchmark[];
  config: EvalConfig;
  load: (dir: string) => Promise<{ model: Pick<Model, 'generate'>; tokenizer: Tokenizer }>;
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  onProgress?: (cell: string, done: number, total: number) => void;
}

/** Samples the cells whose completions are missing, then builds and writes the table. */
export async function runSuite(
  opts: SuiteRunOptions,
): Promise<SuiteResult & { files: { markdown: string; json: string } }> {
  const log = opts.onLog ?? (() => {});
  const names = opts.models.map((m) => m.name);
  if (new Set(names).size !== names.length)
    throw new RangeError(`eval --suite: two models have the same folder name (${names.join(', ')}); rename one`);
  for (const m of opts.models) {
    const todo = opts.benchmarks.filter((b) => !existsSync(completionsFile(opts.dir, m.name, b.name)));
    if (opts.benchmarks.length > todo.length)
      log(`${m.name}: ${opts.benchmarks.length - todo.length} benchmark(s) already sampled, scored from their files`);
    if (todo.length === 0) continue;
    const { model, tokenizer } = await opts.load(m.dir);
    mkdirSync(join(opts.dir, m.name), { recursive: true });
    for (const b of todo) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('eval --suite: stopped');
      const r = await evaluate({
        model,
        tokenizer,
        task: b.task,
        examples: b.examples,
        config: opts.config,
        out: completionsFile(opts.dir, m.name, b.name),
        signal: opts.signal,
        onProgress: (p) => opts.onProgress?.(`${m.name} ${b.name}`, p.done, p.total),
      });
      log(`${m.name} ${b.name}: pass@1 ${(100 * r.passAt1).toFixed(1)} ± ${(100 * r.passAt1Std).toFixed(1)} %`);
    }
  }
  const r = await suiteFromCompletions({ dir: opts.dir, models: names, benchmarks: opts.benchmarks });
  return { ...r, files: writeSuite(opts.dir, r) };
}
