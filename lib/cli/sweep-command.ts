// `warmstart sweep sft|grpo ARGS...`: the command once per point of a grid over its flags; a
// swept flag lists its values with commas (`--lr 1e-6,3e-6,1e-5`; several swept flags give their
// product). --out names the sweep's folder: each run writes OUT/<flag=value,...>/model and .../run,
// and the sweep writes OUT/sweep.md, OUT/sweep.json and OUT/curves.png (every run in one plot).
// Running the same sweep again skips finished runs and resumes stopped ones; Ctrl-C stops the run
// in progress (with its checkpoint) and the sweep after it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

const COMMANDS = ['sft', 'grpo'];

export function registerSweep(program: Command, runCommand: (argv: string[]) => Promise<void>): void {
  program
    .command('sweep')
    .description(
      'sibling runs of sft or grpo over a grid of flag values (e.g. --lr 1e-6,3e-6,1e-5), with one table and one plot',
    )
    .argument('<command>', 'sft | grpo')
    .argument('[args...]', "the command's flags; --out is the sweep's folder")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (command: string, args: string[]) => {
      if (!COMMANDS.includes(command)) throw new RangeError(`sweep: expected sft or grpo, got "${command}"`);
      const { expandGrid, sweepPaths, sweepRows, sweepMarkdown } = await import('../train/sweep.js');
      const { plotRuns } = await import('../train/plot.js');
      const { writeFileAtomic } = await import('../util/atomic.js');
      const outAt = args.indexOf('--out');
      if (outAt < 0 || args[outAt + 1] === undefined)
        throw new RangeError("sweep: --out DIR (the sweep's folder) is required");
      if (args.includes('--run-dir'))
        throw new RangeError('sweep: --run-dir is set per run (OUT/<point>/run); leave it out');
      const dir = args[outAt + 1];
      const rest = [...args.slice(0, outAt), ...args.slice(outAt + 2)];
      const { axes, points } = expandGrid(rest);
      if (points.length === 0)
        throw new RangeError('sweep: no flag lists several values; e.g. --lr 1e-6,3e-6,1e-5 (comma-separated)');
      mkdirSync(dir, { recursive: true });
      console.error(`sweep: ${points.length} ${command} runs in ${dir}: ${points.map((p) => p.name).join('; ')}`);
      const status = new Map<string, 'done' | 'stopped' | 'failed' | 'not run'>();
      for (const p of points) {
        const { out, runDir } = sweepPaths(dir, p);
        if (existsSync(out)) {
          status.set(p.name, 'done');
          console.error(`sweep: ${p.name}: finished before, skipped`);
          continue;
        }
        const resume = existsSync(join(runDir, 'latest.json')) ? ['--resume'] : [];
        console.error(`sweep: ${p.name}${resume.length ? ' (resumed)' : ''}`);
        process.exitCode = 0;
        await runCommand(['node', 'warmstart', command, ...p.args, '--out', out, '--run-dir', runDir, ...resume]);
        const failed = Number(process.exitCode ?? 0) !== 0;
        status.set(p.name, failed ? 'failed' : existsSync(out) ? 'done' : 'stopped');
        if (status.get(p.name) !== 'done') break; // a failed or stopped run ends the sweep; run it again to go on
      }
      const rows = sweepRows(dir, points, (p) => status.get(p.name) ?? 'not run');
      const md = sweepMarkdown(axes, rows);
      writeFileAtomic(join(dir, 'sweep.md'), md);
      writeFileAtomic(join(dir, 'sweep.json'), JSON.stringify({ command, axes, runs: rows }, null, 2) + '\n');
      const ran = points.filter((p) => existsSync(join(sweepPaths(dir, p).runDir, 'metrics.jsonl')));
      let plot = '';
      if (ran.length) {
        try {
          await plotRuns(
            ran.map((p) => sweepPaths(dir, p).runDir),
            join(dir, 'curves.png'),
            { names: ran.map((p) => p.name), title: `${command} sweep` },
          );
          plot = `, ${join(dir, 'curves.png')}`;
        } catch (e) {
          console.error(`sweep: no plot (${(e as Error).message})`);
        }
      }
      console.log(md);
      console.log(`table in ${join(dir, 'sweep.md')} and ${join(dir, 'sweep.json')}${plot}`);
      const bad = rows.filter((r) => r.status !== 'done');
      if (bad.length) {
        process.exitCode = 1;
        console.error(
          `sweep: ${bad.map((r) => `${r.name} ${r.status}`).join(', ')}; run the same command again to go on`,
        );
      }
    });
}
