// Fails when the folders of lib/ import each other in a cycle (lib/a → lib/b → … → lib/a),
// counting static, type-only and dynamic imports. ESLint's import-x/no-cycle sees cycles between
// modules only; this sees the folder graph, so a layering like train ↔ eval cannot come back.
// Usage: node scripts/check-folder-cycles.mjs [LIB_DIR]   (run by scripts/lint.sh)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const lib = resolve(process.argv[2] ?? 'lib');
const files = readdirSync(lib, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts'));
const folderOf = (abs) => relative(lib, abs).split(sep)[0];
const edges = new Map(); // folder -> Map(folder -> first file:line that imports it)
const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;
for (const f of files) {
  const abs = join(lib, f);
  if (!relative(lib, abs).includes(sep)) continue; // lib/index.ts, lib/demo.ts sit above every folder
  const text = readFileSync(abs, 'utf8');
  for (const m of text.matchAll(spec)) {
    const target = resolve(dirname(abs), m[1]);
    if (relative(lib, target).startsWith('..') || !relative(lib, target).includes(sep)) continue;
    const [from, to] = [folderOf(abs), folderOf(target)];
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const line = text.slice(0, m.index).split('\n').length;
    if (!edges.get(from).has(to)) edges.get(from).set(to, `lib/${f}:${line}`);
  }
}
// Depth-first search for a back edge; report the cycle with one importing line per step.
const state = new Map(); // 1: on the stack, 2: done
const stack = [];
let cycle = null;
function visit(n) {
  state.set(n, 1);
  stack.push(n);
  for (const m of edges.get(n)?.keys() ?? []) {
    if (cycle) return;
    if (state.get(m) === 1) cycle = [...stack.slice(stack.indexOf(m)), m];
    else if (!state.has(m)) visit(m);
  }
  stack.pop();
  state.set(n, 2);
}
for (const n of [...edges.keys()].sort()) if (!state.has(n) && !cycle) visit(n);
if (cycle) {
  console.error(`check-folder-cycles: the folders of lib/ import each other in a cycle: ${cycle.join(' -> ')}`);
  for (let i = 0; i + 1 < cycle.length; i++)
    console.error(`  ${cycle[i]} -> ${cycle[i + 1]}: ${edges.get(cycle[i]).get(cycle[i + 1])}`);
  process.exit(1);
}
console.log(
  `check-folder-cycles: no cycle between the ${new Set(files.filter((f) => f.includes(sep)).map((f) => f.split(sep)[0])).size} folders of lib/`,
);
