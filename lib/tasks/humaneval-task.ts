// HumanEval(+) as a task: the problems, their prompt and the reward (lib/rewards/code.ts).
// HumanEval JSONL (optionally gzip): task_id, prompt, test, entry_point and, when present,
// canonical_solution. HumanEval+ in EvalPlus's format (base_input, plus_input, atol; evalplus.ts):
// its test is built from the inputs, checked against the canonical solution's outputs.
import { buildProgram, CODE_REWARD, extractCode, testSpec, type CodeExample } from '../rewards/code.js';
import { answerSection, checkFormat } from '../rewards/format.js';
import { Sandbox, type RunResult } from '../rewards/sandbox.js';
import { readJsonlFile, stringField } from '../util/jsonl.js';
import { evalPlusExample, isEvalPlusRow } from './evalplus.js';
import type { RewardTask } from './task.js';

/** `plus` false: EvalPlus rows keep their base inputs only (HumanEval's tests in EvalPlus's form). */
export async function loadHumanEval(file: string, opts: { plus?: boolean } = {}): Promise<CodeExample[]> {
  const rows = await readJsonlFile(file);
  const seen = new Set<string>();
  return rows.map((row) => {
    if (isEvalPlusRow(row)) {
      const ex = evalPlusExample(row, opts.plus ?? true);
      if (!/^[A-Za-z_]\w*$/.test(ex.entry_point))
        throw new Error(`${row.where}: "entry_point" is not a Python name: ${ex.entry_point}`);
      if (seen.has(ex.id)) throw new Error(`${row.where}: duplicate task_id ${ex.id}`);
      seen.add(ex.id);
      return ex;
    }
    const ex: CodeExample = {
      id: stringField(row, 'task_id'),
      prompt: stringField(row, 'prompt'),
      test: stringField(row, 'test'),
      entry_point: stringField(row, 'entry_point'),
    };
    if (!/^[A-Za-z_]\w*$/.test(ex.entry_point))
      throw new Error(`${row.where}: "entry_point" is not a Python name: ${ex.entry_point}`);
    if (!/def\s+check\s*\(/.test(ex.test)) throw new Error(`${row.where}: "test" does not define check(candidate)`);
    if (seen.has(ex.id)) throw new Error(`${row.where}: duplicate task_id ${ex.id}`);
    seen.add(ex.id);
    if (typeof row.value.canonical_solution === 'string') ex.canonical_solution = row.value.canonical_solution;
    return ex;
  });
}

// The user turn of the raw prompt: the answer goes inside <answer> </answer> as the format gate wants.
export function codeUserMessage(p: CodeExample): string {
  return `Complete the following Python function. Put the whole function in a \`\`\`python code block inside the <answer> </answer> tags.\n\n\`\`\`python\n${p.prompt}\`\`\``;
}

/**
 * HumanEval(+) as a reward task. Both methods return Promises; runs share the task's sandbox pool
 * (at most `workers` programs at once), so the driver may score a whole group concurrently.
 */
export function codeTask(sandbox: Sandbox = new Sandbox()): RewardTask<CodeExample> & { sandbox: Sandbox } {
  // reward() and correct() of one completion usually run the same program: run it once.
  const recent = new WeakMap<CodeExample, Map<string, Promise<RunResult>>>();
  const passes = async (code: string, example: CodeExample): Promise<boolean> => {
    const program = buildProgram(code, example);
    let runs = recent.get(example);
    if (!runs) recent.set(example, (runs = new Map()));
    let run = runs.get(program);
    if (!run) {
      run = sandbox.check(program, testSpec(example));
      runs.set(program, run);
      if (runs.size > 64) runs.delete(runs.keys().next().value!);
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
