// HumanEval / HumanEval+ reward: extract the program from the completion, run it in the sandbox
// and judge it with the problem's tests (sandbox.ts check()): it passes only if check(candidate)
// returns in the judge's own interpreter, where the program's answers arrive as plain data.
import { FORMAT_PENALTY } from './format.js';
import { Sandbox, type RunResult, type SandboxLimits, type TestSpec } from './sandbox.js';

/** One HumanEval(+) problem (the dataset's fields; HumanEval+ has the same, with larger tests). */
export interface CodeExample {
  id: string;
  /** Function signature and docstring the model completes. */
  prompt: string;
  /** Defines `check(candidate)`. */
  test: string;
  entry_point: string;
  canonical_solution?: string;
  /** Checked in EvalPlus's way (lib/tasks/evalplus.ts): 'plus' over base and plus inputs, 'base' over the base ones. */
  evalplus?: 'base' | 'plus';
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

/** The program that runs: the code, prefixed with the prompt when it does not define the entry point (a body). */
export function buildProgram(code: string, example: CodeExample): string {
  const defines = new RegExp(`^\\s*(?:async\\s+)?def\\s+${example.entry_point}\\s*\\(`, 'm').test(code);
  return defines ? code : example.prompt + code;
}

/** The example's tests as the sandbox's judge runs them: the prompt's code, then check(candidate). */
export function testSpec(example: CodeExample): TestSpec {
  return { entryPoint: example.entry_point, setup: example.prompt, test: example.test };
}

/** Runs a piece of code against an example's tests (judged outside the program's interpreter). */
export function runTests(
  sandbox: Sandbox,
  code: string,
  example: CodeExample,
  limits?: Partial<SandboxLimits>,
): Promise<RunResult> {
  return sandbox.check(buildProgram(code, example), testSpec(example), limits);
}
