// Evaluation: benchmark loaders, the paper's splits, scoring of completion files, and
// model-based evaluation.
export * from './jsonl.js';
export * from './math.js';
export * from './humaneval.js';
export * from './mmlu-pro.js';
export * from './splits.js';
export * from './score.js';
export * from './tasks.js';
export * from './evaluate.js';
