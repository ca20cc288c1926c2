// Explores demo settings one stage at a time (bench/RESULTS.md, Demo: what was tried).
//
//   node --import tsx bench/demo-explore.ts --out DIR [--set PATH=JSON ...] [--reuse] [--rl base,warmup]
//
// --set overrides a field of DEMO_SETTINGS (e.g. --set grpo.lr=3e-4 --set modelOverrides.hidden_size=128).
// --reuse takes DIR/base and DIR/warmup from an earlier run with the same data and model settings
// instead of training them again, so RLVR settings can be compared from one warmed-up model.
// --rl names the RLVR runs (default both); the models evaluated are base, warmup and those runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Tokenizer } from '../lib/data/tokenizer.js';
import {
  DEMO_SETTINGS,
  demoBase,
  demoData,
  demoEval,
  demoRlvr,
  demoTable,
  demoWarmup,
  type DemoRow,
  type DemoSettings,
} from '../lib/demo.js';
import { kernels } from '../lib/engine/kernels.js';
import { loadModel, type Model } from '../lib/engine/model.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: '' },
    reuse: { type: 'boolean', default: false },
    rl: { type: 'string', default: 'base,warmup' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
if (!args.out) throw new Error('--out DIR is required');
const s: DemoSettings = structuredClone(DEMO_SETTINGS);
for (const kv of args.set) {
  const eq = kv.indexOf('=');
  if (eq < 0) throw new Error(`--set ${kv}: expected PATH=JSON`);
  const path = kv.slice(0, eq).split('.');
  let o = s as unknown as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1]] = JSON.parse(kv.slice(eq + 1));
}
kernels().setSgemmBackend(1);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const log = (m: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${m}`);
const ctx = demoData(s, { out: args.out, seed: 0, log });
let baseDir = join(args.out, 'base');
let warmDir = join(args.out, 'warmup');
let tokenizer: Tokenizer;
if (args.reuse && existsSync(join(warmDir, 'config.json'))) {
  tokenizer = Tokenizer.load(baseDir);
  log(`reusing ${baseDir} and ${warmDir}`);
} else {
  ({ baseDir, tokenizer } = await demoBase(ctx));
  warmDir = await demoWarmup(ctx, baseDir, tokenizer);
}
const models: [string, () => Promise<Model>][] = [
  ['base', () => loadModel(baseDir)],
  ['warmup', () => loadModel(warmDir)],
];
for (const from of args.rl.split(',').filter(Boolean)) {
  const m = await demoRlvr(ctx, `${from}+RLVR`, from === 'base' ? baseDir : warmDir, tokenizer);
  models.push([`${from} + RLVR`, async () => m]);
}
const rows: DemoRow[] = [];
for (const [name, load] of models) {
  rows.push(await demoEval(ctx, name, await load(), tokenizer));
  log(`eval ${name}: ${(100 * rows[rows.length - 1].eval.passAt1).toFixed(1)}`);
}
const cpu = process.cpuUsage(cpu0);
console.log(`settings: ${args.set.join(' ') || '(defaults)'}${args.reuse ? ' (reused warmup)' : ''}`);
console.log(demoTable(rows, s.heldOutPeople, s.eval.samples));
console.log(
  `wall ${((performance.now() - t0) / 1000).toFixed(0)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s`,
);
