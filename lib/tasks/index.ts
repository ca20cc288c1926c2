// Tasks: everything that names a task (K&K, MATH, HumanEval(+), MMLU-Pro, or a user's module):
// loading its data, the paper's splits, its prompt, its reward and its correctness check. Train,
// eval and serve use these; the rewards themselves (lib/rewards, lib/kk) know nothing of tasks.
export * from './task.js';
export * from './kk-task.js';
export * from './math-task.js';
export * from './humaneval-task.js';
export * from './evalplus.js';
export * from './mmlu-pro-task.js';
export * from './splits.js';
export * from './benchmarks.js';
export * from './load.js';
