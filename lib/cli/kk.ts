// `warmstart kk ...`: generate Knights & Knaves puzzles, write teacher traces, check puzzle files.
// Teachers come from the registry in lib/kk/teacher.ts; a teacher module registers itself when
// imported, and its options are added to `kk traces`.
import { Option, type Command } from 'commander';

import {
  checkPuzzles,
  generatePuzzles,
  loadPuzzles,
  readJsonlRows,
  scoreCompletions,
  teacherSpec,
  teacherSpecs,
  writeJsonl,
  writePuzzles,
  writeTraces,
} from '../kk/index.js';
import '../teachers/openai.js'; // registers the `openai` teacher
import { parseInteger } from './flags.js';

function histogram(sizes: Map<number, number>): string {
  return [...sizes].map(([n, c]) => `${n} people: ${c}`).join(', ');
}

export function registerKk(program: Command): void {
  const kk = program.command('kk').description('Knights & Knaves puzzles: generate, write teacher traces, check');

  kk.command('generate')
    .description('generate puzzles with exactly one solution, in the published K&K format (JSONL)')
    .requiredOption('--people <sizes>', 'people per puzzle: N, A-B or A,B,C', '3-7')
    .requiredOption('--count <n>', 'puzzles in all, spread evenly over the sizes')
    .requiredOption('--out <file>', 'output file (.jsonl)')
    .option('--seed <n>', 'random seed', '0')
    .option('--depth <n>', 'statement nesting depth (2 = the published data)', '2')
    .option('--width <n>', 'most operands of an and/or', '2')
    .option('--roles <pair>', 'role words with articles, truth-teller first', 'a knight,a knave')
    .option('--dedupe <rule>', "duplicates: 'puzzle' (same people, same statements) or 'statements'", 'puzzle')
    .option('--exclude <file>', 'a puzzle file whose puzzles must not be repeated (e.g. a test set)')
    .action(async (o: Record<string, string>) => {
      const roles = o.roles.split(',').map((s) => s.trim());
      if (roles.length !== 2)
        throw new RangeError(`--roles: expected two comma-separated phrases like "a knight,a knave", got "${o.roles}"`);
      const exclude = o.exclude ? await loadPuzzles(o.exclude) : undefined;
      const puzzles = generatePuzzles({
        people: o.people,
        count: parseInteger('--count', 0)(o.count),
        seed: parseInteger('--seed', -(2 ** 31))(o.seed),
        depth: parseInteger('--depth', 2)(o.depth),
        width: parseInteger('--width', 2)(o.width),
        roles: roles as [string, string],
        dedupe: o.dedupe as 'puzzle' | 'statements',
        exclude,
      });
      await writePuzzles(o.out, puzzles);
      const sizes = new Map<number, number>();
      for (const p of puzzles) sizes.set(p.names.length, (sizes.get(p.names.length) ?? 0) + 1);
      console.log(`wrote ${puzzles.length} puzzles to ${o.out} (${histogram(sizes)})`);
    });

  const traces = kk
    .command('traces')
    .description('write a teacher reasoning trace for every puzzle of a file (SFT examples, JSONL)')
    .requiredOption(
      '--teacher <name>',
      `who writes the traces: ${teacherSpecs()
        .map((s) => `${s.name} (${s.description})`)
        .join('; ')}`,
      'symbolic',
    )
    .requiredOption('--in <file>', 'puzzles (.parquet, .jsonl or .json)')
    .requiredOption('--out <file>', 'output file (.jsonl): each puzzle record with prompt, completion and teacher')
    .option('--style <style>', "'raw' (prompt ending in \"Assistant: <think>\") or 'chat' (messages)", 'raw')
    .option('--limit <n>', 'only the first n puzzles');
  const seen = new Set(['--teacher', '--in', '--out', '--style', '--limit']);
  for (const spec of teacherSpecs()) {
    for (const opt of spec.options ?? []) {
      const long = opt.flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
      if (seen.has(long)) continue;
      seen.add(long);
      const option = new Option(opt.flags, `[${spec.name}] ${opt.description}`).default(opt.default);
      traces.addOption(opt.hidden ? option.hideHelp() : option);
    }
  }
  traces.action(async (o: Record<string, string>) => {
    const spec = teacherSpec(o.teacher);
    let puzzles = await loadPuzzles(o.in);
    if (o.limit !== undefined) puzzles = puzzles.slice(0, parseInteger('--limit', 0)(o.limit));
    const teacher = await spec.create(o);
    let last = Date.now();
    const onProgress = (done: number, total: number) => {
      if (process.stderr.isTTY && (Date.now() - last > 1000 || done === total)) {
        last = Date.now();
        process.stderr.write(`\r${done}/${total} traces`);
        if (done === total) process.stderr.write('\n');
      }
    };
    if (teacher.writeFile) {
      const r = await teacher.writeFile(puzzles, o.out, { style: o.style as 'raw' | 'chat', onProgress });
      const rejected = r.rejected ? `, ${r.rejected} of them below the reward bar into the rejected file` : '';
      console.log(
        `wrote ${r.written} ${spec.name} traces to ${o.out} (${r.skipped} already there, ${r.total} in all${rejected})`,
      );
      return;
    }
    const records = await writeTraces(teacher, puzzles, {
      style: o.style as 'raw' | 'chat',
      onProgress,
    });
    await writeJsonl(o.out, records);
    console.log(`wrote ${records.length} ${spec.name} traces to ${o.out}`);
  });

  kk.command('check')
    .description(
      're-solve every puzzle of a file; report invalid or non-unique ones, the size histogram, and how trace completions score',
    )
    .argument('<file>', 'puzzles (.parquet, .jsonl or .json)')
    .action(async (file: string) => {
      const puzzles = await loadPuzzles(file);
      const report = checkPuzzles(puzzles);
      console.log(
        `${file}: ${report.total} puzzles, ${report.valid} with exactly one solution equal to the stored one`,
      );
      console.log(`sizes: ${histogram(report.sizes)}`);
      const counts = new Map<string, number>();
      for (const p of report.problems) counts.set(p.problem, (counts.get(p.problem) ?? 0) + 1);
      for (const [problem, c] of counts) console.log(`${problem}: ${c}`);
      for (const p of report.problems.slice(0, 20))
        console.log(`  puzzle ${p.index ?? p.position}: ${p.problem} (${p.detail})`);
      if (report.problems.length > 20) console.log(`  ... and ${report.problems.length - 20} more`);
      if (/\.(jsonl|ndjson)$/i.test(file)) {
        const rows = await readJsonlRows(file);
        const scores = scoreCompletions(
          puzzles,
          rows.map(({ row }) => (row as { completion?: unknown }).completion),
        );
        if (scores.scored)
          console.log(
            `completions: ${scores.scored}, paper reward ${[...scores.rewards].map(([r, c]) => `${r > 0 ? '+' : ''}${r}: ${c}`).join(', ')}`,
          );
      }
      if (report.valid < report.total) process.exitCode = 1;
    });
}
