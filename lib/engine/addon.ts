// Loads the native addon: the CUDA build (build-cuda/, from `npm run build:cuda`) where it loads
// and a GPU answers, else the CPU build that `npm install` compiled (node-gyp-build).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

// The package root: the nearest folder above this file with a binding.gyp.
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('warmstart: cannot find the package root (binding.gyp)');
    dir = up;
  }
  return dir;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Addon = any;

let cpuAddon: Addon | undefined;

export function cpu(): Addon {
  if (!cpuAddon) {
    const load = require('node-gyp-build') as (dir: string) => Addon;
    cpuAddon = load(packageRoot());
  }
  return cpuAddon;
}

export function engineInfo(): Record<string, string | number | boolean> {
  const a = cpu();
  return {
    addon: a.device,
    threads: a.numThreads(),
  };
}
