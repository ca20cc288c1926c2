// Knights & Knaves statements: the tree, its evaluation, and the Python tuple notation of the
// published data.
//
// A statement is a nested tuple, as in the `statements` column of the K&K data (Xie et al. 2024):
//   ['telling-truth', i]  person i is a knight      ['lying', i]  person i is a knave
//   ['not', s]   ['and', s, t, ...]   ['or', s, t, ...]   ['->', s, t]   ['<=>', s, t]
// Person i's statement S_i constrains the roles x (x_i = true for a knight): x_i <=> S_i(x).
// Partial assignments use three values (Kleene logic): 1 true, 0 false, -1 unknown.

/** One person's claim, in the tuple notation of the published K&K data. */
export type Statement =
  | readonly ['telling-truth', number]
  | readonly ['lying', number]
  | readonly ['not', Statement]
  | readonly ['and', ...Statement[]]
  | readonly ['or', ...Statement[]]
  | readonly ['->', Statement, Statement]
  | readonly ['<=>', Statement, Statement];

/** Operator names of the notation. */
export type StatementOp = Statement[0];

/** A three-valued truth value: 1 true, 0 false, -1 unknown. */
export type Truth3 = -1 | 0 | 1;

/** True for the two leaf kinds, `('telling-truth', i)` and `('lying', i)`. */
export function isLeaf(s: Statement): s is readonly ['telling-truth', number] | readonly ['lying', number] {
  return s[0] === 'telling-truth' || s[0] === 'lying';
}

/** Children of an operator node (empty for a leaf). */
export function children(s: Statement): readonly Statement[] {
  return isLeaf(s) ? [] : (s.slice(1) as Statement[]);
}

/** Evaluates a statement under a full assignment (`knight[i]` true when person i is a knight). */
export function evaluate(s: Statement, knight: ArrayLike<boolean>): boolean {
  switch (s[0]) {
    case 'telling-truth':
      return knight[s[1]];
    case 'lying':
      return !knight[s[1]];
    case 'not':
      return !evaluate(s[1], knight);
    case 'and':
      for (let i = 1; i < s.length; i++) if (!evaluate(s[i] as Statement, knight)) return false;
      return true;
    case 'or':
      for (let i = 1; i < s.length; i++) if (evaluate(s[i] as Statement, knight)) return true;
      return false;
    case '->':
      return !evaluate(s[1], knight) || evaluate(s[2], knight);
    case '<=>':
      return evaluate(s[1], knight) === evaluate(s[2], knight);
  }
}

/** Kleene evaluation under a partial assignment (`a[i]`: 1 knight, 0 knave, -1 unknown). */
export function evaluate3(s: Statement, a: ArrayLike<number>): Truth3 {
  switch (s[0]) {
    case 'telling-truth':
      return a[s[1]] as Truth3;
    case 'lying': {
      const v = a[s[1]];
      return v < 0 ? -1 : ((1 - v) as Truth3);
    }
    case 'not': {
      const v = evaluate3(s[1], a);
      return v < 0 ? -1 : ((1 - v) as Truth3);
    }
    case 'and': {
      let r: Truth3 = 1;
      for (let i = 1; i < s.length; i++) {
        const v = evaluate3(s[i] as Statement, a);
        if (v === 0) return 0;
        if (v < 0) r = -1;
      }
      return r;
    }
    case 'or': {
      let r: Truth3 = 0;
      for (let i = 1; i < s.length; i++) {
        const v = evaluate3(s[i] as Statement, a);
        if (v === 1) return 1;
        if (v < 0) r = -1;
      }
      return r;
    }
    case '->': {
      const p = evaluate3(s[1], a),
        q = evaluate3(s[2], a);
      if (p === 0 || q === 1) return 1;
      return p === 1 && q === 0 ? 0 : -1;
    }
    case '<=>': {
      const p = evaluate3(s[1], a),
        q = evaluate3(s[2], a);
      return p < 0 || q < 0 ? -1 : ((p === q ? 1 : 0) as Truth3);
    }
  }
}

/** People a statement mentions, in order of first mention, without repeats. */
export function mentioned(s: Statement, out: number[] = []): number[] {
  if (isLeaf(s)) {
    if (!out.includes(s[1])) out.push(s[1]);
    return out;
  }
  for (const c of children(s)) mentioned(c, out);
  return out;
}

/** Nesting depth: 1 for a leaf, 1 + the deepest child otherwise. */
export function depth(s: Statement): number {
  return isLeaf(s) ? 1 : 1 + Math.max(...children(s).map(depth));
}

/** Largest number of operands of any `and`/`or` node (1 when there is none). */
export function width(s: Statement): number {
  if (isLeaf(s)) return 1;
  const own = s[0] === 'and' || s[0] === 'or' ? s.length - 1 : 1;
  return Math.max(own, ...children(s).map(width));
}

/** Checks a statement's shape and person indices; throws a RangeError naming `where`. */
export function validateStatement(s: unknown, people: number, where: string): asserts s is Statement {
  if (!Array.isArray(s) || s.length === 0)
    throw new RangeError(`${where}: expected a statement tuple, got ${JSON.stringify(s)}`);
  const op = s[0];
  const argc = s.length - 1;
  switch (op) {
    case 'telling-truth':
    case 'lying':
      if (argc !== 1 || !Number.isInteger(s[1]) || s[1] < 0 || s[1] >= people)
        throw new RangeError(
          `${where}: ('${op}', i) needs a person index 0..${people - 1}, got ${JSON.stringify(s[1])}`,
        );
      return;
    case 'not':
      if (argc !== 1) throw new RangeError(`${where}: 'not' takes 1 operand, got ${argc}`);
      break;
    case 'and':
    case 'or':
      if (argc < 2) throw new RangeError(`${where}: '${op}' takes 2 or more operands, got ${argc}`);
      break;
    case '->':
    case '<=>':
      if (argc !== 2) throw new RangeError(`${where}: '${op}' takes 2 operands, got ${argc}`);
      break;
    default:
      throw new RangeError(`${where}: unknown operator ${JSON.stringify(op)}`);
  }
  for (let i = 1; i < s.length; i++) validateStatement(s[i], people, where);
}

/** Writes statements in the Python tuple notation of the published data's `statements` column. */
export function formatStatements(statements: readonly Statement[]): string {
  const one = (s: Statement): string =>
    isLeaf(s) ? `('${s[0]}', ${s[1]})` : `('${s[0]}', ${children(s).map(one).join(', ')})`;
  // A Python 1-tuple needs a trailing comma.
  return statements.length === 1 ? `(${one(statements[0])},)` : `(${statements.map(one).join(', ')})`;
}

/** Canonical text of one statement (the tuple notation), used as a key for de-duplication. */
export function statementKey(s: Statement): string {
  return isLeaf(s) ? `('${s[0]}', ${s[1]})` : `('${s[0]}', ${children(s).map(statementKey).join(', ')})`;
}

/**
 * Parses the Python tuple notation of the `statements` column, e.g.
 * `(('not', ('lying', 1)), ('telling-truth', 0))`, into statements for `people` people.
 * Throws a RangeError naming `where` and the character offset on malformed text.
 */
export function parseStatements(text: string, people: number, where = 'statements'): Statement[] {
  let pos = 0;
  const fail = (msg: string): never => {
    throw new RangeError(
      `${where}: ${msg} at offset ${pos} in ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '...' : text)}`,
    );
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = (): unknown => {
    ws();
    const c = text[pos];
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      pos++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[pos] === close) {
          pos++;
          return items;
        }
        items.push(value());
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === close) {
          pos++;
          return items;
        }
        fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail('unterminated string');
      const str = text.slice(pos + 1, end);
      pos = end + 1;
      return str;
    }
    const m = /^-?\d+/.exec(text.slice(pos));
    if (m) {
      pos += m[0].length;
      return Number(m[0]);
    }
    return fail('expected a tuple, a string or an integer');
  };
  const top = value();
  ws();
  if (pos !== text.length) fail('unexpected trailing text');
  if (!Array.isArray(top)) throw new RangeError(`${where}: expected a tuple of statements`);
  if (top.length !== people) throw new RangeError(`${where}: ${top.length} statements for ${people} people`);
  top.forEach((s, i) => validateStatement(s, people, `${where}[${i}]`));
  return top as Statement[];
}
