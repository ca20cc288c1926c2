// Fails when a source comment cites a design document section that does not exist. A citation is
// `ARCHITECTURE.md "Section title"` (or `docs/ARCHITECTURE.md "…"`); the title must be a `## `
// heading of docs/ARCHITECTURE.md. `DESIGN.md` (the founders' map outside the repository) may not
// be cited from source at all. Usage: node scripts/check-doc-refs.mjs   (run by scripts/lint.sh)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const doc = 'docs/ARCHITECTURE.md';
const sections = new Set(
  readFileSync(doc, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3).trim()),
);
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => /^(lib|native|bench|test|scripts|bin)\/.*\.(ts|js|mjs|cjs|cc|h|cu|cuh|py|sh)$/.test(f));
const problems = [];
let cited = 0;
for (const f of files) {
  if (f === 'scripts/check-doc-refs.mjs') continue;
  const lines = readFileSync(f, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const where = `${f}:${i + 1}`;
    if (/DESIGN\.md/.test(line)) problems.push(`${where}: cites DESIGN.md; cite ${doc} "Section" instead`);
    // a citation may wrap: the title is looked for on this line and the next
    const text = line + ' ' + (lines[i + 1] ?? '').replace(/^\s*(\/\/|#|\*)\s?/, '');
    for (const m of line.matchAll(/ARCHITECTURE\.md/g)) {
      const after = text.slice(m.index + m[0].length);
      const title = /^\s*"([^"]+)"/.exec(after)?.[1]?.replace(/\s+/g, ' ');
      if (!title) problems.push(`${where}: cites ${doc} without a "Section title"`);
      else if (!sections.has(title)) problems.push(`${where}: ${doc} has no section "${title}"`);
      else cited++;
    }
  });
}
if (problems.length) {
  console.error(`check-doc-refs: ${problems.length} bad citation(s) (sections: ${[...sections].join(', ')})`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-doc-refs: ${cited} citations of ${doc}, all to existing sections`);
