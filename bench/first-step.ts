// The first training step against the ones after it: each case in a fresh process (a random
// model, then steps 1, 2, 3 of AdamW on one packed batch of 4 × 256 tokens), on the tiny preset
// and on Qwen2.5-0.5B dimensions with 2 layers (vocabulary 151936 for both). With --base DIR the
// same through another checkout's library (the code before a change), in the same run.
//   npx tsx bench/first-step.ts [--threads 2] [--rounds 2] [--base DIR]
// Child: --child PRESET LAYERS LIB (one JSON line).
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { flag } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const V = 151936;

async function child(): Promise<void> {
  const i = argv.indexOf('--child');
  const [preset, layers, lib] = [argv[i + 1], Number(argv[i + 2]), argv[i + 3]];
  const { initModel } = (await import(pathToFileURL(lib).href)) as typeof import('../lib/index.js');
  const { packSequences } = (await import(
    pathToFileURL(join(dirname(lib), 'data/batch.ts')).href
  )) as typeof import('../lib/data/batch.js');
  const overrides = layers > 0 ? { num_hidden_layers: layers } : {};
  const model = await initModel({ preset, vocabSize: V, overrides, seed: 0 });
  const trainer = model.trainer({ lr: 1e-5, weightDecay: 0.1, maxGradNorm: 1 });
  let s = 1;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648);
  const batch = packSequences(
    Array.from({ length: 4 }, () => ({
      ids: Int32Array.from({ length: 256 }, () => next() % V),
      tokenWeights: new Float32Array(256).fill(1),
    })),
  );
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    await trainer.step(batch);
    times.push((performance.now() - t0) / 1000);
  }
  console.log(JSON.stringify({ times, params: model.numParams }));
}

async function main(): Promise<void> {
  const threads = flag('threads', 2);
  const rounds = flag('rounds', 2);
  const bi = argv.indexOf('--base');
  const base = bi >= 0 ? resolve(argv[bi + 1]) : null;
  const libs: [string, string][] = [['this checkout', join(here, '../lib/index.ts')]];
  if (base) libs.push(['before', join(base, 'lib/index.ts')]);
  const cases: [string, string, number][] = [
    ['tiny', 'tiny', 0],
    ['Qwen2.5-0.5B dims, 2 layers', 'qwen2.5-0.5b', 2],
  ];
  console.log(
    `${threads} threads, 4 × 256 tokens, vocabulary ${V}; each step the fastest of ${rounds} fresh processes\n`,
  );
  console.log('| model | code | step 1 | step 2 | step 3 | step 1 / step 2 |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [name, preset, layers] of cases)
    for (const [code, lib] of libs) {
      // per step, the fastest over the rounds: the machine is shared, the fastest is the least disturbed
      const t = [Infinity, Infinity, Infinity];
      for (let r = 0; r < rounds; r++) {
        const out = execFileSync(
          process.execPath,
          ['--import', 'tsx', join(here, 'first-step.ts'), '--child', preset, String(layers), lib],
          { encoding: 'utf8', env: { ...process.env, WS_NUM_THREADS: String(threads) } },
        );
        const x = (JSON.parse(out.trim().split('\n').pop() as string) as { times: number[] }).times;
        x.forEach((v, k) => (t[k] = Math.min(t[k], v)));
      }
      console.log(
        `| ${name} | ${code} | ${t[0].toFixed(3)} s | ${t[1].toFixed(3)} s | ${t[2].toFixed(3)} s | ${(t[0] / t[1]).toFixed(2)}× |`,
      );
    }
}

if (argv.includes('--child')) await child();
else await main();
