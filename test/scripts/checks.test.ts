// The lint checks that keep the architecture honest: they pass on this tree and fail, naming the
// place, on a tree that breaks them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import test from 'ava';

const root = resolve(import.meta.dirname, '../..');
const script = (name: string) => join(root, 'scripts', name);

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'checks-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

function run(name: string, args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [script(name), ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('check-folder-cycles: clean on lib/; names both imports of a folder cycle', (t) => {
  t.is(run('check-folder-cycles.mjs', []).status, 0);
  const dir = tree({
    'lib/a/x.ts': "import { y } from '../b/y.js';\nexport const x = y;\n",
    'lib/b/y.ts': "export const y = 1;\nexport const later = () => import('../a/x.js');\n",
    'lib/index.ts': "export * from './a/x.js';\n",
  });
  const r = run('check-folder-cycles.mjs', [join(dir, 'lib')]);
  t.is(r.status, 1);
  t.regex(r.out, /cycle: a -> b -> a/);
  t.regex(r.out, /a -> b: lib\/a\/x\.ts:1/);
  t.regex(r.out, /b -> a: lib\/b\/y\.ts:2/);
});

// Spelled in pieces so that this file is not itself a citation.
const ARCH = 'ARCHITECTURE' + '.md';
const DESIGN = 'DESIGN' + '.md';

test('check-doc-refs: clean here; a missing section or a founders-map citation fails', (t) => {
  t.is(run('check-doc-refs.mjs', []).status, 0);
  const dir = tree({
    [`docs/${ARCH}`]: '# A\n\n## Packed batches\n\ntext\n',
    'lib/ok.ts': `// the contract (docs/${ARCH}\n// "Packed batches")\n`,
    'lib/bad.ts': `// see ${ARCH} "Batches are packed"\n`,
    'native/old.h': `// as in ${DESIGN}\n`,
  });
  spawnSync('git', ['init', '-q'], { cwd: dir });
  const r = run('check-doc-refs.mjs', [], dir);
  t.is(r.status, 1);
  t.regex(r.out, /2 bad citation/);
  t.true(r.out.includes(`lib/bad.ts:1: docs/${ARCH} has no section "Batches are packed"`), r.out);
  t.true(r.out.includes(`native/old.h:1: cites ${DESIGN}`), r.out);
});
