// Load time and peak memory (VmHWM) of a Qwen2.5-0.5B-shaped random model (24 layers, vocabulary
// 151936, tied: 494M parameters, 1.98 GB in fp32), from f32 and from bf16 safetensors, beside
// llama.cpp loading the same weights as GGUF F32 and F16 (node-llama-cpp's prebuilt CPU build,
// bench/peers/llama), in one run; each load in a fresh process, rounds interleaved. With --base
// DIR it also loads through another checkout's library (the code before a change). The model
// is written once by the engine's own save (peak RSS of each save is reported too) and
// converted to GGUF by bench/gguf.ts.
//   npm install --prefix bench/peers/llama        # once: the llama.cpp peer (~730 MB)
//   npx tsx bench/load.ts [--dir /tmp/ws-load-bench] [--rounds 2] [--threads 2] [--base DIR]
// Children: --child ws DIR LIB | --child llama GGUF | --make DIR LIB  (one JSON line each).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { flag } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};

function status(): { hwm: number; rss: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}
// Resets VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs).
function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

// CPU seconds (user + system, all threads) since c0: the work, whatever the machine's load.
function cpuSeconds(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
}

type Lib = typeof import('../lib/index.js');
const importLib = async (lib: string): Promise<Lib> => (await import(pathToFileURL(lib).href)) as Lib;

async function child(): Promise<void> {
  const i = argv.indexOf('--child');
  const kind = argv[i + 1];
  if (kind === 'ws') {
    const [dir, lib] = [argv[i + 2], argv[i + 3]];
    const { loadModel } = await importLib(lib);
    const base = status().rss;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const m = await loadModel(dir);
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(c0);
    console.log(JSON.stringify({ s, cpu, base, ...status(), params: m.numParams }));
  } else {
    const gguf = argv[i + 2];
    interface LlamaPeer {
      getLlama(o: object): Promise<{ loadModel(o: { modelPath: string; gpuLayers: number }): Promise<unknown> }>;
    }
    const { getLlama } = (await import(
      pathToFileURL(join(here, 'peers/llama/node_modules/node-llama-cpp/dist/index.js')).href
    )) as LlamaPeer;
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
    const base = status().rss;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(c0);
    console.log(JSON.stringify({ s, cpu, base, ...status() }));
  }
}

async function make(): Promise<void> {
  const i = argv.indexOf('--make');
  const [dir, lib] = [argv[i + 1], argv[i + 2]];
  const { initModel } = await importLib(lib);
  const m = await initModel({ preset: 'qwen2.5-0.5b', vocabSize: 151936, seed: 0, std: 0.02 });
  const out: Record<string, unknown> = { params: m.numParams, rss: status().rss };
  for (const dtype of ['f32', 'bf16'] as const) {
    resetPeak();
    const t0 = performance.now();
    await m.save(join(dir, dtype), { dtype });
    out[`save_${dtype}`] = { s: (performance.now() - t0) / 1000, ...status() };
  }
  console.log(JSON.stringify(out));
}

function run(args: string[], threads: number): Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'load.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, WS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number>;
}

async function main(): Promise<void> {
  const dir = resolve(opt('dir', '/tmp/ws-load-bench'));
  const rounds = flag('rounds', 2);
  const threads = flag('threads', 2);
  const base = argv.includes('--base') ? resolve(opt('base', '')) : null;
  const ourLib = join(here, '../lib/index.ts');
  const gb = (b: number) => (b / 1e9).toFixed(2);
  if (!existsSync(join(dir, 'bf16', 'config.json'))) {
    for (const lib of base ? [join(base, 'lib/index.ts'), ourLib] : [ourLib]) {
      const r = run(['--make', dir, lib], threads) as unknown as Record<string, Record<string, number>>;
      console.log(
        `save (${lib === ourLib ? 'this checkout' : 'base'}): model RSS ${gb(r.rss as unknown as number)} GB;`,
        ['f32', 'bf16']
          .map((d) => `${d}: ${r[`save_${d}`].s.toFixed(1)} s, peak ${gb(r[`save_${d}`].hwm)} GB`)
          .join('; '),
      );
    }
  }
  const llama = existsSync(join(here, 'peers/llama/node_modules/node-llama-cpp'));
  if (llama) {
    const { toGguf } = await import('./gguf.js');
    for (const t of ['f32', 'f16'] as const)
      if (!existsSync(join(dir, `${t}.gguf`))) toGguf(join(dir, 'f32'), join(dir, `${t}.gguf`), t);
  }
  const cases: [string, string[]][] = [
    ['warmstart, f32 safetensors', ['--child', 'ws', join(dir, 'f32'), ourLib]],
    ['warmstart, bf16 safetensors', ['--child', 'ws', join(dir, 'bf16'), ourLib]],
  ];
  if (base)
    cases.push(
      ['warmstart before, f32 safetensors', ['--child', 'ws', join(dir, 'f32'), join(base, 'lib/index.ts')]],
      ['warmstart before, bf16 safetensors', ['--child', 'ws', join(dir, 'bf16'), join(base, 'lib/index.ts')]],
    );
  if (llama)
    cases.push(
      ['llama.cpp, F32 GGUF', ['--child', 'llama', join(dir, 'f32.gguf')]],
      ['llama.cpp, F16 GGUF', ['--child', 'llama', join(dir, 'f16.gguf')]],
    );
  const res = new Map<string, Record<string, number>[]>();
  for (let r = 0; r < rounds; r++)
    for (const [name, args] of cases) {
      const x = run(args, threads);
      res.set(name, [...(res.get(name) ?? []), x]);
      console.error(`round ${r + 1} ${name}: ${x.s.toFixed(2)} s, peak ${gb(x.hwm)} GB, after ${gb(x.rss)} GB`);
    }
  const best = (name: string) => Math.min(...(res.get(name) ?? []).map((x) => x.s));
  const llamaF32 = llama ? best('llama.cpp, F32 GGUF') : NaN;
  const params = res.get('warmstart, f32 safetensors')?.[0].params ?? NaN;
  console.log(`\nmodel: ${params} parameters, ${gb(params * 4)} GB in fp32; ${threads} threads; ${rounds} rounds\n`);
  console.log('| load | time, best (all) | × llama.cpp F32 | peak RSS (VmHWM) | RSS after | peak / fp32 params |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name] of cases) {
    const xs = res.get(name) ?? [];
    const hwm = Math.max(...xs.map((x) => x.hwm));
    console.log(
      `| ${name} | ${best(name).toFixed(2)} s (${xs.map((x) => x.s.toFixed(2)).join(', ')}) | ` +
        `${(best(name) / llamaF32).toFixed(2)}× | ${gb(hwm)} GB | ${gb(xs[xs.length - 1].rss)} GB | ` +
        `${(hwm / (params * 4)).toFixed(2)}× |`,
    );
  }
}

if (argv.includes('--child')) await child();
else if (argv.includes('--make')) await make();
else await main();
