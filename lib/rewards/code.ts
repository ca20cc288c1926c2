// HumanEval / HumanEval+ reward: extract the program from the completion, run it with the
// problem's tests in the sandbox (sandbox.ts), pass only if every test ran to the end.
import { answerSection, checkFormat, FORMAT_PENALTY } from './format.js';
import { Sandbox, type RunResult, type SandboxLimits } from './sandbox.js';
import type { RewardTask } from './task.js';

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

/**
 * HumanEval(+) as a reward task. Both methods return Promises; runs share the task's sandbox pool
 * (at most `workers` programs at once), so the driver may score a whole group concurrently.
 */
export function codeTask(sandbox: Sandbox = new Sandbox()): RewardTask<CodeExample> & { sandbox: Sandbox } {
  // reward() and correct() of one completion usually run the same program: run it once.
  const recent = new Map<string, Promise<RunResult>>();
  const passes = async (code: string, example: CodeExample): Promise<boolean> => {
    const program = buildTestProgram(code, example);
    let run = recent.get(program);
    if (!run) {
      run = sandbox.run(program);
      recent.set(program, run);
      if (recent.size > 256) recent.delete(recent.keys().next().value!);
    }
    return (await run).passed;
  };
  return {
    name: 'humaneval',
    sandbox,
    async reward(completion, example) {
      const f = checkFormat(completion);
      if (!f.ok) return CODE_REWARD.format;
      return (await passes(extractCode(f.answer), example)) ? CODE_REWARD.correct : CODE_REWARD.wrong;
    },
    async correct(completion, example) {
      return passes(extractCode(answerSection(completion)), example);
    },
  };
}
