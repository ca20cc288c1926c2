// `warmstart demo`: the whole two-stage recipe on the CPU in minutes, with no download.
//
//   K&K puzzles (warmup size) -> symbolic teacher traces -> a small BPE tokenizer -> a tiny random
//   Qwen2 ("base") -> warmup SFT on the traces ("warmup") -> Dr. GRPO on <= 100 held-out
//   puzzles, from both base and warmup ("base + RLVR", "warmup + RLVR") -> pass@1 of all four on
//   100 other held-out puzzles, in the paper's table shape, and a PNG of the curves.
//
// The held-out puzzles are never in the warmup (generated first, then excluded from it, by their
// statements whatever the names); by
// default they have the warmup's size, as `heldOutPeople` may differ from `warmupPeople`. Whatever
// the numbers are, they are measured. `model` runs the same recipe from a real model folder (its
// own tokenizer).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tokenizeSft } from './data/sft-examples.js';
import { Tokenizer } from './data/tokenizer.js';
import { trainBpe } from './data/bpe.js';
import { initModel } from './engine/init.js';
import { kernels } from './engine/kernels.js';
import { loadModel, type Model } from './engine/model.js';
import { evaluate, type EvalConfig, type EvalResult } from './eval/evaluate.js';
import { generatePuzzles } from './kk/generate.js';
import type { KKPuzzle } from './kk/puzzle.js';
import { buildPrompt } from './kk/prompt.js';
import { symbolicTrace, type TraceVerbosity } from './kk/trace.js';
import { grpo, type GrpoConfig } from './train/grpo.js';
import { plotRuns } from './train/plot.js';
import { sft, type SftConfig } from './train/sft.js';
import { kkExamples, kkTask } from './tasks/kk-task.js';

export interface DemoSettings {
  names: readonly string[]; // people are drawn from these (a short list: a model this small cannot yet copy names from the puzzle)
  template: string; // the prompt around {quiz} (lib/kk/prompt.ts); ends with "Assistant: <think>"
  warmupPeople: string; // sizes of the warmup puzzles
  warmupPuzzles: number;
  heldOutPeople: string; // size of the RLVR / evaluation puzzles (these puzzles are never in the warmup)
  dedupe: 'puzzle' | 'statements'; // what makes two puzzles the same (lib/kk/generate.ts); also keeps the three sets apart
  nameOrder: 'fixed' | 'drawn'; // fixed: person i is always names[i]
  rlExamples: number; // <= 100, as in the paper
  evalPuzzles: number;
  verbosity: TraceVerbosity;
  vocabSize: number; // of the demo's BPE tokenizer
  preset: string; // initModel preset of the demo's base model
  modelOverrides: Record<string, number>; // config.json fields over the preset's
  maxLength: number; // longest SFT example in tokens
  sft: SftConfig;
  grpo: GrpoConfig;
  eval: EvalConfig;
}

// A compact prompt: the paper's preamble and instructions would triple the tokens a tiny model
// trains on without teaching it more (the traces show the answer format).
export const DEMO_TEMPLATE = 'User: {quiz}\nAssistant: <think>';
// Two names and 2-person puzzles, always in this order (nameOrder 'fixed'): every puzzle has both
// and names Aria first, so the tiny model need not copy names or their order from the prompt
// (measured: with three names and 2-3-person warmup it named absent people in half of its
// 2-person answers, and RLVR then learned to leave the answer empty, -0.5 > -1; with the two
// names in either order, each answer line's name was a coin flip, so half the answers named one
// person twice).
export const DEMO_NAMES = ['Aria', 'Ben'] as const;

export const DEMO_SETTINGS: DemoSettings = {
  names: DEMO_NAMES,
  template: DEMO_TEMPLATE,
  warmupPeople: '2',
  warmupPuzzles: 195, // with 200 held out, nearly all of the 399 distinct 2-person statement sets
  heldOutPeople: '2',
  dedupe: 'statements',
  nameOrder: 'fixed',
  rlExamples: 100,
  evalPuzzles: 100,
  verbosity: 'terse',
  vocabSize: 1024,
  preset: 'tiny',
  modelOverrides: {},
  maxLength: 512,
  sft: {
    epochs: 7, // a short warmup: format mostly learnt, not yet reliably (bench/RESULTS.md, Demo)
    lr: 3e-3,
    betas: [0.9, 0.95],
    eps: 1e-8,
    weightDecay: 1e-4,
    warmupSteps: 5,
    maxGradNorm: 1,
    microBatchTokens: 4096,
    gradAccum: 1,
    valExamples: 20,
    evalEvery: 0,
    saveEvery: 0,
    seed: 0,
  },
  grpo: {
    steps: 40,
    promptsPerStep: 8,
    generations: 8,
    maxCompletionLength: 160,
    temperature: 0.7,
    topP: 0.95,
    topK: 0,
    lr: 1e-3,
    betas: [0.9, 0.99],
    eps: 1e-8,
    weightDecay: 0.1,
    warmupSteps: 2,
    maxGradNorm: 1,
    clipLow: 0.2,
    clipHigh: 0.2,
    beta: 0,
    mu: 1,
    scaleRewards: 'none',
    microBatchTokens: 8192,
    generationBatch: 64, // not 'auto', which depends on the machine's memory
    saveEvery: 0,
    seed: 0,
  },
  eval: { samples: 4, temperature: 0.7, topP: 0.95, topK: 0, maxNewTokens: 160, batchSize: 200, seed: 0 },
};

export interface DemoRow {
  model: string;
  eval: EvalResult;
}

export interface DemoResult {
  rows: DemoRow[];
  table: string; // markdown
  png: string;
  dir: string;
  seconds: number;
  cpuSeconds: number; // user + system CPU time of this process (a busy machine stretches wall time, not this)
  phases: Record<string, number>; // wall seconds per phase
}

export interface DemoOptions {
  out: string; // working folder (models, runs, completions, the PNG)
  model?: string; // a real model folder instead of the tiny random one
  settings?: DemoSettings;
  seed?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
  progress?: (label: string, done: number, total: number, fields?: Record<string, number>) => void;
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

export function demoTable(rows: DemoRow[], heldOut: string, samples: number): string {
  const head = `| model | K&K ${heldOut}-person pass@1 % (k=${samples}) | mean reward | completion tokens |`;
  const lines = rows.map(
    (r) =>
      `| ${r.model} | ${fmt(100 * r.eval.passAt1)} ± ${fmt(100 * r.eval.passAt1Std)} | ${fmt(r.eval.meanReward, 2)} | ${fmt(r.eval.meanLength, 0)} |`,
  );
  return [head, '| --- | --- | --- | --- |', ...lines].join('\n');
}

// The same puzzle with person i named names[i] (its statements and solution are by person index,
// so only the text changes): with the people always in one order, a tiny model need not copy the
// order from the puzzle to write the answer's lines.
export function inNameOrder(p: KKPuzzle, names: readonly string[]): KKPuzzle {
  const to = names.slice(0, p.names.length);
  if (p.names.every((n, i) => n === to[i])) return p;
  const re = new RegExp(`\\b(${p.names.join('|')})\\b`, 'g');
  const swap = (t: string) => t.replace(re, (m) => to[p.names.indexOf(m)]);
  return {
    ...p,
    names: to,
    quiz: swap(p.quiz),
    solution_text: swap(p.solution_text),
    solution_text_format: swap(p.solution_text_format),
  };
}

// Everything a stage needs: the settings, the working folder, the data and what earlier stages made.
export interface DemoContext {
  s: DemoSettings;
  seed: number;
  dir: string;
  realModel: boolean; // a real model folder: its own tokenizer, the paper's prompt and any name
  template: string | undefined;
  rlTrain: KKPuzzle[];
  evalSet: KKPuzzle[];
  pairs: { prompt: string; completion: string }[]; // warmup SFT pairs
  signal?: AbortSignal;
  log: (message: string) => void;
  progress?: DemoOptions['progress'];
}

// 1-2. Puzzles: the held-out RLVR and evaluation sets first, then the warmup puzzles (all three
// disjoint), and the warmup's symbolic teacher traces (correct by construction).
export function demoData(
  s: DemoSettings,
  o: Pick<DemoOptions, 'out' | 'model' | 'signal' | 'log' | 'progress'> & { seed: number },
): DemoContext {
  const log = o.log ?? (() => {});
  const realModel = o.model !== undefined;
  const names = realModel ? undefined : s.names;
  const template = realModel ? undefined : s.template;
  const dedupe = s.dedupe;
  const make = (people: string, count: number, seed: number, exclude: KKPuzzle[]) => {
    const ps = generatePuzzles({ people, count, seed, names, dedupe, exclude });
    return names && s.nameOrder === 'fixed' ? ps.map((p) => inNameOrder(p, names)) : ps;
  };
  const rlTrain = make(s.heldOutPeople, s.rlExamples, o.seed + 1, []);
  const evalSet = make(s.heldOutPeople, s.evalPuzzles, o.seed + 2, rlTrain);
  const warmup = make(s.warmupPeople, s.warmupPuzzles, o.seed, [...rlTrain, ...evalSet]);
  const pairs = warmup.map((p) => ({
    prompt: buildPrompt(p, { template }),
    completion: symbolicTrace(p, { verbosity: s.verbosity, seed: o.seed }),
  }));
  log(
    `puzzles: ${warmup.length} warmup (${s.warmupPeople} people) with symbolic traces, ${rlTrain.length} RLVR + ${evalSet.length} evaluation (${s.heldOutPeople} people)`,
  );
  mkdirSync(o.out, { recursive: true });
  return {
    s,
    seed: o.seed,
    dir: o.out,
    realModel,
    template,
    rlTrain,
    evalSet,
    pairs,
    signal: o.signal,
    log,
    progress: o.progress,
  };
}

// 3-4. The tokenizer and the base model: a BPE trained on the demo's text and a random preset
// model, or the real model folder with its own tokenizer.
export async function demoBase(ctx: DemoContext, model?: string): Promise<{ baseDir: string; tokenizer: Tokenizer }> {
  const { s, dir } = ctx;
  if (model) {
    const base = await loadModel(model);
    ctx.log(`base model: ${model} (${(base.numParams / 1e6).toFixed(1)}M parameters)`);
    return { baseDir: model, tokenizer: Tokenizer.load(model) };
  }
  const tokDir = join(dir, 'tokenizer');
  const corpus = [
    ...ctx.pairs.flatMap((p) => [p.prompt, p.completion]),
    ...[...ctx.rlTrain, ...ctx.evalSet].map((p) => buildPrompt(p, { template: ctx.template })),
  ];
  trainBpe(corpus, { vocabSize: s.vocabSize, out: tokDir });
  const tokenizer = Tokenizer.load(tokDir);
  const baseDir = join(dir, 'base');
  const base = await initModel({
    preset: s.preset,
    vocabSize: tokenizer.vocabSize,
    seed: ctx.seed,
    out: baseDir,
    tokenizerFrom: tokDir,
    eosTokenId: tokenizer.eosTokenId,
    overrides: s.modelOverrides,
  });
  ctx.log(
    `tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens; base model: random '${s.preset}' Qwen2 (${(base.numParams / 1e6).toFixed(2)}M parameters)`,
  );
  return { baseDir, tokenizer };
}

// A real model sizes its micro-batches to the machine's memory; the tiny one's fixed sizes keep
// the demo's figures the same on every machine.
const fitOf = (ctx: DemoContext) => (ctx.realModel ? { microBatchTokens: 'auto' as const } : {});

// 5. Warmup SFT on the traces; the model is saved to DIR/warmup.
export async function demoWarmup(ctx: DemoContext, baseDir: string, tokenizer: Tokenizer): Promise<string> {
  const { s } = ctx;
  const { examples, counts } = tokenizeSft(tokenizer, ctx.pairs, { maxLength: s.maxLength, overflow: 'drop' });
  ctx.log(
    `warmup: ${counts.kept} traces (${counts.dropped} longer than ${s.maxLength} tokens dropped), ${s.sft.epochs} epochs`,
  );
  const r = await sft({
    model: await loadModel(baseDir),
    examples,
    runDir: join(ctx.dir, 'runs', 'warmup'),
    config: { ...s.sft, seed: ctx.seed, ...fitOf(ctx) },
    signal: ctx.signal,
    onProgress: (p) => ctx.progress?.('warmup', p.step, p.totalSteps, { loss: p.metrics.loss as number }),
  });
  const warmDir = join(ctx.dir, 'warmup');
  await r.model.save(warmDir, { tokenizerFrom: baseDir });
  ctx.log(`warmup done: validation loss ${fmt(r.valLoss ?? NaN, 3)}`);
  return warmDir;
}

// 6. Dr. GRPO on the <= 100 RLVR puzzles from the model in `from`; the run goes to DIR/runs/NAME.
export async function demoRlvr(ctx: DemoContext, name: string, from: string, tokenizer: Tokenizer): Promise<Model> {
  const r = await grpo({
    model: await loadModel(from),
    tokenizer,
    task: kkTask('paper'),
    examples: kkExamples(ctx.rlTrain, ctx.template),
    runDir: join(ctx.dir, 'runs', name),
    config: { ...ctx.s.grpo, seed: ctx.seed, ...fitOf(ctx) },
    signal: ctx.signal,
    onProgress: (p) => ctx.progress?.(name, p.step, p.totalSteps, { reward: p.metrics.reward_mean as number }),
  });
  const last = r.metrics.slice(-3);
  ctx.log(
    `${name}: reward ${fmt(r.metrics[0]?.reward_mean as number, 2)} at step 1 -> ${fmt(last.reduce((a, m) => a + (m.reward_mean as number), 0) / Math.max(last.length, 1), 2)} over the last ${last.length} steps`,
  );
  return r.model;
}

// 7. pass@1 of one model on the evaluation puzzles; every completion to DIR/eval-NAME.jsonl.
export async function demoEval(ctx: DemoContext, name: string, model: Model, tokenizer: Tokenizer): Promise<DemoRow> {
  const r = await evaluate({
    model,
    tokenizer,
    task: kkTask('paper'),
    examples: kkExamples(ctx.evalSet, ctx.template),
    config: { ...ctx.s.eval, seed: ctx.seed },
    signal: ctx.signal,
    out: join(ctx.dir, `eval-${name.replace(/[^a-z]+/gi, '-')}.jsonl`),
    onProgress: (p) => ctx.progress?.(`eval ${name}`, p.done, p.total),
  });
  return { model: name, eval: r };
}

// The demo runs its matmuls on the engine's own SGEMM, whose sums per element do not depend on
// the thread count or the vector width, so its table is the same on every x86-64 machine, with or
// without OpenBLAS. The default (auto) comes back afterwards.
async function withOwnSgemm<T>(f: () => Promise<T>): Promise<T> {
  const k = kernels();
  k.setSgemmBackend(1);
  try {
    return await f();
  } finally {
    k.setSgemmBackend(0);
  }
}

export async function demo(opts: DemoOptions): Promise<DemoResult> {
  return withOwnSgemm(() => runDemo(opts));
}

async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const s = opts.settings ?? DEMO_SETTINGS;
  const seed = opts.seed ?? 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const phases: Record<string, number> = {};
  let tPhase = performance.now();
  const phase = (name: string) => {
    phases[name] = (performance.now() - tPhase) / 1000;
    tPhase = performance.now();
  };
  const abortCheck = () => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('demo: aborted');
  };

  const ctx = demoData(s, { ...opts, seed });
  phase('data');
  const { baseDir, tokenizer } = await demoBase(ctx, opts.model);
  phase('tokenizer+model');
  abortCheck();
  const warmDir = await demoWarmup(ctx, baseDir, tokenizer);
  phase('warmup');
  abortCheck();
  const baseRl = await demoRlvr(ctx, 'base+RLVR', baseDir, tokenizer);
  phase('rlvr-base');
  abortCheck();
  const warmRl = await demoRlvr(ctx, 'warmup+RLVR', warmDir, tokenizer);
  phase('rlvr-warmup');
  abortCheck();

  const rows: DemoRow[] = [];
  const models: [string, () => Promise<Model>][] = [
    ['base', () => loadModel(baseDir)],
    ['warmup', () => loadModel(warmDir)],
    ['base + RLVR', async () => baseRl],
    ['warmup + RLVR', async () => warmRl],
  ];
  for (const [name, load] of models) rows.push(await demoEval(ctx, name, await load(), tokenizer));
  phase('eval');

  // 8. table and curves
  const dir = ctx.dir;
  const table = demoTable(rows, s.heldOutPeople, s.eval.samples);
  const png = await plotRuns(
    [join(dir, 'runs', 'base+RLVR'), join(dir, 'runs', 'warmup+RLVR')],
    join(dir, 'curves.png'),
    { title: `Dr. GRPO on ${s.rlExamples} K&K ${s.heldOutPeople}-person puzzles` },
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  writeFileSync(
    join(dir, 'results.md'),
    `${table}\n\nwall time ${seconds.toFixed(0)} s, CPU time ${cpuSeconds.toFixed(0)} s\n`,
  );
  writeFileSync(
    join(dir, 'results.json'),
    JSON.stringify({ rows, phases, seconds, cpuSeconds, settings: s, seed }, null, 2) + '\n',
  );
  return { rows, table, png, dir, seconds, cpuSeconds, phases };
}
