// RLVR and evaluation items: a task's example with the prompt text the model continues. The
// reward and the correctness check come from the task (lib/rewards/task.ts's RewardTask).
import { buildPrompt } from '../kk/prompt.js';
import type { KKPuzzle } from '../kk/puzzle.js';
import { kkRewardDetails, type KKRewardVariant } from '../kk/reward.js';
import type { RewardTask as Task } from '../rewards/task.js';

export type { RewardTask } from '../rewards/task.js';

export interface PromptedExample<E> {
  id: string;
  prompt: string;
  example: E;
}

// Knights & Knaves as an RLVR task: the reward is lib/kk's (paper or Logic-RL variant); a
// completion is correct when every person's role is right in a well-formed answer.
export function kkTask(variant: KKRewardVariant = 'paper'): Task<KKPuzzle> {
  return {
    name: 'kk',
    reward: (completion, puzzle) => kkRewardDetails(completion, puzzle, { variant }).reward,
    correct: (completion, puzzle) => kkRewardDetails(completion, puzzle, { variant }).correct,
  };
}

// Puzzles with the paper's raw prompt (ending in "Assistant: <think>").
export function kkExamples(puzzles: KKPuzzle[], template?: string): PromptedExample<KKPuzzle>[] {
  return puzzles.map((p, i) => ({ id: `kk-${p.index ?? i}`, prompt: buildPrompt(p, { template }), example: p }));
}
