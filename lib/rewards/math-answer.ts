// MATH final answers: find the last \boxed{…} / \fbox{…} and normalise its text (Hendrycks'
// MATH conventions: spacing commands, \left/\right, \dfrac/\tfrac, \text{} and units, degrees,
// percent, dollars, thousands separators, trailing punctuation).

/** Contents of the last `\boxed{…}` or `\fbox{…}` (nested braces allowed; also `\boxed 5`), or null. */
export function lastBoxed(text: string): string | null {
  const idx = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (idx < 0) return null;
  let i = idx + (text.startsWith('\\boxed', idx) ? 6 : 5);
  if (text[i] === ' ') {
    // `\boxed 5`: the argument runs to the next `$` or end of line.
    const m = /^ +([^$\n]+)/.exec(text.slice(i));
    return m ? m[1].trim() : null;
  }
  while (text[i] === ' ') i++;
  if (text[i] !== '{') return null;
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') {
      j++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(i + 1, j);
  }
  return null;
}

// Units that MATH answers carry in \text{} / \mbox{} or as trailing words.
const UNITS = [
  'degrees',
  'degree',
  'deg',
  'radians',
  'radian',
  'cm',
  'centimeters',
  'centimeter',
  'mm',
  'km',
  'm',
  'meters',
  'meter',
  'inches',
  'inch',
  'in',
  'feet',
  'foot',
  'ft',
  'yards',
  'yard',
  'miles',
  'mile',
  'mph',
  'units',
  'unit',
  'square units',
  'sq units',
  'cents',
  'cent',
  'dollars',
  'dollar',
  'hours',
  'hour',
  'hrs',
  'minutes',
  'minute',
  'min',
  'seconds',
  'second',
  'sec',
  'days',
  'day',
  'weeks',
  'week',
  'years',
  'year',
  'kg',
  'grams',
  'gram',
  'g',
  'pounds',
  'pound',
  'lbs',
  'ounces',
  'ounce',
  'liters',
  'liter',
  'gallons',
  'gallon',
  'people',
  'students',
  'ways',
  'points',
  'percent',
];
const UNIT_WORD = new RegExp(`^(?:${UNITS.sort((a, b) => b.length - a.length).join('|')})$`, 'i');

function unwrapText(s: string): string {
  // \text{…}, \textbf{…}, \mbox{…}, \mathrm{…}: a unit (with ^2/^3) is dropped, anything else kept.
  return s.replace(
    /\\(?:text|textbf|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}(\^\{?[23]\}?)?/g,
    (_, inner: string, pow) => {
      const word = inner.trim();
      if (UNIT_WORD.test(word) && word !== '') return '';
      return pow ? `${inner}${pow}` : inner;
    },
  );
}

/**
 * Normalises a MATH answer's text for comparison; exact equality of two normalised answers means
 * equal answers. Whitespace is removed.
 */
export function normalizeAnswer(answer: string): string {
  let s = answer.trim();
  s = s.replace(/^\$+|\$+$/g, '');
  s = s.replace(/\\(?:displaystyle|left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![a-zA-Z])/g, '');
  s = s.replace(/(?<!\\)\\[!,;:> ]|~/g, ' ');
  s = s.replace(/\\[dt]frac/g, '\\frac');
  // Unicode maths that models emit
  s = s
    .replace(/π/g, '\\pi ')
    .replace(/∞/g, '\\infty ')
    .replace(/[−–]/g, '-')
    .replace(/×/g, '\\times ')
    .replace(/·/g, '\\cdot ')
    .replace(/√(\d+|\{)/g, (_, x: string) => (x === '{' ? '\\sqrt{' : `\\sqrt{${x}}`));
  s = s.replace(/\\\$/g, '').replace(/\$/g, '');
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|°|\\circ/g, '');
  s = s.replace(/\\%|%/g, '');
  s = unwrapText(s);
  // trailing unit words after a number or closing bracket ("5 cm", "12 square units")
  for (;;) {
    const m = /^(.*?[\d)}\]])\s*((?:square |sq )?[a-zA-Z]+)(\^[23])?$/.exec(s.trim());
    if (!m || !UNIT_WORD.test(m[2])) break;
    s = m[1];
  }
  // drop whitespace, except one space that ends a command name before a letter (\cot x)
  s = s
    // NUL marks a space to keep (a command's separator) while the other whitespace goes
    .replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])/g, '$1\u0000')
    .replace(/\s+/g, '')
    // eslint-disable-next-line no-control-regex -- the NUL marker set two lines above
    .replace(/\u0000/g, ' ');
  s = s.replace(/[.,;:]+$/, '').replace(/\\\.$/, '');
  // x = 5, x\in[2,3], y=2x+3 (one variable on the left, one `=`): keep the right-hand side.
  s = s.replace(/^[a-zA-Z]\\in(?=[[(])/, '');
  s = s.replace(/^[a-zA-Z]=(?!.*=)/, '');
  // thousands separators (only when the whole answer is a grouped number)
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  // \text{(B)} / (B): a choice letter
  const choice = /^\(([A-Z])\)$/.exec(s);
  if (choice) s = choice[1];
  s = s.replace(/_\{(\w+)\}/g, '_$1').replace(/\^\{(\w)\}/g, '^$1');
  s = s.replace(/\\frac(\d)(\d)(?!\d)/g, '\\frac{$1}{$2}');
  s = s.replace(/\\sqrt(\d+)/g, '\\sqrt{$1}');
  s = s.replace(/^0+(?=\d)/, '').replace(/^\./, '0.');
  return s;
}
