// `warmstart demo`: the whole two-stage recipe on the CPU in minutes, with no download.
//
//   K&K puzzles (warmup size) -> symbolic teacher traces -> a small BPE tokenizer -> a tiny random
//   Qwen2 ("base") -> warmup SFT on the traces ("warmup") -> Dr. GRPO on <= 100 held-out
//   puzzles, from both base and warmup ("base + RLVR", "warmup + RLVR") -> pass@1 of all four on
//   100 other held-out puzzles, in the paper's table shape, and a PNG of the curves.
//
// The held-out puzzles are never in the warmup (generated first, then excluded from it); by
// default they have the warmup's size, as `heldOutPeople` may differ from `warmupPeople`. Whatever
// the numbers are, they are measured. `model` runs the same recipe from a real model folder (its
// own tokenizer).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tokenizeSft } from './data/sft-examples.js';
import { Tokenizer } from './data/tokenizer.js';
import { trainBpe } from './data/bpe.js';
import { initModel } from './engine/init.js';
import { loadModel, type Model } from './engine/model.js';
import { evaluate, type EvalConfig, type EvalResult } from './eval/evaluate.js';
import { generatePuzzles } from './kk/generate.js';
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
  rlExamples: number; // <= 100, as in the paper
  evalPuzzles: number;
  verbosity: TraceVerbosity;
  vocabSize: number; // of the demo's BPE tokenizer
  preset: string; // initModel preset of the demo's base model
  maxLength: number; // longest SFT example in tokens
  sft: SftConfig;
  grpo: GrpoConfig;
  eval: EvalConfig;
}

// A compact prompt: the paper's preamble and instructions would triple the tokens a tiny model
// trains on without teaching it more (the traces show the answer format).
export const DEMO_TEMPLATE = 'User: {quiz}\nAssistant: <think>';
// Two names and 2-person puzzles: every puzzle has both, so the tiny model need not copy names
// from the prompt (measured: with three names and 2-3-person warmup it named absent people in
// half of its 2-person answers, and RLVR then learned to leave the answer empty, -0.5 > -1).
export const DEMO_NAMES = ['Aria', 'Ben'] as const;

export const DEMO_SETTINGS: DemoSettings = {
  names: DEMO_NAMES,
  template: DEMO_TEMPLATE,
  warmupPeople: '2',
  warmupPuzzles: 500,
  heldOutPeople: '2',
  rlExamples: 100,
  evalPuzzles: 100,
  verbosity: 'terse',
  vocabSize: 1024,
  preset: 'tiny',
  maxLength: 512,
  sft: {
    epochs: 10,
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
    steps: 30,
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
    generationBatch: 'auto',
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

export async function demo(opts: DemoOptions): Promise<DemoResult> {
  const s = opts.settings ?? DEMO_SETTINGS;
  const seed = opts.seed ?? 0;
  const log = opts.log ?? (() => {});
  const dir = opts.out;
  mkdirSync(dir, { recursive: true });
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

  // 1. puzzles: held-out RLVR and evaluation sets first, then warmup puzzles (all three disjoint)
  const names = opts.model ? undefined : s.names; // a real model reads any name
  const template = opts.model ? undefined : s.template;
  const rlTrain = generatePuzzles({ people: s.heldOutPeople, count: s.rlExamples, seed: seed + 1, names });
  const evalSet = generatePuzzles({
    people: s.heldOutPeople,
    count: s.evalPuzzles,
    seed: seed + 2,
    exclude: rlTrain,
    names,
  });
  const warmup = generatePuzzles({
    people: s.warmupPeople,
    count: s.warmupPuzzles,
    seed,
    names,
    exclude: [...rlTrain, ...evalSet],
  });
  // 2. symbolic teacher traces (correct by construction)
  const pairs = warmup.map((p) => ({
    prompt: buildPrompt(p, { template }),
    completion: symbolicTrace(p, { verbosity: s.verbosity, seed }),
  }));
  log(
    `puzzles: ${warmup.length} warmup (${s.warmupPeople} people) with symbolic traces, ${rlTrain.length} RLVR + ${evalSet.length} evaluation (${s.heldOutPeople} people)`,
  );
  phase('data');

  // 3-4. tokenizer and base model
  let base: Model;
  let tokenizer: Tokenizer;
  let baseDir: string;
  if (opts.model) {
    baseDir = opts.model;
    tokenizer = Tokenizer.load(baseDir);
    base = await loadModel(baseDir);
    log(`base model: ${baseDir} (${(base.numParams / 1e6).toFixed(1)}M parameters)`);
  } else {
    const tokDir = join(dir, 'tokenizer');
    const corpus = [
      ...pairs.flatMap((p) => [p.prompt, p.completion]),
      ...[...rlTrain, ...evalSet].map((p) => buildPrompt(p, { template })),
    ];
    trainBpe(corpus, { vocabSize: s.vocabSize, out: tokDir });
    tokenizer = Tokenizer.load(tokDir);
    baseDir = join(dir, 'base');
    base = await initModel({
      preset: s.preset,
      vocabSize: tokenizer.vocabSize,
      seed,
      out: baseDir,
      tokenizerFrom: tokDir,
      eosTokenId: tokenizer.eosTokenId,
    });
    log(
      `tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens; base model: random '${s.preset}' Qwen2 (${(base.numParams / 1e6).toFixed(2)}M parameters)`,
    );
  }
  phase('tokenizer+model');
  abortCheck();

  // 5. warmup SFT (a real model sizes its micro-batches to the machine's memory; the tiny one's fixed sizes keep the demo's figures)
  const fit = opts.model ? { microBatchTokens: 'auto' as const } : {};
  const { examples, counts } = tokenizeSft(tokenizer, pairs, { maxLength: s.maxLength, overflow: 'drop' });
  log(
    `warmup: ${counts.kept} traces (${counts.dropped} longer than ${s.maxLength} tokens dropped), ${s.sft.epochs} epochs`,
  );
  const sftRun = await sft({
    model: await loadModel(baseDir),
    examples,
    runDir: join(dir, 'runs', 'warmup'),
    config: { ...s.sft, seed, ...fit },
    signal: opts.signal,
    onProgress: (p) => opts.progress?.('warmup', p.step, p.totalSteps, { loss: p.metrics.loss as number }),
  });
  const warmDir = join(dir, 'warmup');
  await sftRun.model.save(warmDir, { tokenizerFrom: baseDir });
  log(`warmup done: validation loss ${fmt(sftRun.valLoss ?? NaN, 3)}`);
  phase('warmup');
  abortCheck();

  // 6. Dr. GRPO from base and from warmup on the same <= 100 held-out-size puzzles
  const task = kkTask('paper');
  const rlExamples = kkExamples(rlTrain, template);
  const rlvr = async (name: string, from: string) => {
    const r = await grpo({
      model: await loadModel(from),
      tokenizer,
      task,
      examples: rlExamples,
      runDir: join(dir, 'runs', name),
      config: { ...s.grpo, seed, ...fit },
      signal: opts.signal,
      onProgress: (p) => opts.progress?.(name, p.step, p.totalSteps, { reward: p.metrics.reward_mean as number }),
    });
    const last = r.metrics.slice(-3);
    log(
      `${name}: reward ${fmt(r.metrics[0]?.reward_mean as number, 2)} at step 1 -> ${fmt(last.reduce((a, m) => a + (m.reward_mean as number), 0) / Math.max(last.length, 1), 2)} over the last ${last.length} steps`,
    );
    return r.model;
  };
  const baseRl = await rlvr('base+RLVR', baseDir);
  phase('rlvr-base');
  abortCheck();
  const warmRl = await rlvr('warmup+RLVR', warmDir);
  phase('rlvr-warmup');
  abortCheck();

  // 7. evaluation of the four models on the held-out puzzles
  const evalExamples = kkExamples(evalSet, template);
  const rows: DemoRow[] = [];
  const models: [string, Model][] = [
    ['base', base],
    ['warmup', await loadModel(warmDir)],
    ['base + RLVR', baseRl],
    ['warmup + RLVR', warmRl],
  ];
  for (const [name, model] of models) {
    const r = await evaluate({
      model,
      tokenizer,
      task,
      examples: evalExamples,
      config: { ...s.eval, seed },
      signal: opts.signal,
      out: join(dir, `eval-${name.replace(/[^a-z]+/gi, '-')}.jsonl`),
      onProgress: (p) => opts.progress?.(`eval ${name}`, p.done, p.total),
    });
    rows.push({ model: name, eval: r });
  }
  phase('eval');

  // 8. table and curves
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
