// HumanEval+ in EvalPlus's file format (HumanEvalPlus.jsonl[.gz]): each problem has task_id,
// prompt, entry_point, canonical_solution, base_input and plus_input (lists of argument lists)
// and atol. A completion passes when, for every input (the base inputs, then the plus inputs), its
// output equals the canonical solution's output on the same input, compared as EvalPlus compares:
//   exact equality, else, when atol > 0 (atol 0 on a float or list of floats means 1e-6), the same
//   type, the same length for sequences, and |out - exp| <= atol + 1e-7·|exp| element by element
//   (NumPy's allclose with EvalPlus's rtol);
// and, for find_zero, whose roots are not unique, |poly(xs, out)| <= atol (EvalPlus's special oracle).
// The reference outputs are computed by the judge (sandbox_runner.py, outside the sandbox) from
// the canonical solution, on a deep copy of each input, so the file needs no stored outputs. The
// judge reads the inputs from the row's own JSON text with Python's json, so 1.0 stays a float.
// The check runs as the problem's `test`: HumanEval's check(candidate) contract, so the sandbox,
// the rewards and `warmstart score` take HumanEval+ problems as they take HumanEval ones.
import type { CodeExample } from '../rewards/code.js';
import type { JsonlRecord, SourceRecord } from '../util/jsonl.js';

/** Whether a row is scored in EvalPlus's way: it has base_input and the canonical solution (the reference). */
export const isEvalPlusRow = (row: SourceRecord): boolean =>
  Array.isArray(row.value.base_input) && typeof row.value.canonical_solution === 'string';

// The judge's check(): the row's JSON text arrives as one string literal (JSON's escapes are
// Python's), so no input can break out of the test code.
const CHECK = `
import copy as _copy
import json as _json

_ROW = _json.loads(%ROW%)
_PLUS = {
    'inputs': _ROW['base_input'] + (_ROW.get('plus_input') or [] if %PLUS% else []),
    'atol': _ROW.get('atol') or 0,
    'entry': _ROW['entry_point'],
}
_ns = {'__name__': 'canonical'}
exec(compile(_ROW['prompt'] + _ROW['canonical_solution'], 'canonical.py', 'exec'), _ns)
_reference = _ns[_PLUS['entry']]


def _is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def _close(out, exp, atol):
    if isinstance(exp, (list, tuple)):
        return isinstance(out, (list, tuple)) and len(out) == len(exp) and all(_close(o, e, atol) for o, e in zip(out, exp))
    try:
        return abs(out - exp) <= atol + 1e-07 * abs(exp)
    except TypeError:
        return False


def check(candidate):
    for i, inp in enumerate(_PLUS['inputs']):
        exp = _reference(*_copy.deepcopy(inp))
        out = candidate(*_copy.deepcopy(inp))
        atol = _PLUS['atol']
        if atol == 0 and _is_floats(exp):
            atol = 1e-6
        if _PLUS['entry'] == 'find_zero':
            assert abs(poly(*inp, out)) <= atol, 'input %d: |poly(xs, %r)| > %g' % (i, out, atol)
            continue
        if out == exp:
            continue
        ok = atol != 0 and type(out) == type(exp) and _close(out, exp, atol)
        assert ok, 'input %d: expected %r, got %r' % (i, exp, out)
`;

/** The check(candidate) of an EvalPlus row (its JSON text): base and plus inputs, or the base ones only. */
export function evalPlusTest(rowText: string, plus = true): string {
  return CHECK.replace('%ROW%', () => JSON.stringify(rowText)).replace('%PLUS%', plus ? 'True' : 'False');
}

/**
 * A HumanEval+ problem from an EvalPlus row: its test checks the base and plus inputs (`plus`
 * false: the base inputs only, HumanEval's own tests in EvalPlus's form).
 */
export function evalPlusExample(row: JsonlRecord, plus = true): CodeExample {
  const v = row.value;
  const str = (k: string): string => {
    if (typeof v[k] !== 'string') throw new Error(`${row.where}: "${k}" must be a string`);
    return v[k] as string;
  };
  const inputs = (k: string): unknown[][] => {
    const a = v[k];
    if (!Array.isArray(a) || !a.every((x) => Array.isArray(x)))
      throw new Error(`${row.where}: "${k}" must be a list of argument lists`);
    return a as unknown[][];
  };
  const atol = v.atol ?? 0;
  if (atol !== null && (typeof atol !== 'number' || !(atol >= 0)))
    throw new Error(`${row.where}: "atol" must be a number >= 0`);
  inputs('base_input');
  if (v.plus_input !== undefined) inputs('plus_input');
  const ex: CodeExample = {
    id: str('task_id'),
    prompt: str('prompt'),
    entry_point: str('entry_point'),
    canonical_solution: str('canonical_solution'),
    test: '',
    evalplus: plus ? 'plus' : 'base',
  };
  ex.test = evalPlusTest(row.text, plus);
  return ex;
}
