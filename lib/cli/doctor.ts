// `warmstart doctor`: what this installation can run (Node, the addon it loaded, threads, BLAS).
import type { Command } from 'commander';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show which engine build loaded and what it can use')
    .action(async () => {
      const { engineInfo } = await import('../engine/addon.js');
      const info = engineInfo();
      console.log(`node        ${process.version} (${process.platform}-${process.arch})`);
      for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(11)} ${String(v)}`);
    });
}
