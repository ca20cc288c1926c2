// Evaluation data and scoring: benchmark loaders, the paper's splits, pass@1 of completion files.
// (Model-based evaluation, evaluate.ts, is exported by its own line where it is used.)
export * from './jsonl.js';
export * from './math.js';
export * from './humaneval.js';
export * from './mmlu-pro.js';
export * from './splits.js';
export * from './score.js';
export * from './tasks.js';
