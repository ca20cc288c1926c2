// `warmstart doctor`: what this installation can run: Node, the addon it loaded (a prebuild or a
// local compile, and which CPU instruction-set level), threads, BLAS, the CUDA build, and how to
// rebuild either.
import type { Command } from 'commander';

import { packageVersion } from './package-info.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show which engine build loaded and what it can use, and how to rebuild it')
    .action(async () => {
      const { engineInfo } = await import('../engine/addon.js');
      const info = engineInfo();
      console.log(`warmstart   ${packageVersion()}`);
      console.log(`node        ${process.version} (${process.platform}-${process.arch})`);
      for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(11)} ${String(v)}`);
      console.log(
        'rebuild     CPU: `npm rebuild warmstart --build-from-source` (node-gyp; a C++17 compiler, make, python3)',
      );
      console.log('            CUDA: `npx warmstart build-cuda` (cmake, nvcc and cuBLASLt)');
    });
}
