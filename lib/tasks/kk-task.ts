// Knights & Knaves as a task: the puzzles with the paper's raw prompt (ending in
// "Assistant: <think>") and lib/kk's reward (paper or Logic-RL variant); a completion is correct
// when every person's role is right in a well-formed answer.
import { buildPrompt } from '../kk/prompt.js';
import type { KKPuzzle } from '../kk/puzzle.js';
import { kkRewardDetails, type KKRewardVariant } from '../kk/reward.js';
import type { PromptedExample, RewardTask } from './task.js';

export function kkTask(variant: KKRewardVariant = 'paper'): RewardTask<KKPuzzle> {
  return {
    name: 'kk',
    reward: (completion, puzzle) => kkRewardDetails(completion, puzzle, { variant }).reward,
    correct: (completion, puzzle) => kkRewardDetails(completion, puzzle, { variant }).correct,
  };
}

/** Puzzles as prompted examples, with ids `kk-<index>` (the benchmark loader uses the same). */
export function kkExamples(puzzles: KKPuzzle[], template?: string): PromptedExample<KKPuzzle>[] {
  return puzzles.map((p, i) => ({ id: `kk-${p.index ?? i}`, prompt: buildPrompt(p, { template }), example: p }));
}
