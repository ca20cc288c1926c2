// Checks README's demo table against a fresh `warmstart demo --json` (CI runs it: .ci/run).
//
//   node scripts/check-demo-table.mjs [--json FILE] [--readme FILE]
//
// Without --json it runs the demo (bin/warmstart.js, so dist/ must be built) in a temporary folder.
// README's table is the block between `<!-- demo-table -->` and `<!-- /demo-table -->`; it must
// equal the demo's table line for line, and every "x ± y" figure in README's Demo section must be
// a cell of that table (so the prose cannot quote a stale figure). Exit 1 with the differences.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { json: { type: 'string' }, readme: { type: 'string', default: join(root, 'README.md') } },
});

/** README's table and the ± figures of its Demo section, or the reason they cannot be read. */
export function readmeDemo(text) {
  const begin = text.indexOf('<!-- demo-table -->');
  const end = text.indexOf('<!-- /demo-table -->');
  if (begin < 0 || end < begin) throw new Error('README: no <!-- demo-table --> ... <!-- /demo-table --> block');
  const table = text
    .slice(begin + '<!-- demo-table -->'.length, end)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const section = text.slice(text.indexOf('\n## Demo'));
  const next = section.indexOf('\n## ', 1);
  const figures = [...(next > 0 ? section.slice(0, next) : section).matchAll(/\d+\.\d+ ± \d+\.\d+/g)].map((m) => m[0]);
  return { table, figures };
}

/** The differences between README and the demo's result (empty: they agree). */
export function compare(readmeText, result) {
  const { table, figures } = readmeDemo(readmeText);
  const fresh = result.table.split('\n').map((l) => l.trim());
  const problems = [];
  for (let i = 0; i < Math.max(table.length, fresh.length); i++)
    if (table[i] !== fresh[i])
      problems.push(`table line ${i + 1}:\n  README: ${table[i] ?? '(none)'}\n  demo:   ${fresh[i] ?? '(none)'}`);
  const cells = new Set(fresh.flatMap((l) => l.split('|').map((c) => c.trim())));
  for (const f of figures)
    if (!cells.has(f)) problems.push(`README's Demo section quotes ${f}, not in the demo's table`);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let json;
  if (opts.json) json = readFileSync(opts.json, 'utf8');
  else {
    const out = mkdtempSync(join(tmpdir(), 'ws-demo-check-'));
    try {
      json = execFileSync(process.execPath, [join(root, 'bin', 'warmstart.js'), 'demo', '--json', '--out', out], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 << 20,
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  const result = JSON.parse(json);
  let problems;
  try {
    problems = compare(readFileSync(opts.readme, 'utf8'), result);
  } catch (e) {
    console.error(`${opts.readme}: ${e.message}`);
    process.exit(1);
  }
  if (problems.length) {
    console.error(`README's demo table is stale (${opts.readme}):\n${problems.join('\n')}`);
    console.error(`\nThe demo printed:\n${result.table}`);
    process.exit(1);
  }
  console.log(`README's demo table matches a fresh demo run (${result.rows.length} rows)`);
}
