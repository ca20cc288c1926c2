// The shape every verifiable-reward task has, so the RLVR driver, the evaluator, the scorer and
// the server treat MATH, multiple choice, code and Knights & Knaves alike; and the prompted
// examples they all consume.

/**
 * A task with a verifiable reward.
 *
 * - `reward(completion, example)`: the training reward of one sampled completion. It applies the
 *   format gate of lib/rewards/format.ts (−2 when the completion is not
 *   `… </think> <answer> … </answer>`), then the task's own scale (see each task).
 * - `correct(completion, example)`: evaluation: is the completion's final answer right? No format
 *   gate (the paper's evaluation extracts the answer from the whole completion, preferring the
 *   `<answer>` section when there is one).
 *
 * Both may return a Promise (code tasks run programs); `await` works on either.
 */
export interface RewardTask<E> {
  readonly name: string;
  reward(completion: string, example: E): number | Promise<number>;
  correct(completion: string, example: E): boolean | Promise<boolean>;
}

/** A task's example with the prompt text the model continues. */
export interface PromptedExample<E> {
  id: string;
  prompt: string;
  example: E;
}
