// Scoring a file of completions without a model: pass@1 as the paper reports it (accuracy of each
// sample index j over the problems, then mean ± std over j) and the mean completion length.
//
// Completions file: JSONL, one completion per line, as written by evaluate.ts:
//   {"id": "<problem id>", "sample": 0, "completion": "…", "tokens": 812}
// `sample` is optional (default: order of appearance per id); `tokens` is optional (the mean
// token length is reported only when every line has it). Every problem in the file must have the
// same number of samples, 0..k-1.
import type { RewardTask } from '../tasks/task.js';
import { passAt1 } from './evaluate.js';
import { readJsonlFile, stringField } from '../util/jsonl.js';

export interface CompletionLine {
  id: string;
  sample: number;
  completion: string;
  tokens?: number;
  where: string;
}

export interface ScoreResult {
  task: string;
  problems: number;
  samples: number;
  passAt1: number;
  passAt1Std: number;
  perSample: number[];
  meanReward: number;
  /** Mean completion length in characters. */
  meanChars: number;
  /** Mean completion length in tokens, when every line gives `tokens`. */
  meanTokens: number | null;
}

export async function readCompletions(file: string): Promise<CompletionLine[]> {
  const rows = await readJsonlFile(file);
  const next = new Map<string, number>();
  return rows.map((row) => {
    const id = typeof row.value.id === 'number' ? String(row.value.id) : stringField(row, 'id');
    const completion = stringField(row, 'completion');
    let sample = row.value.sample;
    if (sample === undefined) sample = next.get(id) ?? 0;
    if (typeof sample !== 'number' || !Number.isInteger(sample) || sample < 0)
      throw new Error(`${row.where}: "sample" must be a non-negative integer`);
    next.set(id, Math.max(next.get(id) ?? 0, sample + 1));
    const tokens = row.value.tokens;
    if (tokens !== undefined && (typeof tokens !== 'number' || !(tokens >= 0)))
      throw new Error(`${row.where}: "tokens" must be a non-negative number`);
    return { id, sample, completion, tokens: tokens as number | undefined, where: row.where };
  });
}

/** Scores completions of `task` against `examples` (matched by id). */
export async function scoreTask<E extends { id: string }>(
  task: RewardTask<E>,
  examples: readonly E[],
  lines: readonly CompletionLine[],
): Promise<ScoreResult> {
  if (lines.length === 0) throw new RangeError('score: the completions file is empty');
  const byId = new Map(examples.map((e) => [e.id, e]));
  const grid = new Map<string, (CompletionLine | undefined)[]>();
  for (const l of lines) {
    if (!byId.has(l.id)) throw new Error(`${l.where}: unknown problem id "${l.id}" for task ${task.name}`);
    const row = grid.get(l.id) ?? [];
    if (row[l.sample])
      throw new Error(
        `${l.where}: duplicate sample ${l.sample} for problem "${l.id}" (first at ${row[l.sample]!.where})`,
      );
    row[l.sample] = l;
    grid.set(l.id, row);
  }
  const k = Math.max(...[...grid.values()].map((r) => r.length));
  for (const [id, row] of grid) {
    for (let j = 0; j < k; j++)
      if (!row[j])
        throw new Error(`score: problem "${id}" has no sample ${j} (every problem needs samples 0..${k - 1})`);
  }
  const ids = [...grid.keys()];
  const correct: boolean[][] = ids.map(() => new Array<boolean>(k).fill(false));
  let rewardSum = 0;
  await Promise.all(
    ids.flatMap((id, i) =>
      grid.get(id)!.map(async (l, j) => {
        const ex = byId.get(id)!;
        const [ok, r] = await Promise.all([task.correct(l!.completion, ex), task.reward(l!.completion, ex)]);
        correct[i][j] = ok;
        rewardSum += r;
      }),
    ),
  );
  const p = passAt1(correct);
  const all = [...grid.values()].flat() as CompletionLine[];
  const withTokens = all.filter((l) => l.tokens !== undefined);
  return {
    task: task.name,
    problems: ids.length,
    samples: k,
    passAt1: p.mean,
    passAt1Std: p.std,
    perSample: p.perSample,
    meanReward: rewardSum / all.length,
    meanChars: all.reduce((a, l) => a + l.completion.length, 0) / all.length,
    meanTokens: withTokens.length === all.length ? withTokens.reduce((a, l) => a + l.tokens!, 0) / all.length : null,
  };
}
