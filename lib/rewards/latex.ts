// LaTeX → mathjs expression text, for the subset that MATH answers use. The result is parsed and
// evaluated by mathjs (lib/rewards/math-equal.ts); this file only rewrites notation:
//   \frac{a}{b}, \dfrac, \tfrac, \frac12, \frac 34  → ((a)/(b))      1\frac{4}{5} → (1+(4)/(5))
//   \sqrt{x}, \sqrt2, \sqrt[n]{x}                  → sqrt(x), nthRoot(x, n)
//   x^{2}, x^2, e^{i\pi}                           → x^(2)
//   \sin x, \cos^2 x, \ln(x), \log x               → sin(x), (cos(x))^(2), log(x), log10(x)
//   |x|, \lvert x\rvert                            → abs(x)
//   \pi, \infty, \cdot, \times, \div, i            → pi, Infinity, *, *, /, i (imaginary unit)
//   x_1, x_{12}                                    → x_1, x_12 (one symbol)
// Letters are single-letter symbols and adjacent factors are joined by an explicit `*` (so `xy`
// is x*y, `2\pi r` is 2*pi*r). Anything else (\text, unknown commands, unbalanced groups, `=`:
// equations are split before translation) throws, so mathjs only ever sees arithmetic on
// one-letter symbols and the functions above.

type Tok = { kind: 'num' | 'cmd' | 'letter' | 'op'; text: string };

const FUNCS: Record<string, string> = {
  sin: 'sin',
  cos: 'cos',
  tan: 'tan',
  cot: 'cot',
  sec: 'sec',
  csc: 'csc',
  arcsin: 'asin',
  arccos: 'acos',
  arctan: 'atan',
  sinh: 'sinh',
  cosh: 'cosh',
  tanh: 'tanh',
  ln: 'log',
  log: 'log10',
  exp: 'exp',
};
const SYMBOLS: Record<string, string> = { pi: 'pi', infty: 'Infinity', infinity: 'Infinity' };
const TIMES = new Set(['cdot', 'times', 'ast']);

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  const re = /\s+|(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|\\([a-zA-Z]+)|\\(.)|([a-zA-Z])|(.)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src)) !== null) {
    if (m[1] !== undefined) toks.push({ kind: 'num', text: m[1].startsWith('.') ? '0' + m[1] : m[1] });
    else if (m[2] !== undefined) toks.push({ kind: 'cmd', text: m[2] });
    else if (m[3] !== undefined) toks.push({ kind: 'op', text: m[3] === '{' || m[3] === '}' ? `\\${m[3]}` : m[3] });
    else if (m[4] !== undefined) toks.push({ kind: 'letter', text: m[4] });
    else if (m[5] !== undefined) toks.push({ kind: 'op', text: m[5] });
  }
  return toks;
}

class Translator {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }

  private fail(what: string): never {
    throw new Error(`latex: ${what} at token ${this.pos}`);
  }

  /** A run of terms and operators up to (not including) one of `stops` or the end. */
  expr(stops: string[]): string {
    let out = '';
    let prevFactor = false; // the last thing emitted can be multiplied by a following factor
    while (this.pos < this.toks.length) {
      const t = this.peek()!;
      if (t.kind === 'op' && stops.includes(t.text)) break;
      if (t.kind === 'op' && '+-*/'.includes(t.text) && t.text.length === 1) {
        out += ` ${t.text} `;
        this.pos++;
        prevFactor = false;
        continue;
      }
      if (t.kind === 'cmd' && (TIMES.has(t.text) || t.text === 'div')) {
        out += t.text === 'div' ? ' / ' : ' * ';
        this.pos++;
        prevFactor = false;
        continue;
      }
      if (t.kind === 'op' && t.text === '!') {
        out += '!';
        this.pos++;
        continue;
      }
      if (t.kind === 'op' && (t.text === '^' || t.text === '_')) this.fail(`dangling ${t.text}`);
      let f = this.factor();
      f = this.postfix(f);
      if (prevFactor) out += ' * ';
      out += f;
      prevFactor = true;
    }
    return out;
  }

  /** ^ and _ after a factor. */
  private postfix(base: string): string {
    let f = base;
    for (;;) {
      const t = this.peek();
      if (t?.kind === 'op' && t.text === '^') {
        this.pos++;
        f = `${f}^(${this.arg()})`;
      } else if (t?.kind === 'op' && t.text === '_') {
        this.pos++;
        const sub = this.arg();
        if (!/^\w+$/.test(sub) || !/^[a-zA-Z]\w*$/.test(f)) this.fail('subscript on a non-symbol');
        f = `${f}_${sub}`;
      } else if (t?.kind === 'op' && t.text === '!') {
        this.pos++;
        f = `${f}!`;
      } else return f;
    }
  }

  /** One command argument: a {group}, or a single digit / letter / command factor. */
  private arg(): string {
    const t = this.peek();
    if (!t) this.fail('missing argument');
    if (t.kind === 'op' && t.text === '{') {
      this.pos++;
      const inner = this.expr(['}']);
      this.expect('}');
      if (!inner.trim()) this.fail('empty group');
      return inner;
    }
    if (t.kind === 'num' && t.text.length > 1) {
      // \frac12: the argument is the first digit only; the rest stays for the next argument.
      this.toks.splice(this.pos, 1, { kind: 'num', text: t.text[0] }, { kind: 'num', text: t.text.slice(1) });
    }
    if (t.kind === 'op' && t.text === '-') {
      this.pos++;
      return `-(${this.arg()})`;
    }
    return this.factor();
  }

  private expect(text: string): void {
    const t = this.peek();
    if (!t || t.kind !== 'op' || t.text !== text) this.fail(`expected ${text}`);
    this.pos++;
  }

  private factor(): string {
    const t = this.peek();
    if (!t) this.fail('unexpected end');
    this.pos++;
    switch (t.kind) {
      case 'num': {
        // Mixed number: an integer right before \frac{int}{int} adds (1\frac{4}{5} = 9/5).
        const n = this.peek();
        if (/^\d+$/.test(t.text) && n?.kind === 'cmd' && /^[dt]?frac$/.test(n.text)) {
          const save = this.pos;
          this.pos++;
          const a = this.arg();
          const b = this.arg();
          if (/^\d+$/.test(a.trim()) && /^\d+$/.test(b.trim())) return `(${t.text} + (${a})/(${b}))`;
          this.pos = save;
        }
        return t.text;
      }
      case 'letter':
        return t.text;
      case 'op':
        if (t.text === '(' || t.text === '[') {
          const close = t.text === '(' ? ')' : ']';
          const inner = this.expr([close]);
          this.expect(close);
          return `(${inner})`;
        }
        if (t.text === '{') {
          const inner = this.expr(['}']);
          this.expect('}');
          return `(${inner})`;
        }
        if (t.text === '|') {
          const inner = this.expr(['|']);
          this.expect('|');
          return `abs(${inner})`;
        }
        return this.fail(`unexpected ${t.text}`);
      case 'cmd':
        return this.command(t.text);
    }
  }

  private command(name: string): string {
    if (name === 'frac' || name === 'dfrac' || name === 'tfrac') {
      const a = this.arg();
      const b = this.arg();
      return `((${a})/(${b}))`;
    }
    if (name === 'sqrt') {
      const t = this.peek();
      if (t?.kind === 'op' && t.text === '[') {
        this.pos++;
        const n = this.expr([']']);
        this.expect(']');
        return `nthRoot(${this.arg()}, ${n})`;
      }
      return `sqrt(${this.arg()})`;
    }
    if (name in SYMBOLS) return SYMBOLS[name];
    if (name in FUNCS) {
      let power = '';
      const t = this.peek();
      if (t?.kind === 'op' && t.text === '^') {
        this.pos++;
        power = this.arg();
      }
      const n = this.peek();
      let argument: string;
      if (n?.kind === 'op' && n.text === '(') argument = this.factor();
      else argument = this.postfix(this.arg());
      const call = `${FUNCS[name]}(${argument})`;
      return power ? `(${call})^(${power})` : call;
    }
    return this.fail(`unsupported command \\${name}`);
  }

  done(): boolean {
    return this.pos >= this.toks.length;
  }
}

/** Translates a LaTeX maths expression into mathjs syntax; throws on anything outside the subset. */
export function latexToMathjs(latex: string): string {
  const src = latex.replace(/\\lvert|\\rvert/g, '|');
  const tr = new Translator(tokenize(src));
  const out = tr.expr([]);
  if (!tr.done() || !out.trim()) throw new Error(`latex: cannot translate ${JSON.stringify(latex)}`);
  return out.replace(/\s+/g, ' ').trim();
}
