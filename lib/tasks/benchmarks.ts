// The benchmarks by name: how to load each one's problems and which reward task scores them.
import { loadPuzzles } from '../kk/io.js';
import type { Sandbox } from '../rewards/sandbox.js';
import { codeTask, loadHumanEval } from './humaneval-task.js';
import { kkTask } from './kk-task.js';
import { loadMath, mathTask } from './math-task.js';
import { choiceTask, loadMmluPro } from './mmlu-pro-task.js';
import type { RewardTask } from './task.js';

export interface Benchmark {
  name: string;
  /** The published file the user points `--data` at (named in the error when none is given). */
  published: string;
  load(file: string): Promise<{ id: string }[]>;
  task(opts: { sandbox?: Sandbox }): RewardTask<never>;
}

export const BENCHMARKS: Record<string, Benchmark> = {
  math500: {
    name: 'math500',
    published: 'MATH-500 as JSONL with problem and answer: test.jsonl of HuggingFaceH4/MATH-500 on Hugging Face',
    load: loadMath,
    task: () => mathTask as RewardTask<never>,
  },
  humaneval: {
    name: 'humaneval',
    published: 'HumanEval.jsonl.gz of github.com/openai/human-eval (data/), or HumanEval+ of evalplus/humanevalplus',
    load: loadHumanEval,
    task: ({ sandbox }) => codeTask(sandbox) as RewardTask<never>,
  },
  kk: {
    name: 'kk',
    published:
      'K&K puzzles: a test.parquet of github.com/Unakar/Logic-RL (data/kk/instruct/3ppl/) or `warmstart kk generate` output',
    // ids as kkExamples (kk-task.ts) gives them
    load: async (file) => (await loadPuzzles(file)).map((p, i) => ({ ...p, id: `kk-${p.index ?? i}` })),
    task: () => kkTask('paper') as RewardTask<never>,
  },
  'mmlu-pro': {
    name: 'mmlu-pro',
    published: 'MMLU-Pro test questions of one category as JSONL: the test split of TIGER-Lab/MMLU-Pro on Hugging Face',
    load: loadMmluPro,
    task: () => choiceTask as RewardTask<never>,
  },
};

/**
 * The data file to load: `file`, which the user gives with `flag` (nothing is looked for in the
 * working tree); without one, an error naming the flag and the published file to point it at.
 */
export function benchmarkData(b: Benchmark, file: string | undefined, flag = '--data FILE'): string {
  if (file) return file;
  throw new Error(`${b.name}: no data file: pass ${flag} (${b.published})`);
}
