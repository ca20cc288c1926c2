// `warmstart build-cuda`: builds the CUDA addon (build-cuda/Release/warmstart_cuda.node) from the
// installed package's sources with the system's cmake and nvcc, and nothing else (no tests, no
// benchmarks, no cmake-js). Fails with the name of what is missing: cmake, Node's headers, nvcc
// or cuBLASLt (CMakeLists.txt's WARMSTART_CUDA_ADDON mode), and never exits 0 without the addon.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';

import type { Command } from 'commander';

import { packageRoot } from '../engine/addon.js';
import { parseInteger } from './flags.js';

export interface BuildCudaOptions {
  /** Parallel compile jobs (default: the CPU count). */
  jobs?: number;
  /** CMAKE_CUDA_ARCHITECTURES, e.g. "80;90" (default: CMakeLists.txt's). */
  cudaArchitectures?: string;
}

// Node's C headers (node_api.h): $WARMSTART_NODE_INCLUDE, the ones beside this node binary, or
// node-gyp's cache.
function nodeHeaders(): string {
  const candidates = [
    process.env.WARMSTART_NODE_INCLUDE,
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter((d): d is string => !!d);
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found)
    throw new Error(
      `build-cuda: Node's headers (node_api.h) not found in ${candidates.join(', ')}; set WARMSTART_NODE_INCLUDE to their folder (\`npx node-gyp install\` fetches them)`,
    );
  return found;
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.error) throw new Error(`build-cuda: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`build-cuda: ${what} failed (exit ${r.status ?? r.signal}; see above)`);
}

/** Builds the CUDA addon; resolves with its path. */
export function buildCuda(opts: BuildCudaOptions = {}): string {
  const root = packageRoot();
  const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (cmake.error || cmake.status !== 0) throw new Error('build-cuda: cmake not found on PATH (CMake 3.18 or newer)');
  const napi = dirname(createRequire(join(root, 'package.json')).resolve('node-addon-api/package.json'));
  const out = join(root, 'build-cuda');
  const configure = ['-S', root, '-B', out, '-DCMAKE_BUILD_TYPE=Release', '-DWARMSTART_CUDA_ADDON=ON'];
  configure.push(`-DWS_NODE_INC=${nodeHeaders()}`, `-DWS_NAPI_INC=${napi}`);
  if (opts.cudaArchitectures) configure.push(`-DCMAKE_CUDA_ARCHITECTURES=${opts.cudaArchitectures}`);
  run('cmake', configure, 'configuring');
  const jobs = String(opts.jobs ?? availableParallelism());
  run('cmake', ['--build', out, '--target', 'warmstart_cuda', '-j', jobs], 'compiling');
  const addon = join(out, 'Release', 'warmstart_cuda.node');
  if (!existsSync(addon)) throw new Error(`build-cuda: the build finished but ${addon} is missing`);
  return addon;
}

export function registerBuildCuda(program: Command): void {
  program
    .command('build-cuda')
    .description('build the CUDA addon from this package (needs cmake, nvcc and cuBLASLt); `doctor` then shows it')
    .option('-j, --jobs <n>', 'parallel compile jobs (default: the CPU count)')
    .option('--cuda-arch <list>', 'CMAKE_CUDA_ARCHITECTURES, e.g. "80;90"')
    .action((o: { jobs?: string; cudaArch?: string }) => {
      const addon = buildCuda({
        jobs: o.jobs === undefined ? undefined : parseInteger('--jobs', 1)(o.jobs),
        cudaArchitectures: o.cudaArch,
      });
      console.log(`built ${addon}`);
    });
}
