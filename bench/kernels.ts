// Every CPU op at Qwen2.5-0.5B shapes (hidden 896, 14 / 2 heads of 64, FFN 4864, vocab 151936,
// 2048 tokens), beside the PyTorch CPU eager peer (bench/peers/kernels.py) run on the same shapes
// and thread count from this command. Prints markdown tables for bench/RESULTS.md: median time
// per call, PyTorch / ours, GFLOP/s (compute-bound ops) or GB/s (memory-bound ops), and the
// fused head's peak extra memory beside the unfused versions' (full [T, V] logits).
//   npx tsx bench/kernels.ts [--threads 2] [--reps 3] [--quick]
// FLOP counts: matmul 2MKN forward, 4MKN backward; attention 4·D·Hq·Σ L(L+1)/2 forward, 2.5x
// that backward; decode 4·B·L·Hq·D; head 6·T·C·V (logits, dh, dW). Bytes: each array read or
// written once (read-modify-write of a gradient counts twice).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { cpu } from '../lib/engine/addon.js';
import { kernels } from '../lib/engine/kernels.js';
import { flag, has, quick } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const threads = flag('threads', 2);
const reps = flag('reps', 3);
const k = kernels();
cpu().setNumThreads(threads);

// Qwen2.5-0.5B
const T = quick ? 512 : 2048,
  C = 896,
  Hq = 14,
  Hkv = 2,
  D = 64,
  F = 4864,
  V = quick ? 32768 : 151936;
const HEAD_T = quick ? 128 : 512; // the head's T x V logits are the expensive part: fewer tokens
const chunkFor = (v: number, t: number) => Math.min(t, Math.max(16, Math.min(1024, Math.floor(2 ** 24 / v)))); // as the model does

let seed = 12345;
function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    a[i] = ((seed >>> 8) / 16777216 - 0.5) * 3.4 * scale;
  }
  return a;
}
function ints(n: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 0) % hi);
}

// Child process of the memory table: one head call; prints its peak RSS growth over what the
// process held before (Linux: the peak is reset through /proc/self/clear_refs, then read as VmHWM).
function status(): Record<string, number> {
  const s = readFileSync('/proc/self/status', 'utf8');
  return Object.fromEntries(
    ['VmRSS', 'VmHWM'].map((f) => [f, Number(new RegExp(`${f}:\\s+(\\d+)`).exec(s)![1]) * 1024]),
  );
}
if (has('mem-child')) {
  const chunk = flag('chunk', 1),
    t = flag('t', 1),
    v = flag('v', 1);
  const h = randn(t * C),
    W = randn(v * C, 0.05),
    y = ints(t, v),
    dh = new Float32Array(t * C).fill(1),
    dW = new Float32Array(v * C).fill(1);
  const before = status().VmRSS;
  writeFileSync('/proc/self/clear_refs', '5');
  k.fusedHead(null, dh, dW, h, W, y, t, C, v, { normaliser: t }, chunk, null);
  console.log(JSON.stringify({ peakExtraBytes: status().VmHWM - before }));
  process.exit(0);
}

function median(f: () => void): number {
  f(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

// The peer runs as one Python process that answers a case per line, so that each op's PyTorch
// timing is taken right after ours (the machine is shared: interleaving keeps the ratio fair).
const peerPath = join(here, 'peers', 'kernels.py');
const py = spawn('/usr/bin/python3', [peerPath, JSON.stringify({ threads, reps, serve: true })], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies = createInterface({ input: py.stdout! })[Symbol.asyncIterator]();
async function ask(msg: unknown): Promise<Record<string, number>> {
  py.stdin!.write(`${JSON.stringify(msg)}\n`);
  const line = await replies.next();
  if (line.done) throw new Error('bench/peers/kernels.py exited early');
  return JSON.parse(line.value);
}
const hello = (await ask({ hello: true })) as unknown as { torch: string; threads: number };

interface Row {
  op: string;
  shape: string;
  ours: number;
  peer: number;
  flops?: number;
  bytes?: number;
}
const rows: Row[] = [];

async function both(
  name: string,
  shape: string,
  peerCase: Record<string, unknown>,
  fwd: () => void,
  bwd: () => void,
  cost: { flops?: [number, number]; bytes?: [number, number] },
) {
  const f = median(fwd),
    b = median(bwd);
  const p = await ask(peerCase);
  rows.push({ op: `${name} forward`, shape, ours: f, peer: p.fwd, flops: cost.flops?.[0], bytes: cost.bytes?.[0] });
  rows.push({ op: `${name} backward`, shape, ours: b, peer: p.bwd, flops: cost.flops?.[1], bytes: cost.bytes?.[1] });
}

// ---- embedding, RMSNorm, RoPE, SwiGLU (memory-bound) ----------------------------------------
{
  const wte = randn(V * C),
    dwte = new Float32Array(V * C),
    tok = ints(T, V),
    out = new Float32Array(T * C),
    dout = randn(T * C);
  await both(
    'embedding',
    `T ${T}, C ${C}, V ${V}`,
    { op: 'embedding', T, C, V },
    () => k.embeddingForward(out, tok, wte, T, C, V),
    () => k.embeddingBackward(dwte, dout, tok, T, C, V),
    { bytes: [2 * T * C * 4, 3 * T * C * 4] },
  );
}
{
  const x = randn(T * C),
    w = randn(C),
    out = new Float32Array(T * C),
    rstd = new Float32Array(T);
  const dout = randn(T * C),
    dx = new Float32Array(T * C),
    dw = new Float32Array(C);
  await both(
    'rmsnorm',
    `T ${T}, C ${C}`,
    { op: 'rmsnorm', T, C },
    () => k.rmsnormForward(out, rstd, x, w, T, C, 1e-6),
    () => k.rmsnormBackward(dx, dw, dout, x, w, rstd, T, C),
    { bytes: [2 * T * C * 4, 5 * T * C * 4] },
  );
}
{
  const n = T * Hq * D,
    x = randn(n),
    out = new Float32Array(n),
    dx = new Float32Array(n),
    pos = Int32Array.from({ length: T }, (_, i) => i);
  await both(
    'rope (q)',
    `T ${T}, H ${Hq}, D ${D}`,
    { op: 'rope', T, H: Hq, D },
    () => k.ropeForward(out, x, pos, T, Hq, D, 1e6),
    () => k.ropeBackward(dx, x, pos, T, Hq, D, 1e6),
    { bytes: [2 * n * 4, 3 * n * 4] },
  );
}
{
  const N = T * F,
    g = randn(N),
    u = randn(N),
    out = new Float32Array(N),
    dout = randn(N),
    dg = new Float32Array(N),
    du = new Float32Array(N);
  await both(
    'swiglu',
    `T ${T} x F ${F}`,
    { op: 'swiglu', N },
    () => k.swigluForward(out, g, u, N),
    () => k.swigluBackward(dg, du, dout, g, u, N),
    { bytes: [3 * N * 4, 7 * N * 4] },
  );
}

// ---- attention -----------------------------------------------------------------------------
async function attention(name: string, lens: number[], peer: Record<string, unknown>) {
  const cu = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const q = randn(T * Hq * D),
    kk = randn(T * Hkv * D),
    v = randn(T * Hkv * D);
  const out = new Float32Array(T * Hq * D),
    lse = new Float32Array(T * Hq),
    dout = randn(T * Hq * D);
  const dq = new Float32Array(q.length),
    dk = new Float32Array(kk.length),
    dv = new Float32Array(v.length);
  const fl = 4 * D * Hq * lens.reduce((a, l) => a + (l * (l + 1)) / 2, 0);
  k.attentionForward(out, lse, q, kk, v, cu, lens.length, T, Hq, Hkv, D);
  both(
    name,
    `${lens.length} x ${lens[0]} tokens, Hq ${Hq}, Hkv ${Hkv}, D ${D}`,
    peer,
    () => k.attentionForward(out, lse, q, kk, v, cu, lens.length, T, Hq, Hkv, D),
    () => k.attentionBackward(dq, dk, dv, dout, q, kk, v, out, lse, cu, lens.length, T, Hq, Hkv, D),
    { flops: [fl, 2.5 * fl] },
  );
}
await attention('attention', [T], { op: 'attention', T, Hq, Hkv, D });
{
  const B = 8,
    L = T,
    q = randn(B * Hq * D),
    kc = randn(B * L * Hkv * D),
    vc = randn(B * L * Hkv * D),
    out = new Float32Array(B * Hq * D);
  const lens = Int32Array.from({ length: B }, () => L);
  const ours = median(() => k.attentionDecode(out, q, kc, vc, lens, B, L, Hq, Hkv, D));
  rows.push({
    op: 'attention decode',
    shape: `B ${B}, cache ${L}, Hq ${Hq}, Hkv ${Hkv}, D ${D}`,
    ours,
    peer: (await ask({ op: 'decode', B, L, Hq, Hkv, D })).fwd,
    flops: 4 * B * L * Hq * D,
    bytes: 2 * B * L * Hkv * D * 4,
  });
}

// ---- matmul (Linear) -----------------------------------------------------------------------
async function linear(name: string, M: number, K: number, N: number) {
  const x = randn(M * K),
    w = randn(N * K, 0.05),
    out = new Float32Array(M * N),
    dout = randn(M * N);
  const dx = new Float32Array(M * K),
    dw = new Float32Array(N * K);
  both(
    name,
    `M ${M}, K ${K}, N ${N}`,
    { op: 'matmul', M, K, N },
    () => k.matmulForward(out, x, w, null, M, K, N),
    () => k.matmulBackward(dx, dw, null, dout, x, w, M, K, N),
    { flops: [2 * M * K * N, 4 * M * K * N] },
  );
}
await linear('matmul gate+up', T, C, 2 * F);
await linear('matmul down', T, F, C);

// ---- fused head ----------------------------------------------------------------------------
const headChunk = chunkFor(V, HEAD_T);
{
  const h = randn(HEAD_T * C),
    W = randn(V * C, 0.05),
    y = ints(HEAD_T, V);
  const dh = new Float32Array(HEAD_T * C),
    dW = new Float32Array(V * C),
    logp = new Float32Array(HEAD_T);
  const scratch = new Float32Array(headChunk * V);
  const ours = median(() =>
    k.fusedHead(logp, dh, dW, h, W, y, HEAD_T, C, V, { normaliser: HEAD_T }, headChunk, scratch),
  );
  rows.push({
    op: `fused head fwd+bwd (chunk ${headChunk})`,
    shape: `T ${HEAD_T}, C ${C}, V ${V}`,
    ours,
    peer: (await ask({ op: 'head', T: HEAD_T, C, V })).fwdbwd,
    flops: 6 * HEAD_T * C * V,
  });
}
py.stdin!.end();

const peerRun = (arg: unknown) =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [peerPath, JSON.stringify(arg)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop() as string,
  );

const ms = (s: number) => (s * 1e3).toFixed(s < 0.01 ? 2 : 1);
const lines = [
  `threads ${threads}, median of ${reps} after a warm-up; PyTorch ${hello.torch} (${hello.threads} threads), CPU eager as in HF Qwen2 modelling`,
  '',
  '| op | shape | ours ms | PyTorch ms | PyTorch / ours | ours GFLOP/s | ours GB/s |',
  '|---|---|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  lines.push(
    `| ${r.op} | ${r.shape} | ${ms(r.ours)} | ${ms(r.peer)} | ${(r.peer / r.ours).toFixed(2)} | ${r.flops ? (r.flops / r.ours / 1e9).toFixed(1) : '-'} | ${r.bytes ? (r.bytes / r.ours / 1e9).toFixed(1) : '-'} |`,
  );
}

// ---- the head's peak memory, each variant in a fresh process ---------------------------------
// (peak RSS growth over the inputs h, W and their gradient buffers, which every variant holds)
{
  const child = (chunk: number) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--mem-child',
          '--chunk',
          String(chunk),
          '--t',
          String(HEAD_T),
          '--v',
          String(V),
          '--threads',
          String(threads),
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n')
        .pop() as string,
    ).peakExtraBytes as number;
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const fused = child(headChunk),
    unfused = child(HEAD_T),
    torchMem = peerRun({ threads, mem: { T: HEAD_T, C, V } }).peakExtraBytes as number;
  lines.push(
    '',
    `Head peak memory, T ${HEAD_T}, C ${C}, V ${V} (full logits T x V x 4 B = ${mib(HEAD_T * V * 4)} MiB):`,
    '',
    '| head, forward + backward | peak extra MiB |',
    '|---|---:|',
    `| ours fused, chunk ${headChunk} (${mib(headChunk * V * 4)} MiB of logits) | ${mib(fused)} |`,
    `| ours unfused (chunk = T: full logits) | ${mib(unfused)} |`,
    `| PyTorch unfused (logits, log_softmax, gather, autograd) | ${mib(torchMem)} |`,
  );
  console.log(lines.join('\n'));
}
