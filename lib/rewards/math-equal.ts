// Are two MATH answers equal? Both are normalised (math-answer.ts), split into structure
// (matrices, sets, unions of intervals, tuples/intervals, unordered lists, ±, equations) and each
// scalar compared: equal normalised text, else numbers within a relative tolerance, else
// expressions equal at random points (mathjs evaluates both; same seeded points for both sides).
import { createRequire } from 'node:module';

import type { MathJsInstance, MathNode } from 'mathjs';

import { latexToMathjs } from './latex.js';
import { normalizeAnswer } from './math-answer.js';

// mathjs is loaded at the first symbolic comparison, not with the package (~0.5 s).
let mathjs: MathJsInstance | undefined;
function math(): MathJsInstance {
  if (!mathjs) {
    const { create, all } = createRequire(import.meta.url)('mathjs') as typeof import('mathjs');
    mathjs = create(all, { number: 'number' });
  }
  return mathjs;
}

/** Relative tolerance of numeric equality. */
export const REL_TOL = 1e-6;
const PROBES = 6;
const CONSTANTS = new Set(['pi', 'e', 'i', 'Infinity']);

type Value =
  | { kind: 'scalar'; tex: string }
  | { kind: 'seq'; open: string; close: string; items: Value[] }
  | { kind: 'set'; items: Value[] }
  | { kind: 'matrix'; rows: Value[][] }
  | { kind: 'eq'; lhs: string; rhs: string };

/** Splits at top-level occurrences of `sep` (outside (), [], {}). */
function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] !== undefined && '{}'.includes(s[i + 1])) {
      depth += s[i + 1] === '{' ? 1 : -1;
      i++;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Index of the bracket closing the one at 0, or -1. */
function closingIndex(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if ('([{'.includes(s[i])) depth++;
    else if (')]}'.includes(s[i]) && --depth === 0) return i;
  }
  return -1;
}

function structure(s: string): Value {
  const mat = /^\\begin\{([pbvB]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$/.exec(s);
  if (mat) {
    const rows = mat[2].split('\\\\').filter((r) => r !== '');
    return { kind: 'matrix', rows: rows.map((r) => r.split('&').map(structure)) };
  }
  if (s.startsWith('\\{') && s.endsWith('\\}')) {
    return { kind: 'set', items: splitTop(s.slice(2, -2), ',').flatMap(plusMinus) };
  }
  const union = splitTop(s, '\\cup');
  if (union.length > 1) return { kind: 'set', items: union.map(structure) };
  if (/^[([]/.test(s) && /[)\]]$/.test(s) && closingIndex(s) === s.length - 1) {
    const items = splitTop(s.slice(1, -1), ',');
    if (items.length > 1) return { kind: 'seq', open: s[0], close: s[s.length - 1], items: items.map(structure) };
  }
  const list = splitTop(s, ',');
  if (list.length > 1) return { kind: 'set', items: list.flatMap(plusMinus) };
  const pm = expandPm(s);
  if (pm.length > 1) return { kind: 'set', items: pm.map(structure) };
  const eq = splitTop(s, '=');
  if (eq.length === 2) {
    if (/^[a-zA-Z]$/.test(eq[0])) return structure(eq[1]);
    return { kind: 'eq', lhs: eq[0], rhs: eq[1] };
  }
  return { kind: 'scalar', tex: s };
}

/** `a\pm b` → [a+b, a-b] (also \mp); anything else → [it]. */
function expandPm(s: string): string[] {
  const m = /\\(pm|mp)/.exec(s);
  if (!m) return [s];
  const [plus, minus] = m[1] === 'pm' ? ['+', '-'] : ['-', '+'];
  const head = s.slice(0, m.index);
  const tail = s.slice(m.index + m[0].length);
  return [...expandPm(`${head}${plus}${tail}`), ...expandPm(`${head}${minus}${tail}`)];
}

function plusMinus(s: string): Value[] {
  return expandPm(s).map(structure);
}

// --- scalars ---------------------------------------------------------------------------------

type Compiled = { node: MathNode; symbols: string[] };
const cache = new Map<string, Compiled | null>();

function compile(tex: string): Compiled | null {
  if (cache.has(tex)) return cache.get(tex)!;
  let out: Compiled | null = null;
  try {
    const node = math().parse(latexToMathjs(tex));
    const symbols = new Set<string>();
    node.traverse((n, _path, parent) => {
      const isCallee = parent !== null && (parent as { fn?: MathNode }).fn === n;
      if ((n as { isSymbolNode?: boolean }).isSymbolNode && !isCallee) {
        const name = (n as unknown as { name: string }).name;
        if (!CONSTANTS.has(name)) symbols.add(name);
      }
    });
    out = { node, symbols: [...symbols].sort() };
  } catch {
    out = null;
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(tex, out);
  return out;
}

type Num = { re: number; im: number };

function toNum(v: unknown): Num | null {
  if (typeof v === 'number') return { re: v, im: 0 };
  if (v && typeof v === 'object' && 're' in v && 'im' in v) return { re: (v as Num).re, im: (v as Num).im };
  if (typeof v === 'boolean') return null;
  return null;
}

function evaluate(c: Compiled, scope: Record<string, number>): Num | null {
  try {
    return toNum(c.node.evaluate({ ...scope }));
  } catch {
    return null;
  }
}

function close(a: Num, b: Num): boolean {
  if (![a.re, a.im, b.re, b.im].every(Number.isFinite)) {
    return a.re === b.re && a.im === b.im && !Number.isNaN(a.re) && !Number.isNaN(a.im);
  }
  // Integers are compared exactly (11111111101 is not 11111111100, however close).
  const nearInt = (x: number) => Math.abs(x - Math.round(x)) <= 1e-9 * Math.max(1, Math.abs(x));
  if ([a.re, a.im, b.re, b.im].every(nearInt))
    return Math.round(a.re) === Math.round(b.re) && Math.round(a.im) === Math.round(b.im);
  const diff = Math.hypot(a.re - b.re, a.im - b.im);
  const scale = Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
  return diff <= REL_TOL * scale + 1e-12;
}

// Seeded points in [0.5, 2.5), the same for every comparison (reproducible rewards).
const POINTS: number[][] = (() => {
  let s = 0x2545f491;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 + 0.5;
  return Array.from({ length: PROBES }, () => Array.from({ length: 16 }, next));
})();

function scalarEqual(a: string, b: string): boolean {
  if (a === b) return true;
  if (/^[a-zA-Z]{2,}$/.test(a) && /^[a-zA-Z]{2,}$/.test(b)) return a.toLowerCase() === b.toLowerCase();
  const ca = compile(a);
  const cb = compile(b);
  if (!ca || !cb) return false;
  const symbols = [...new Set([...ca.symbols, ...cb.symbols])].sort();
  if (symbols.length > 16) return false;
  const probes = symbols.length === 0 ? 1 : PROBES;
  for (let p = 0; p < probes; p++) {
    const scope = Object.fromEntries(symbols.map((name, k) => [name, POINTS[p][k]]));
    const va = evaluate(ca, scope);
    const vb = evaluate(cb, scope);
    if (!va || !vb || !close(va, vb)) return false;
  }
  return true;
}

/** lhs1 - rhs1 and lhs2 - rhs2 are proportional (the same equation). */
function equationEqual(a: { lhs: string; rhs: string }, b: { lhs: string; rhs: string }): boolean {
  const ca = compile(`${a.lhs}-(${a.rhs})`);
  const cb = compile(`${b.lhs}-(${b.rhs})`);
  if (!ca || !cb) return false;
  const symbols = [...new Set([...ca.symbols, ...cb.symbols])].sort();
  if (symbols.length > 16) return false;
  let ratio: number | null = null;
  for (let p = 0; p < PROBES; p++) {
    const scope = Object.fromEntries(symbols.map((name, k) => [name, POINTS[p][k]]));
    const va = evaluate(ca, scope);
    const vb = evaluate(cb, scope);
    if (!va || !vb || va.im !== 0 || vb.im !== 0 || vb.re === 0) return false;
    const r = va.re / vb.re;
    if (ratio === null) ratio = r;
    else if (!close({ re: r, im: 0 }, { re: ratio, im: 0 })) return false;
  }
  return ratio !== null && ratio !== 0;
}

function valuesEqual(a: Value, b: Value): boolean {
  if (a.kind === 'scalar' && b.kind === 'scalar') return scalarEqual(a.tex, b.tex);
  if (a.kind === 'eq' && b.kind === 'eq') return equationEqual(a, b);
  if (a.kind === 'seq' && b.kind === 'seq') {
    return (
      a.open === b.open &&
      a.close === b.close &&
      a.items.length === b.items.length &&
      a.items.every((x, i) => valuesEqual(x, b.items[i]))
    );
  }
  if (a.kind === 'set' && b.kind === 'set') {
    if (a.items.length !== b.items.length) return false;
    const used = new Array<boolean>(b.items.length).fill(false);
    return a.items.every((x) => {
      const j = b.items.findIndex((y, k) => !used[k] && valuesEqual(x, y));
      if (j < 0) return false;
      used[j] = true;
      return true;
    });
  }
  if (a.kind === 'matrix' && b.kind === 'matrix') {
    return (
      a.rows.length === b.rows.length &&
      a.rows.every((r, i) => r.length === b.rows[i].length && r.every((x, j) => valuesEqual(x, b.rows[i][j])))
    );
  }
  return false;
}

/**
 * True when `predicted` and `gold` (answer texts, without \boxed) are the same answer: equal after
 * normalisation, or structurally equal with numerically / symbolically equal parts. Sets, ±
 * and bare comma lists are unordered; tuples and intervals are ordered and keep their brackets.
 */
export function mathEqual(predicted: string, gold: string): boolean {
  const a = normalizeAnswer(predicted);
  const b = normalizeAnswer(gold);
  if (a === '' || b === '') return false;
  if (a === b) return true;
  return valuesEqual(structure(a), structure(b));
}
