// HumanEval and HumanEval+ JSONL (optionally gzip): task_id, prompt, test, entry_point and, when
// present, canonical_solution. HumanEval+ (evalplus) has the same fields with larger tests.
import type { CodeExample } from '../rewards/code.js';
import { readJsonlFile, stringField } from './jsonl.js';

export async function loadHumanEval(file: string): Promise<CodeExample[]> {
  const rows = await readJsonlFile(file);
  const seen = new Set<string>();
  return rows.map((row) => {
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
