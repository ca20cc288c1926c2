// Loads the native addon: the CUDA build (build-cuda/, from `warmstart build-cuda`) where it loads
// and a GPU answers, else the CPU build that `npm install` compiled (node-gyp-build).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { GpuInfo, NativeAddon } from './addon-types.js';

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

/** The native surface, typed (addon-types.ts). */
export type Addon = NativeAddon;

let cpuAddon: Addon | undefined;

interface NodeGypBuild {
  (dir: string): Addon;
  /** The file node-gyp-build loads from `dir`: a prebuild that fits, else build/Release. */
  path(dir: string): string;
}
const nodeGypBuild = (): NodeGypBuild => require('node-gyp-build') as NodeGypBuild;

// The x86-64 addon's baseline is x86-64-v3 (AVX2, FMA, F16C, BMI2): say so rather than die of
// SIGILL on an older CPU. Linux only (where /proc/cpuinfo says); elsewhere the load decides.
function checkCpuLevel(): void {
  if (process.arch !== 'x64' || process.platform !== 'linux') return;
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (!line) return;
    flags = new Set(line[1].trim().split(/\s+/));
  } catch {
    return;
  }
  const missing = ['avx2', 'fma', 'f16c', 'bmi2'].filter((f) => !flags.has(f));
  if (missing.length > 0)
    throw new Error(
      `warmstart: this CPU lacks ${missing.join(', ')}; the engine needs x86-64-v3 (Intel Haswell, AMD Excavator or later)`,
    );
}

export function cpu(): Addon {
  if (!cpuAddon) {
    checkCpuLevel();
    cpuAddon = nodeGypBuild()(packageRoot());
  }
  return cpuAddon;
}

/** Which CPU addon file loads: a shipped prebuild or one compiled on this machine, and where. */
export function cpuBuild(): { kind: 'prebuild' | 'compiled'; path: string } {
  const path = nodeGypBuild().path(packageRoot());
  return { kind: /[\\/]prebuilds[\\/]/.test(path) ? 'prebuild' : 'compiled', path };
}

// The CUDA addon (build-cuda/Release/warmstart_cuda.node, or WARMSTART_CUDA_ADDON) when it is
// built, loads, and a GPU answers its gpuInfo(); otherwise no addon and the reason why.
// WARMSTART_DEVICE=cpu skips it. Decided once per process.
export interface CudaChoice {
  addon?: Addon;
  gpu?: GpuInfo;
  reason: string;
}
let cudaChoice: CudaChoice | undefined;

export function cudaAddonPath(): string {
  return process.env.WARMSTART_CUDA_ADDON ?? join(packageRoot(), 'build-cuda', 'Release', 'warmstart_cuda.node');
}

export function cuda(): CudaChoice {
  if (cudaChoice) return cudaChoice;
  const path = cudaAddonPath();
  if (process.env.WARMSTART_DEVICE === 'cpu') {
    cudaChoice = { reason: 'skipped (WARMSTART_DEVICE=cpu)' };
  } else if (!existsSync(path)) {
    cudaChoice = {
      reason: `not built (${path} is missing; \`npx warmstart build-cuda\` builds it where nvcc and cuBLASLt are)`,
    };
  } else {
    try {
      const a = require(path) as Addon;
      if (!a.cuda) throw new Error('it exports no cuda.gpuInfo (not a CUDA build)');
      const gpu = a.cuda.gpuInfo();
      cudaChoice = { addon: a, gpu, reason: `loaded ${path}` };
    } catch (e) {
      cudaChoice = { reason: `${path} was not used: ${(e as Error).message}` };
    }
  }
  return cudaChoice;
}

// The addon the engine uses: the CUDA build where it loads and a GPU answers, else the CPU build.
export function addon(): Addon {
  return cuda().addon ?? cpu();
}

export function engineInfo(): Record<string, string | number | boolean> {
  const c = cuda();
  const a = addon();
  const build = cpuBuild();
  const { isa, available } = cpu().kernels.cpuIsa();
  return {
    addon: c.addon ? 'cuda' : 'cpu',
    build: `${build.kind} (${build.path})`,
    'cpu isa': `${isa} (this CPU and build: ${available}; WARMSTART_ISA=avx2 forces the baseline)`,
    blas: cpu().kernels.haveBlas() ? 'OpenBLAS (sgemm backend auto)' : 'none (our own SGEMM)',
    threads: a.numThreads(),
    gpu: c.gpu
      ? `${c.gpu.name} (sm ${c.gpu.computeCapability}, ${(c.gpu.memoryBytes / 2 ** 30).toFixed(1)} GiB)`
      : 'none',
    cuda: c.reason,
  };
}
