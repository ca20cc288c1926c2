// Verifiable rewards: the shared format gate, MATH, multiple choice, and code run in a sandbox.
// (The tasks built on them are in lib/tasks.)
export * from './format.js';
export * from './latex.js';
export * from './math-answer.js';
export * from './math-equal.js';
export * from './math.js';
export * from './choice.js';
export * from './sandbox.js';
export * from './code.js';
