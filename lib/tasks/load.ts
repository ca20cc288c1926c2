// RLVR tasks and benchmarks by name, with the paper's raw prompts and the paper's splits:
//   kk        K&K puzzles (lib/kk), paper reward (e.g. the published 3-person set)
//   math      MATH-style problems; training: 100 drawn from --data, none of them in the MATH-500
//             file given as --decontaminate; eval: MATH-500
//   humaneval HumanEval(+): 50 training / 114 held-out problems (seeded)
//   mmlu-pro  MMLU-Pro: 100 training questions per category, the rest held out
//   a path    a module exporting `task` (a RewardTask) and `load(file) -> {id, prompt, ...}[]`
// `split: 'train'` gives RLVR examples, `split: 'eval'` the evaluation set (for kk and math the
// file given is used whole), `split: 'all'` every problem of the file. Every file is a flag the
// caller passes: nothing is looked for in the working tree, and a missing one is an error naming
// the flag.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { rawPrompt } from '../data/prompts.js';
import { loadPuzzles } from '../kk/io.js';
import type { ChoiceExample } from '../rewards/choice.js';
import type { CodeExample } from '../rewards/code.js';
import type { MathExample } from '../rewards/math.js';
import { benchmarkData, BENCHMARKS } from './benchmarks.js';
import { codeUserMessage } from './humaneval-task.js';
import { kkExamples, kkTask } from './kk-task.js';
import { mathUserMessage } from './math-task.js';
import { choiceUserMessage } from './mmlu-pro-task.js';
import { humanEvalSplit, mathTrainSplit, mmluProSplit } from './splits.js';
import type { PromptedExample, RewardTask } from './task.js';

export interface LoadedTask {
  task: RewardTask<unknown>;
  examples: PromptedExample<unknown>[];
}

export interface LoadTaskOptions {
  /** The task's problems (`--data`). */
  data?: string;
  /**
   * How a missing `data` is asked for in errors: `--data FILE` (the default), or e.g.
   * `--eval-data kk=FILE` for grpo's held-out sets and `--data kk=FILE` for `eval --suite`.
   */
  dataFlag?: string;
  /**
   * math, training split: the MATH-500 file whose problems are kept out of the training draw
   * (`--decontaminate FILE`), or false to draw from the whole pool (`--no-decontaminate`).
   */
  decontaminate?: string | false;
  limit?: number;
  seed: number;
  split: 'train' | 'eval' | 'all';
}

function limitTo<T>(items: T[], limit?: number): T[] {
  if (limit === undefined) return items;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return items.slice(0, limit);
}

export async function loadRlTask(name: string, opts: LoadTaskOptions): Promise<LoadedTask> {
  const { split, limit, seed } = opts;
  const flag = opts.dataFlag ?? '--data FILE';
  if (name === 'kk') {
    const file = opts.data;
    if (!file)
      throw new Error(
        `kk: no data file: pass ${flag} (Parquet or JSONL puzzles: the published ${split === 'train' ? 'train' : 'test'}.parquet of github.com/Unakar/Logic-RL data/kk/instruct/3ppl/, or \`warmstart kk generate\` output)`,
      );
    if (!existsSync(file)) throw new Error(`kk: ${flag.replace(/FILE$/, '')}${file} does not exist`);
    return {
      task: kkTask('paper') as RewardTask<unknown>,
      examples: limitTo(kkExamples(await loadPuzzles(file)), limit) as PromptedExample<unknown>[],
    };
  }
  if (name === 'math' || name === 'math500') {
    const bench = BENCHMARKS.math500;
    let problems: MathExample[];
    if (split !== 'train') problems = (await bench.load(benchmarkData(bench, opts.data, flag))) as MathExample[];
    else {
      if (!opts.data)
        throw new Error(
          'math: RLVR needs a pool of MATH training problems: pass --data FILE.jsonl (problem + answer); 100 are drawn outside MATH-500',
        );
      // the draw keeps out MATH-500's problems: the file is a flag, or explicitly none
      if (opts.decontaminate === undefined)
        throw new Error(
          `math: the training draw keeps MATH-500's problems out: pass --decontaminate FILE (${bench.published}), or --no-decontaminate to draw from the whole pool`,
        );
      const heldOut = opts.decontaminate === false ? [] : ((await bench.load(opts.decontaminate)) as MathExample[]);
      problems = mathTrainSplit(
        (await bench.load(opts.data)) as MathExample[],
        heldOut,
        Math.min(limit ?? 100, 100),
        seed,
      );
    }
    return {
      task: bench.task({}) as RewardTask<unknown>,
      examples: limitTo(
        problems.map((p) => ({ id: p.id, prompt: rawPrompt(mathUserMessage(p.problem)), example: p })),
        limit,
      ),
    };
  }
  if (name === 'humaneval') {
    const bench = BENCHMARKS.humaneval;
    const all = (await bench.load(benchmarkData(bench, opts.data, flag))) as CodeExample[];
    const { train, heldOut } = split === 'all' ? { train: all, heldOut: all } : humanEvalSplit(all);
    return {
      task: bench.task({}) as RewardTask<unknown>,
      examples: limitTo(
        (split === 'train' ? train : heldOut).map((p) => ({
          id: p.id,
          prompt: rawPrompt(codeUserMessage(p)),
          example: p,
        })),
        limit,
      ),
    };
  }
  if (name === 'mmlu-pro') {
    const bench = BENCHMARKS['mmlu-pro'];
    const all = (await bench.load(benchmarkData(bench, opts.data, flag))) as ChoiceExample[];
    const { train, heldOut } = split === 'all' ? { train: all, heldOut: all } : mmluProSplit(all);
    return {
      task: bench.task({}) as RewardTask<unknown>,
      examples: limitTo(
        (split === 'train' ? train : heldOut).map((q) => ({
          id: q.id,
          prompt: rawPrompt(choiceUserMessage(q)),
          example: q,
        })),
        limit,
      ),
    };
  }
  if (/[/\\]|\.m?[jt]s$/.test(name)) {
    const mod = (await import(pathToFileURL(resolve(name)).href)) as {
      task?: RewardTask<unknown>;
      load?: (file?: string) => Promise<{ id: string; prompt: string }[]>;
    };
    if (!mod.task || typeof mod.task.reward !== 'function' || typeof mod.task.correct !== 'function') {
      throw new Error(
        `${name}: must export \`task\` with reward(completion, example) and correct(completion, example)`,
      );
    }
    if (typeof mod.load !== 'function')
      throw new Error(`${name}: must export \`load(file)\` returning examples with id and prompt`);
    const rows = await mod.load(opts.data);
    rows.forEach((r, i) => {
      if (typeof r?.id !== 'string' || typeof r?.prompt !== 'string')
        throw new Error(`${name}: load() example ${i} needs string fields id and prompt`);
    });
    return {
      task: mod.task,
      examples: limitTo(
        rows.map((r) => ({ id: r.id, prompt: r.prompt, example: r })),
        limit,
      ),
    };
  }
  throw new Error(`unknown task "${name}": use kk, math, humaneval, mmlu-pro or a path to a reward module`);
}
