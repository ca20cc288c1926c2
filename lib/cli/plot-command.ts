// `warmstart plot`: PNG curves of one or more runs' metrics.
import { join } from 'node:path';

import { type Command } from 'commander';

interface PlotFlags {
  out?: string;
  title?: string;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('PNG curves (reward, accuracy, completion length, loss) of one or more runs')
    .argument('<run-dirs...>', 'run folders holding metrics.jsonl')
    .option('--out <file>', 'PNG file (default: <first run>/curves.png)')
    .option('--title <text>', 'title')
    .action(async (runDirs: string[], o: PlotFlags) => {
      const { plotRuns } = await import('../train/plot.js');
      const out = o.out ?? join(runDirs[0], 'curves.png');
      await plotRuns(runDirs, out, { title: o.title });
      console.log(`wrote ${out}`);
    });
}
