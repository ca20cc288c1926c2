// README.md cannot drift from the code:
// - every TypeScript block is type-checked with tsc --strict against lib/index.ts (as the package
//   `warmstart`), then run: its model folder and traces file replaced by a tiny model and symbolic
//   traces of published K&K puzzles, the paper presets cut down (test/fixtures/readme/warmstart.ts);
// - every flag the Commands table names for a command is one of that command's flags, and every
//   flag named anywhere in README belongs to some command.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import test from 'ava';
import type { Command } from 'commander';
import ts from 'typescript';

import { buildProgram } from '../lib/cli/main.js';
import { buildPrompt, loadPuzzles, symbolicTrace } from '../lib/kk/index.js';
import { tinyKK } from './train/helpers.js';

const ROOT = new URL('../', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const KK3 = join(ROOT, '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet');

const blocks = [...README.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

let dir: string;
let files: string[];
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ws-readme-'));
  files = blocks.map((code, i) => {
    const f = join(dir, `block-${i}.mts`);
    writeFileSync(f, code);
    return f;
  });
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('README has TypeScript blocks, each importing from warmstart', (t) => {
  t.true(blocks.length >= 2, `${blocks.length} blocks`);
  for (const b of blocks) t.regex(b, /from 'warmstart';/);
});

test('every TypeScript block of README type-checks with --strict against the library', (t) => {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
    paths: { warmstart: [join(ROOT, 'lib/index.ts')] },
  });
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .map((d) => {
      const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    })
    .filter((m) => m.includes(dir)); // the library's own errors are the typecheck's business
  t.deepEqual(diagnostics, []);
});

test.serial('every TypeScript block of README runs, on a tiny model and published K&K puzzles', async (t) => {
  const kk = await tinyKK(join(dir, 'model'), 40);
  const puzzles = (await loadPuzzles(KK3)).slice(0, 24);
  const traces = join(dir, 'traces.jsonl');
  writeFileSync(
    traces,
    puzzles.map((p) => JSON.stringify({ prompt: buildPrompt(p), completion: symbolicTrace(p) })).join('\n') + '\n',
  );
  // README's placeholders -> the test's files; each must still be in README
  const substitutes: Record<string, string> = {
    "'models/Qwen2.5-1.5B'": JSON.stringify(kk.dir),
    "'kk-traces.jsonl'": JSON.stringify(traces),
    "from 'warmstart'": `from ${JSON.stringify(pathToFileURL(join(ROOT, 'test/fixtures/readme/warmstart.ts')).href)}`,
  };
  for (const literal of Object.keys(substitutes))
    t.true(
      blocks.some((b) => b.includes(literal)),
      `README no longer has ${literal}`,
    );
  const cwd = process.cwd();
  const log = console.log;
  const printed: string[] = [];
  process.chdir(dir); // the blocks' relative outputs (runs/, eval.jsonl) land in the temporary folder
  console.log = (...xs: unknown[]) => printed.push(xs.map(String).join(' '));
  try {
    for (let i = 0; i < blocks.length; i++) {
      let code = blocks[i];
      for (const [from, to] of Object.entries(substitutes)) code = code.split(from).join(to);
      const f = join(dir, `run-${i}.mts`);
      writeFileSync(f, code);
      await import(pathToFileURL(f).href);
    }
  } finally {
    console.log = log;
    process.chdir(cwd);
  }
  // what the blocks print: the data counts, the losses, pass@1 and a sampled completion
  t.true(
    printed.some((l) => /^24 records, \d+ examples kept, \d+ longer than 4096 dropped$/.test(l)),
    printed.join('\n'),
  );
  t.true(printed.some((l) => /^\d+ \d+\.\d+$/.test(l)));
  t.true(printed.some((l) => /^\d+(\.\d+)? \d+(\.\d+)? \d+(\.\d+)?$/.test(l)));
  t.true(printed.some((l) => / (stop|length)$/.test(l)));
});

// ---- the Commands table ---------------------------------------------------------------------------

function subcommand(c: Command, name: string): Command | undefined {
  return c.commands.find((x) => x.name() === name);
}
const flagsOf = (c: Command) => new Set(c.options.filter((o) => !o.hidden).map((o) => o.long));

test('every flag the Commands table names for a command is one of its flags', (t) => {
  const program = buildProgram();
  const table = README.slice(README.indexOf('## Commands'), README.indexOf('### Micro-batch size'));
  const rows = table.split('\n').filter((l) => l.startsWith('| `warmstart '));
  t.true(rows.length >= 14, `${rows.length} rows`);
  for (const row of rows) {
    const words = /^\| `warmstart ([^`]*)`/.exec(row)![1].split(/\s+/);
    let cmd: Command = program;
    for (const w of words) {
      const sub = subcommand(cmd, w);
      if (!sub) break;
      cmd = sub;
    }
    t.not(cmd, program, row.slice(0, 60));
    // sweep passes its flags on to sft or grpo
    const passedTo = cmd.name() === 'sweep' ? ['sft', 'grpo'].map((n) => subcommand(program, n)!) : [];
    const known = new Set([...flagsOf(cmd), ...passedTo.flatMap((c) => [...flagsOf(c)]), '--help']);
    const named = [...new Set(row.match(/--[a-z][a-z0-9-]*/g) ?? [])];
    const unknown = named.filter((f) => !known.has(f));
    t.deepEqual(unknown, [], `warmstart ${cmd.name()}`);
  }
});

test('every flag named anywhere in README belongs to some command', (t) => {
  // flags of other tools that README names: node, tsc, npm, bench/gpu/run.sh
  const all = new Set<string>([
    '--help',
    '--version',
    '--import',
    '--loader',
    '--strict',
    '--dry-run',
    '--build-from-source',
  ]);
  const walk = (c: Command) => {
    for (const f of flagsOf(c)) if (f) all.add(f);
    c.commands.forEach(walk);
  };
  walk(buildProgram());
  const named = [...new Set(README.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [])];
  t.deepEqual(
    named.filter((f) => !all.has(f)),
    [],
  );
});
