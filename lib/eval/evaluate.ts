// Model-based evaluation as the paper reports it: k samples per problem (temperature 0.7,
// top-p 0.95), accuracy computed per sample index j (acc_j = fraction of problems whose j-th
// sample is correct), pass@1 = mean_j acc_j ± std_j acc_j, plus the mean completion length in
// tokens. Every completion is written to a JSONL file with its reward.
import { createWriteStream } from 'node:fs';

import type { Tokenizer } from '../data/tokenizer.js';
import type { Model } from '../engine/model.js';
import type { PromptedExample, RewardTask } from '../tasks/task.js';
import { commitFile, tempPath } from '../util/atomic.js';
import { splitmixSeed as mixSeed } from '../util/random.js';

export interface EvalConfig {
  samples: number; // k
  temperature: number;
  topP: number;
  topK: number;
  maxNewTokens: number;
  batchSize: number; // sequences generated together
  seed: number;
}

export const EVAL_PAPER: EvalConfig = {
  samples: 4,
  temperature: 0.7,
  topP: 0.95,
  topK: 0,
  maxNewTokens: 4096,
  batchSize: 64,
  seed: 0,
};

export interface EvalProgress {
  done: number;
  total: number;
}

export interface EvalOptions<E> {
  model: Pick<Model, 'generate'>;
  tokenizer: Tokenizer;
  task: RewardTask<E>;
  examples: PromptedExample<E>[];
  config: EvalConfig;
  out?: string; // JSONL of every completion
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
}

export interface EvalResult {
  task: string;
  problems: number;
  samples: number;
  passAt1: number; // mean over sample indices of the accuracy
  passAt1Std: number; // sample std (n - 1) over sample indices, as the paper
  perSample: number[]; // accuracy of each sample index
  meanReward: number;
  meanLength: number; // completion tokens
}

export interface CompletionRecord {
  id: string;
  sample: number;
  completion: string;
  reward: number;
  correct: boolean;
  tokens: number;
  finish: string;
}

// pass@1 from correctness[problem][sample].
export function passAt1(correct: boolean[][]): { mean: number; std: number; perSample: number[] } {
  const n = correct.length;
  if (n === 0) throw new RangeError('passAt1: no problems');
  const k = correct[0].length;
  const perSample = Array.from({ length: k }, (_, j) => {
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (correct[i].length !== k)
        throw new RangeError(`passAt1: problem ${i} has ${correct[i].length} samples, expected ${k}`);
      if (correct[i][j]) c++;
    }
    return c / n;
  });
  const mean = perSample.reduce((a, b) => a + b, 0) / k;
  // Sample standard deviation (n - 1), as the paper's evaluation (Python's statistics.stdev);
  // a single sample index has no spread.
  const std = k > 1 ? Math.sqrt(perSample.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1)) : 0;
  return { mean, std, perSample };
}

export async function evaluate<E>(opts: EvalOptions<E>): Promise<EvalResult> {
  const { model, tokenizer, task, examples, config: c } = opts;
  if (examples.length === 0) throw new RangeError('evaluate: no problems');
  if (!Number.isInteger(c.samples) || c.samples < 1)
    throw new RangeError(`evaluate: samples must be a positive integer, got ${c.samples}`);
  const stop = [...tokenizer.stopTokenIds];
  const jobs: { problem: number; sample: number }[] = [];
  for (let i = 0; i < examples.length; i++) for (let j = 0; j < c.samples; j++) jobs.push({ problem: i, sample: j });
  const promptIds = examples.map((e) => Array.from(tokenizer.encode(e.prompt)));
  const correct = examples.map(() => new Array<boolean>(c.samples).fill(false));
  let rewardSum = 0;
  let lengthSum = 0;
  const tmp = opts.out ? tempPath(opts.out) : null;
  const sink = tmp ? createWriteStream(tmp) : null;
  try {
    for (let b = 0; b < jobs.length; b += c.batchSize) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('evaluate: aborted');
      const chunk = jobs.slice(b, b + c.batchSize);
      const gen = await model.generate(
        chunk.map((j) => promptIds[j.problem]),
        {
          maxNewTokens: c.maxNewTokens,
          temperature: c.temperature,
          topP: c.topP,
          topK: c.topK,
          seed: mixSeed(c.seed, b / c.batchSize),
          stopTokens: stop,
          vocabLimit: tokenizer.vocabSize, // ids past the tokenizer's (padding rows) are never sampled
        },
      );
      for (let q = 0; q < chunk.length; q++) {
        const { problem, sample } = chunk[q];
        const text = tokenizer.decode(gen.tokens[q].filter((id) => !stop.includes(id)));
        const reward = await task.reward(text, examples[problem].example);
        const ok = await task.correct(text, examples[problem].example);
        correct[problem][sample] = ok;
        rewardSum += reward;
        lengthSum += gen.tokens[q].length;
        const rec: CompletionRecord = {
          id: examples[problem].id,
          sample,
          completion: text,
          reward,
          correct: ok,
          tokens: gen.tokens[q].length,
          finish: gen.finishReasons[q],
        };
        sink?.write(JSON.stringify(rec) + '\n');
      }
      opts.onProgress?.({ done: Math.min(b + c.batchSize, jobs.length), total: jobs.length });
    }
  } finally {
    if (sink) await new Promise<void>((res, rej) => sink.end((err?: Error | null) => (err ? rej(err) : res())));
  }
  if (tmp && opts.out) commitFile(tmp, opts.out);
  const p = passAt1(correct);
  return {
    task: task.name,
    problems: examples.length,
    samples: c.samples,
    passAt1: p.mean,
    passAt1Std: p.std,
    perSample: p.perSample,
    meanReward: rewardSum / jobs.length,
    meanLength: lengthSum / jobs.length,
  };
}
