// The model graph on the GPU, run by bench/gpu/run.sh with the CUDA addon (plain JavaScript, so
// the carried node runs it without node_modules):
//   curve: a tiny model (head dim 64) trained 20 SFT steps on the CPU and on CUDA from the same
//          weights and batches; the GPU losses must follow the CPU ones (|Δ| ≤ 0.03 + 0.02·loss
//          each step, both curves falling by 1 nat); also logprobs parity before training, and seeded
//          sampling on the GPU reproducible.
//   recompute: activation recomputation on the GPU: the gradients of a step that recomputes each
//          layer in the backward against those of one that stores every layer's activations, from
//          the same weights and batch (max |Δ| ≤ 1e-3·max |g|; bitwise where the kernels are
//          deterministic), and the two arenas' sizes.
//   step:  a Qwen2.5-0.5B-shaped training step (24 layers, hidden 896, 14/2 heads, FFN 4864, vocab
//          151936, tied; 8 sequences x 2048 tokens packed; AdamW, clip 1), the shapes of
//          torch_peers.py's step: tokens/s and MFU with its FLOP count.
// Prints one JSON line per result (results.jsonl), progress on stderr. Exit 1 when a check fails.
// Usage: node bench/gpu/model.mjs [curve|recompute|step]... [--addon PATH]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const at = args.indexOf('--addon');
const addonPath =
  at >= 0 ? args[at + 1] : new URL('../../build-cuda/Release/warmstart_cuda.node', import.meta.url).pathname;
const which = args.filter((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1));
const a = require(addonPath);
const gpu = a.cuda.gpuInfo();
console.error(`model.mjs on ${gpu.name} (sm ${gpu.computeCapability})`);

// A deterministic LCG: batches are the same on both devices.
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
// S sequences of length n, each repeating one of 16 fixed random motifs: something to learn fast.
function pool(V) {
  const r = lcg(42);
  return Array.from({ length: 16 }, () => Array.from({ length: 3 + Math.floor(r() * 5) }, () => Math.floor(r() * V)));
}
function batch(rand, V, S, n) {
  const T = S * n,
    tokens = new Int32Array(T),
    positions = new Int32Array(T),
    cu = new Int32Array(S + 1);
  const motifs = pool(V);
  for (let s = 0; s < S; s++) {
    const motif = motifs[Math.floor(rand() * motifs.length)];
    for (let i = 0; i < n; i++) {
      tokens[s * n + i] = motif[i % motif.length];
      positions[s * n + i] = i;
    }
    cu[s + 1] = (s + 1) * n;
  }
  return { tokens, positions, cu, T };
}
const out = (o) => console.log(JSON.stringify(o));
let failed = false;

async function curve() {
  const cfg = {
    vocabSize: 512,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    rmsEps: 1e-6,
    ropeTheta: 10000,
    tied: false,
  };
  const cpu = new a.Model(cfg, 'cpu'),
    gpuM = new a.Model(cfg, 'cuda');
  await cpu.initRandom(7, 0.02);
  await gpuM.initRandom(7, 0.02);
  const opt = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
  const probe = batch(lcg(99), cfg.vocabSize, 4, 64);
  const [lc, lg] = await Promise.all([cpu, gpuM].map((m) => m.logprobs(probe.tokens, probe.positions, probe.cu, 1)));
  let lpDiff = 0;
  for (let i = 0; i < lc.length; i++) lpDiff = Math.max(lpDiff, Math.abs(lc[i] - lg[i]));
  const rand = lcg(1);
  const losses = { cpu: [], cuda: [] };
  let worst = 0;
  for (let step = 0; step < 20; step++) {
    const b = batch(rand, cfg.vocabSize, 8, 128);
    const objective = { normaliser: b.T - 8 };
    for (const [name, m] of [
      ['cpu', cpu],
      ['cuda', gpuM],
    ]) {
      const r = await m.accumulate(b.tokens, b.positions, b.cu, objective);
      await m.optimizerStep(opt);
      losses[name].push(r.loss);
    }
    const c = losses.cpu[step],
      g = losses.cuda[step];
    worst = Math.max(worst, Math.abs(c - g) / (0.03 + 0.02 * Math.abs(c)));
    console.error(`step ${step}: cpu ${c.toFixed(4)}  cuda ${g.toFixed(4)}`);
  }
  const falls = (l) => l[l.length - 1] < l[0] - 0.5;
  const gen = () =>
    gpuM.generate(
      probe.tokens.subarray(0, 16),
      Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]),
      new Int32Array([0, 8, 16]),
      {
        maxNewTokens: 24,
        temperature: 1,
        topK: 0,
        topP: 0.95,
        seed: 5,
      },
    );
  const [g1, g2] = [await gen(), await gen()];
  const reproducible = JSON.stringify(g1.tokens.map((t) => [...t])) === JSON.stringify(g2.tokens.map((t) => [...t]));
  const ok = worst <= 1 && falls(losses.cpu) && falls(losses.cuda) && lpDiff < 0.1 && reproducible;
  failed ||= !ok;
  out({
    bench: 'model_curve',
    impl: 'warmstart',
    status: ok ? 'pass' : 'FAIL',
    steps: 20,
    worst_ratio_to_tol: worst,
    logprob_max_diff: lpDiff,
    sampling_reproducible: reproducible,
    loss_cpu: losses.cpu,
    loss_cuda: losses.cuda,
  });
}

async function recompute() {
  const cfg = {
    vocabSize: 512,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 3,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    rmsEps: 1e-6,
    ropeTheta: 10000,
    tied: false,
  };
  const [stored, recomputed] = [new a.Model(cfg, 'cuda'), new a.Model(cfg, 'cuda')];
  await stored.initRandom(11, 0.05);
  await recomputed.initRandom(11, 0.05);
  const b = batch(lcg(5), cfg.vocabSize, 6, 96);
  const objective = { normaliser: b.T - 6 };
  await stored.accumulate(b.tokens, b.positions, b.cu, objective, false);
  await recomputed.accumulate(b.tokens, b.positions, b.cu, objective, true);
  const [gs, gr] = [await stored.gradients(), await recomputed.gradients()];
  let diff = 0,
    scale = 0;
  for (let i = 0; i < gs.length; i++) {
    diff = Math.max(diff, Math.abs(gs[i] - gr[i]));
    scale = Math.max(scale, Math.abs(gs[i]));
  }
  const [arenaStored, arenaRecomputed] = [await stored.arenaBytes(), await recomputed.arenaBytes()];
  const ok = scale > 0 && diff <= 1e-3 * scale && arenaRecomputed < arenaStored;
  failed ||= !ok;
  out({
    bench: 'model_recompute',
    impl: 'warmstart',
    status: ok ? 'pass' : 'FAIL',
    grad_max_diff: diff,
    grad_max_abs: scale,
    bitwise: diff === 0,
    arena_stored: arenaStored,
    arena_recompute: arenaRecomputed,
  });
}

async function step() {
  const L = 24,
    C = 896,
    H = 14,
    KV = 2,
    F = 4864,
    V = 151936,
    S = 8,
    n = 2048;
  const cfg = {
    vocabSize: V,
    hiddenSize: C,
    intermediateSize: F,
    numLayers: L,
    numHeads: H,
    numKvHeads: KV,
    headDim: C / H,
    rmsEps: 1e-6,
    ropeTheta: 1e6,
    tied: true,
  };
  const m = new a.Model(cfg, 'cuda');
  await m.initRandom(0, 0.02);
  const rand = lcg(3);
  const b = batch(rand, V, S, n);
  for (let i = 0; i < b.T; i++) b.tokens[i] = Math.floor(rand() * V); // random ids, as the peer
  const opt = { lr: 1e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };
  const one = async () => {
    await m.accumulate(b.tokens, b.positions, b.cu, { normaliser: b.T - S });
    await m.optimizerStep(opt);
  };
  for (let i = 0; i < 2; i++) await one();
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    await one();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((x, y) => x - y);
  const med = ms[2],
    tokens = b.T,
    params = m.numParams();
  const flops = 6 * params * tokens + 6 * L * C * n * tokens; // torch_peers.py's count
  const peak = /H100|H200/.test(gpu.name) ? 989e12 : /A100/.test(gpu.name) ? 312e12 : NaN;
  out({
    bench: 'train_step',
    impl: 'warmstart_cuda',
    tokens,
    ms: med,
    tokens_per_s: (tokens / med) * 1e3,
    mfu: flops / (med / 1e3) / peak,
    params,
  });
}

for (const w of which.length ? which : ['curve', 'recompute', 'step']) {
  try {
    await { curve, recompute, step }[w]();
  } catch (e) {
    failed = true;
    out({
      bench: w === 'curve' ? 'model_curve' : w === 'recompute' ? 'model_recompute' : 'train_step',
      impl: 'warmstart',
      status: 'FAIL',
      error: String(e.message ?? e),
    });
  }
}
process.exit(failed ? 1 : 0);
