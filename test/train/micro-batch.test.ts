// The micro-batch size from memory: the engine's measured arena (what a model then allocates),
// the budget, 'auto' within it (the same sizes as before the engine measured them), and a resumed
// 'auto' run keeping the size it recorded.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { tokenizeSft } from '../../lib/data/sft-examples.js';
import { packSequences } from '../../lib/engine/batch.js';
import { presetConfig } from '../../lib/engine/init.js';
import { arenaBytes } from '../../lib/engine/memory.js';
import { loadModel } from '../../lib/engine/model.js';
import {
  activationBytesPerToken,
  AUTO_MAX_TOKENS,
  memoryBudget,
  recordedMicroBatchTokens,
  resolveMicroBatchTokens,
  runMicroBatchTokens,
} from '../../lib/train/micro-batch.js';
import { latestCheckpoint } from '../../lib/train/checkpoint.js';
import { SFT_PAPER, sft } from '../../lib/train/sft.js';
import { tinyKK } from './helpers.js';

const GiB = 2 ** 30;

test("the engine's measured arena is the one a model allocates, for inference and training", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-micro-arena-'));
  const kk = await tinyKK(join(dir, 'model'), 8);
  const model = await loadModel(kk.dir);
  const seqs = kk.pairs.slice(0, 3).map((p) => {
    const ids = Int32Array.from(kk.tokenizer.encode(p.prompt + p.completion));
    return { ids, tokenWeights: new Float32Array(ids.length).fill(1) };
  });
  const batch = packSequences(seqs);
  const T = batch.tokens.length;
  await model.batchLogprobs(batch);
  t.is(await model.native.arenaBytes(), arenaBytes(model.config, 'cpu', T, false));
  await model.trainer({ lr: 0 }).step(batch, { accumulate: true });
  t.is(await model.native.arenaBytes(), arenaBytes(model.config, 'cpu', T, true));
  // the per-token size is the arena's growth: linear in T past the head's chunk
  const perToken = activationBytesPerToken(model.config, 'cpu');
  t.is(arenaBytes(model.config, 'cpu', 8192, true) - arenaBytes(model.config, 'cpu', 4096, true), 4096 * perToken);
});

test("bytes per token and 'auto' sizes for tiny, 0.5B and 1.5B on both devices (unchanged)", (t) => {
  // [preset, device, bytes per token, auto at 4 / 8 / 16 GiB]
  const want: [string, 'cpu' | 'cuda', number, number[]][] = [
    ['tiny', 'cpu', 23012, [16384, 16384, 16384]],
    ['tiny', 'cuda', 11556, [16384, 16384, 16384]],
    ['qwen2.5-0.5b', 'cpu', 1671172, [2570, 5140, 10280]],
    ['qwen2.5-0.5b', 'cuda', 836356, [5135, 10270, 16384]],
    ['qwen2.5-1.5b', 'cpu', 3453476, [1243, 2487, 4974]],
    ['qwen2.5-1.5b', 'cuda', 1727524, [2486, 4972, 9944]],
  ];
  for (const [preset, device, perToken, auto] of want) {
    const config = presetConfig(preset);
    t.is(activationBytesPerToken(config, device), perToken, `${preset} on ${device}`);
    const got = [4, 8, 16].map(
      (g) => resolveMicroBatchTokens('auto', { config, device, longest: 100, budgetBytes: g * GiB }).tokens,
    );
    t.deepEqual(got, auto, `${preset} on ${device}`);
  }
  // Qwen2.5-0.5B in fp32: ~1.67 MB a token, so the old default of 16384 tokens wanted ~27 GB
  t.true(activationBytesPerToken(presetConfig('qwen2.5-0.5b'), 'cpu') * 16384 > 24 * GiB);
});

test('with activation recomputation the estimate is the recompute arena: each layer input and one layer', (t) => {
  // [preset, device, bytes per token with recompute, auto at 1 / 2 / 4 GiB]
  const want: [string, 'cpu' | 'cuda', number, number[]][] = [
    ['qwen2.5-0.5b', 'cpu', 339012, [3167, 6334, 12669]],
    ['qwen2.5-1.5b', 'cpu', 631868, [1699, 3398, 6797]],
    ['qwen2.5-1.5b', 'cuda', 315964, [3398, 6796, 13593]],
  ];
  for (const [preset, device, perToken, auto] of want) {
    const config = presetConfig(preset);
    t.is(activationBytesPerToken(config, device, true), perToken, `${preset} on ${device}`);
    // about a fifth of storing every layer's activations
    const ratio = activationBytesPerToken(config, device) / perToken;
    t.true(ratio > 4.5 && ratio < 6, `${preset} on ${device}: ${ratio}`);
    const got = [1, 2, 4].map(
      (g) =>
        resolveMicroBatchTokens('auto', { config, device, longest: 100, budgetBytes: g * GiB, recompute: true }).tokens,
    );
    t.deepEqual(got, auto, `${preset} on ${device}`);
  }
  const note = resolveMicroBatchTokens('auto', {
    config: presetConfig('qwen2.5-0.5b'),
    device: 'cpu',
    longest: 100,
    budgetBytes: GiB,
    recompute: true,
  }).note;
  t.regex(note, /with activation recomputation/);
});

test('the budget: min(8 GiB, 40%) of the host, min(16 GiB, 25%) of the GPU', (t) => {
  t.is(memoryBudget('cpu', { hostBytes: 24 * GiB }), 8 * GiB);
  t.is(memoryBudget('cpu', { hostBytes: 10 * GiB }), 4 * GiB);
  t.is(memoryBudget('cuda', { gpuBytes: 80 * GiB }), 16 * GiB);
  t.is(memoryBudget('cuda', { gpuBytes: 24 * GiB }), 6 * GiB);
  t.is(memoryBudget('cuda'), 16 * GiB);
  t.true(memoryBudget('cpu') <= 8 * GiB && memoryBudget('cpu') > 0);
});

test("'auto' takes the most tokens whose activations fit the budget", (t) => {
  const config = presetConfig('qwen2.5-0.5b');
  const perToken = activationBytesPerToken(config, 'cpu');
  for (const budgetBytes of [8 * GiB, 4 * GiB, 10 * GiB]) {
    const r = resolveMicroBatchTokens('auto', { config, device: 'cpu', longest: 1000, budgetBytes });
    t.true(r.tokens * perToken <= budgetBytes, `${r.tokens} tokens exceed ${budgetBytes} bytes`);
    t.true((r.tokens + 1) * perToken > budgetBytes, `${r.tokens} tokens leave room for more`);
    t.regex(r.note, /auto: .* GiB activation budget at 1\.671 MB per token on cpu/);
  }
  t.is(resolveMicroBatchTokens('auto', { config, device: 'cpu', longest: 1000, budgetBytes: 8 * GiB }).tokens, 5140);
  // bf16 on CUDA halves the activations (the fp32 statistics stay): 836,356 bytes a token
  t.is(resolveMicroBatchTokens('auto', { config, device: 'cuda', longest: 1000, budgetBytes: 8 * GiB }).tokens, 10270);
});

test("'auto' is at least the longest sequence and at most AUTO_MAX_TOKENS; a number stays as given", (t) => {
  const config = presetConfig('qwen2.5-0.5b');
  const long = resolveMicroBatchTokens('auto', { config, device: 'cpu', longest: 6000, budgetBytes: 8 * GiB });
  t.is(long.tokens, 6000);
  t.is(
    long.note,
    '6000 tokens per micro-batch (the longest sequence needs more than the 8.0 GiB activation budget at 1.671 MB per token on cpu)',
  );
  const tiny = resolveMicroBatchTokens('auto', {
    config: presetConfig('tiny'),
    device: 'cpu',
    longest: 100,
    budgetBytes: 8 * GiB,
  });
  t.is(tiny.tokens, AUTO_MAX_TOKENS);
  t.regex(tiny.note, /capped at 16384/);
  const longTiny = resolveMicroBatchTokens('auto', {
    config: presetConfig('tiny'),
    device: 'cpu',
    longest: 20000,
    budgetBytes: 8 * GiB,
  });
  t.is(longTiny.tokens, 20000);
  t.regex(
    longTiny.note,
    /^20000 tokens per micro-batch \(auto: the longest sequence, above the cap of 16384; 8\.0 GiB/,
  );
  t.is(resolveMicroBatchTokens(777, { config, device: 'cpu', longest: 100 }).tokens, 777);
});

function fakeRun(config: unknown, checkpoint = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'ws-micro-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  if (checkpoint) {
    mkdirSync(join(dir, 'checkpoint-3'));
    writeFileSync(join(dir, 'checkpoint-3', 'state.json'), JSON.stringify({ step: 3, state: {} }));
    writeFileSync(join(dir, 'latest.json'), JSON.stringify({ checkpoint: 'checkpoint-3', step: 3 }));
  }
  return dir;
}

test('a resumed run reads the size it recorded; a fresh one or an explicit size does not', (t) => {
  const config = presetConfig('qwen2.5-0.5b');
  const dir = fakeRun({ microBatchTokens: 3000 });
  t.is(recordedMicroBatchTokens(dir), 3000);
  const opts = { runDir: dir, config, device: 'cpu' as const, longest: 100 };
  t.is(runMicroBatchTokens('auto', { ...opts, resume: true }).tokens, 3000);
  t.regex(runMicroBatchTokens('auto', { ...opts, resume: true }).note, /as the run recorded in .*config\.json/);
  t.not(runMicroBatchTokens('auto', { ...opts, resume: false }).tokens, 3000);
  t.is(runMicroBatchTokens(2048, { ...opts, resume: true }).tokens, 2048);
  t.is(recordedMicroBatchTokens(fakeRun({ microBatchTokens: 3000 }, false)), null, 'no checkpoint: nothing to resume');
  const bad = fakeRun({ microBatchTokens: 'auto' });
  t.throws(() => recordedMicroBatchTokens(bad), {
    message: new RegExp(`${join(bad, 'config.json')}: field "microBatchTokens" must be a positive integer`),
  });
});

test("sft records the resolved size; resumed with 'auto' it keeps it (and the same plan of steps)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-micro-sft-'));
  const kk = await tinyKK(join(dir, 'model'), 40);
  const { examples } = tokenizeSft(kk.tokenizer, kk.pairs, { maxLength: 512, overflow: 'drop' });
  const runDir = join(dir, 'run');
  const config = {
    ...SFT_PAPER,
    epochs: 1,
    lr: 1e-3,
    warmupSteps: 0,
    gradAccum: 1,
    valExamples: 4,
    evalEvery: 0,
    saveEvery: 0,
  };
  const ac = new AbortController();
  const logs: string[] = [];
  const first = await sft({
    model: await loadModel(kk.dir),
    examples,
    runDir,
    config: { ...config, microBatchTokens: 400 },
    signal: ac.signal,
    onProgress: (p) => {
      if (p.step === 2) ac.abort();
    },
    onLog: (m) => logs.push(m),
  });
  t.true(first.aborted);
  t.is(latestCheckpoint(runDir)!.step, 2);
  t.true(logs.includes('sft: 400 tokens per micro-batch, 1 micro-batch per optimizer step'), logs.join('\n'));
  const recorded = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { microBatchTokens: unknown };
  t.is(recorded.microBatchTokens, 400);

  // resumed with 'auto' (which would otherwise pick 16384 for this tiny model: one micro-batch)
  const resumedLogs: string[] = [];
  const second = await sft({
    model: await loadModel(kk.dir),
    examples,
    runDir,
    config,
    resume: true,
    onLog: (m) => resumedLogs.push(m),
  });
  t.false(second.aborted);
  t.is(second.totalSteps, first.totalSteps);
  t.true(second.totalSteps > 2);
  t.true(
    resumedLogs.some((l) => /400 tokens per micro-batch \(as the run recorded/.test(l)),
    resumedLogs.join('\n'),
  );
  t.is(
    (JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { microBatchTokens: unknown }).microBatchTokens,
    400,
  );
});
