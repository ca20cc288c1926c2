// Verifiable rewards: the shared format gate and task shape, MATH, multiple choice, and code run
// in a sandbox.
export * from './task.js';
export * from './format.js';
export * from './latex.js';
export * from './math-answer.js';
export * from './math-equal.js';
export * from './math.js';
export * from './choice.js';
export * from './sandbox.js';
export * from './code.js';
