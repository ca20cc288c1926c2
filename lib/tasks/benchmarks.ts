// The benchmarks by name: how to load each one's problems and which reward task scores them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { loadPuzzles } from '../kk/io.js';
import type { Sandbox } from '../rewards/sandbox.js';
import { codeTask, loadHumanEval } from './humaneval-task.js';
import { kkTask } from './kk-task.js';
import { loadMath, mathTask } from './math-task.js';
import { choiceTask, loadMmluPro } from './mmlu-pro-task.js';
import type { RewardTask } from './task.js';

export interface Benchmark {
  name: string;
  /** Where the development tree keeps the data (relative to the working directory). */
  defaultData: string;
  load(file: string): Promise<{ id: string }[]>;
  task(opts: { sandbox?: Sandbox }): RewardTask<never>;
}

export const BENCHMARKS: Record<string, Benchmark> = {
  math500: {
    name: 'math500',
    defaultData: '../shared/data/math500/math500.jsonl',
    load: loadMath,
    task: () => mathTask as RewardTask<never>,
  },
  humaneval: {
    name: 'humaneval',
    defaultData: '../shared/data/humaneval/HumanEval.jsonl.gz',
    load: loadHumanEval,
    task: ({ sandbox }) => codeTask(sandbox) as RewardTask<never>,
  },
  kk: {
    name: 'kk',
    defaultData: '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet',
    // ids as kkExamples (kk-task.ts) gives them
    load: async (file) => (await loadPuzzles(file)).map((p, i) => ({ ...p, id: `kk-${p.index ?? i}` })),
    task: () => kkTask('paper') as RewardTask<never>,
  },
  'mmlu-pro': {
    name: 'mmlu-pro',
    defaultData: '../shared/data/mmlu-pro/mmlu_pro_test_physics.jsonl',
    load: loadMmluPro,
    task: () => choiceTask as RewardTask<never>,
  },
};

/** The data file to load: `file` if given, else the benchmark's default when it exists. */
export function benchmarkData(b: Benchmark, file?: string): string {
  if (file) return file;
  const p = resolve(b.defaultData);
  if (!existsSync(p)) throw new Error(`no data for ${b.name}: pass --data FILE (default ${b.defaultData} not found)`);
  return p;
}
