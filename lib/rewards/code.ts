// HumanEval / HumanEval+ reward: extract the program from the completion, run it with the
// problem's tests in the sandbox (sandbox.ts), pass only if every test ran to the end.
import { FORMAT_PENALTY } from './format.js';
import { Sandbox, type RunResult, type SandboxLimits } from './sandbox.js';

/** One HumanEval(+) problem (the dataset's fields; HumanEval+ has the same, with larger tests). */
export interface CodeExample {
  id: string;
  /** Function signature and docstring the model completes. */
  prompt: string;
  /** Defines `check(candidate)`. */
  test: string;
  entry_point: string;
  canonical_solution?: string;
}

/** The paper's reward scale for code: format gate −2, all tests pass +2, else −1. */
export const CODE_REWARD = { format: FORMAT_PENALTY, correct: 2, wrong: -1 } as const;

/** The program in a completion: the first ```python block, else the first fenced block, else the text. */
export function extractCode(text: string): string {
  const py = /```[ \t]*(?:python3?|py)[ \t]*\n([\s\S]*?)```/i.exec(text);
  if (py) return py[1];
  const any = /```[^\n`]*\n([\s\S]*?)```/.exec(text);
  if (any) return any[1];
  return text;
}

/**
 * The program that is run: the code (prefixed with the prompt when it does not define the entry
 * point itself, as for a function body), then the tests, then `check(entry_point)`.
 */
export function buildTestProgram(code: string, example: CodeExample): string {
  const defines = new RegExp(`^\\s*(?:async\\s+)?def\\s+${example.entry_point}\\s*\\(`, 'm').test(code);
  const body = defines ? code : example.prompt + code;
  return `${body}\n\n${example.test}\n\ncheck(${example.entry_point})\n`;
}

/** Runs a piece of code against an example's tests. */
export function runTests(
  sandbox: Sandbox,
  code: string,
  example: CodeExample,
  limits?: Partial<SandboxLimits>,
): Promise<RunResult> {
  return sandbox.run(buildTestProgram(code, example), limits);
}
