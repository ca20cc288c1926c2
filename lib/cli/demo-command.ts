// `warmstart demo`: the whole recipe on a tiny model on the CPU in minutes, no download.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Command } from 'commander';

import { parseInteger } from './flags.js';
import { progressReporter, stopAfterStep } from './run-output.js';

interface DemoFlags {
  model?: string;
  out: string;
  seed: number;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole recipe on a tiny model on the CPU in minutes, no download: K&K warmup, then Dr. GRPO on a held-out task',
    )
    .option('--model <dir>', 'run the same recipe from a real model folder instead of a tiny random one')
    .option('--out <dir>', 'working folder', 'warmstart-demo')
    .option('--seed <n>', 'seed', parseInteger('--seed'), 0)
    .option('--json', 'print the result as one JSON object (the table, every row, the times) instead of the table')
    .action(async (o: DemoFlags) => {
      const { demo } = await import('../demo.js');
      if (o.model && !existsSync(o.model)) throw new Error(`--model ${o.model}: no such folder`);
      const rep = progressReporter();
      const stop = stopAfterStep(rep);
      try {
        const r = await demo({
          out: resolve(o.out),
          model: o.model,
          seed: o.seed,
          signal: stop.signal,
          log: (m) => rep.log(m),
          progress: (label, done, total, fields) => rep.update(label, done, total, fields),
        });
        rep.finish();
        if (o.json) {
          const rows = r.rows.map((row) => ({ model: row.model, ...row.eval }));
          const { table, seconds, cpuSeconds, phases, png } = r;
          console.log(JSON.stringify({ table, rows, seed: o.seed, png, seconds, cpuSeconds, phases }, null, 2));
          return;
        }
        console.log(
          `\n${r.table}\n\ncurves: ${r.png}\nwall time: ${r.seconds.toFixed(0)} s, CPU time ${r.cpuSeconds.toFixed(0)} s (${Object.entries(
            r.phases,
          )
            .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
            .join(', ')})`,
        );
      } finally {
        stop.dispose();
      }
    });
}
