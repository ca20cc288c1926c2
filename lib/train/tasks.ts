// RLVR and evaluation items: a task's example with the prompt text the model continues. The
// reward and the correctness check come from the task (lib/rewards/task.ts's RewardTask).
export type { RewardTask } from '../rewards/task.js';

export interface PromptedExample<E> {
  id: string;
  prompt: string;
  example: E;
}
