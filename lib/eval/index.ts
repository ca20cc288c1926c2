// Evaluation: pass@1 of completion files. (Model-based evaluation, evaluate.ts, is exported by
// its own line where it is used; the benchmarks, loaders and splits are in lib/tasks.)
export * from './score.js';
