// scripts/check-demo-table.mjs (run by CI against a fresh demo): passes when README's table and
// its quoted figures are the demo's, fails naming the line or figure when they are not.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import test from 'ava';

const script = resolve(import.meta.dirname, '../../scripts/check-demo-table.mjs');
const table = [
  '| model | K&K 2-person pass@1 % (k=4) | mean reward | completion tokens |',
  '| --- | --- | --- | --- |',
  '| base | 0.0 ± 0.0 | -2.00 | 135 |',
  '| warmup | 12.3 ± 1.3 | -0.19 | 83 |',
].join('\n');
const readme = (body: string, prose = 'warmup reaches 12.3 ± 1.3 %.') =>
  `# x\n\n## Demo\n\n<!-- demo-table -->\n${body}\n<!-- /demo-table -->\n\n${prose}\n\n## Next\n\n1.0 ± 9.9 elsewhere\n`;

function check(readmeText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'demo-table-'));
  writeFileSync(join(dir, 'README.md'), readmeText);
  writeFileSync(join(dir, 'demo.json'), JSON.stringify({ table, rows: [{}, {}] }));
  const r = spawnSync(
    process.execPath,
    [script, '--json', join(dir, 'demo.json'), '--readme', join(dir, 'README.md')],
    {
      encoding: 'utf8',
    },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

test("check-demo-table: passes when README's table is the demo's", (t) => {
  const r = check(readme(table));
  t.is(r.status, 0, r.out);
  t.regex(r.out, /matches a fresh demo run \(2 rows\)/);
});

test('check-demo-table: a changed cell fails, naming the line and both versions', (t) => {
  const r = check(readme(table.replace('12.3 ± 1.3', '11.5 ± 2.9'), ''));
  t.is(r.status, 1);
  t.regex(r.out, /table line 4:\n\s+README: \| warmup \| 11\.5 ± 2\.9 .*\n\s+demo:\s+\| warmup \| 12\.3 ± 1\.3/);
});

test('check-demo-table: a missing row, a stale quoted figure or no table block fails', (t) => {
  const short = check(readme(table.split('\n').slice(0, 3).join('\n')));
  t.is(short.status, 1);
  t.regex(short.out, /table line 4:\n\s+README: \(none\)/);
  const prose = check(readme(table, 'RLVR gave 8.8 ± 2.2 %.'));
  t.is(prose.status, 1);
  t.regex(prose.out, /quotes 8\.8 ± 2\.2, not in the demo's table/);
  const none = check('# x\n\n## Demo\n\nno table\n');
  t.is(none.status, 1);
  t.regex(none.out, /no <!-- demo-table -->/);
});
