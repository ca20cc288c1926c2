// The Qwen2 model through the library API: save/load, packing, generation against the
// teacher-forced forward, seeded sampling, determinism of training, gradient accumulation, and
// clear errors for every kind of bad model folder.
import test from 'ava';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  statSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packSequences } from '../../lib/engine/batch.js';
import { initModel, loadModel, type Model } from '../../lib/index.js';
import { cpu, cuda } from '../../lib/engine/addon.js';
import { nativeConfig } from '../../lib/engine/config.js';
import { arenaBytes } from '../../lib/engine/memory.js';

const SMALL = {
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};
const V = 61;

const made: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ws-model-'));
  made.push(d);
  return d;
}
// a failed assertion must not leave folders behind
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

async function small(seed = 1, tied = true, std = 0.2): Promise<Model> {
  return initModel({ preset: 'tiny', vocabSize: V, seed, std, overrides: { ...SMALL, tie_word_embeddings: tied } });
}

function seqs(seed: number, lens: number[]): number[][] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % V;
  };
  return lens.map((n) => Array.from({ length: n }, next));
}

function batchOf(ss: number[][]) {
  return packSequences(
    ss.map((ids) => ({ ids: Int32Array.from(ids), tokenWeights: new Float32Array(ids.length).fill(1) })),
  );
}

test('save → load is bit-exact in f32 and writes the Hugging Face folder', async (t) => {
  const dir = tmp();
  const m = await small(3, false);
  await m.save(join(dir, 'm'));
  const names = readdirSync(join(dir, 'm')).sort();
  t.deepEqual(names, ['config.json', 'model.safetensors']);
  const cfg = JSON.parse(readFileSync(join(dir, 'm', 'config.json'), 'utf8'));
  t.deepEqual(cfg.architectures, ['Qwen2ForCausalLM']);
  t.is(cfg.torch_dtype, 'float32');
  t.is(cfg.tie_word_embeddings, false);
  const back = await loadModel(join(dir, 'm'));
  const s = seqs(5, [9, 4]);
  const a = await m.logprobs(s);
  const b = await back.logprobs(s);
  t.deepEqual(b, a);
  // saving again writes the same bytes
  await back.save(join(dir, 'm2'));
  t.deepEqual(readFileSync(join(dir, 'm2', 'model.safetensors')), readFileSync(join(dir, 'm', 'model.safetensors')));
  // no temporary folders are left behind
  t.deepEqual(readdirSync(dir).sort(), ['m', 'm2']);
  rmSync(dir, { recursive: true });
});

test('save shards above the size limit, replaces an old folder and copies tokenizer files', async (t) => {
  const dir = tmp();
  const src = join(dir, 'src');
  const m = await small(4);
  await m.save(src);
  writeFileSync(join(src, 'tokenizer.json'), '{"fake": true}');
  writeFileSync(join(src, 'tokenizer_config.json'), '{}');
  const loaded = await loadModel(src);
  await loaded.save(join(dir, 'out'), { maxShardBytes: 20_000 });
  const files = readdirSync(join(dir, 'out')).sort();
  t.true(files.includes('model.safetensors.index.json'));
  t.true(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length > 1);
  t.true(files.includes('tokenizer.json') && files.includes('tokenizer_config.json'));
  const back = await loadModel(join(dir, 'out'));
  const s = seqs(6, [7]);
  t.deepEqual(await back.logprobs(s), await m.logprobs(s));
  // bf16 over the same folder: replaced whole, loads, logprobs close to f32
  await back.save(join(dir, 'out'), { dtype: 'bf16' });
  t.deepEqual(
    readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.safetensors')),
    ['model.safetensors'],
  );
  t.is(JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  t.true(existsSync(join(dir, 'out', 'tokenizer.json')));
  const b16 = await loadModel(join(dir, 'out'));
  const [x] = await b16.logprobs(s);
  const [y] = await m.logprobs(s);
  for (let i = 0; i < x.length; i++) t.true(Math.abs(x[i] - y[i]) < 0.05);
  // f16 as well
  await m.save(join(dir, 'h'), { dtype: 'f16' });
  t.is(JSON.parse(readFileSync(join(dir, 'h', 'config.json'), 'utf8')).torch_dtype, 'float16');
  const [z] = await (await loadModel(join(dir, 'h'))).logprobs(s);
  for (let i = 0; i < z.length; i++) t.true(Math.abs(z[i] - y[i]) < 0.01);
  rmSync(dir, { recursive: true });
});

test('packed logprobs equal one sequence at a time, temperature divides the logits', async (t) => {
  const m = await small(5);
  const s = seqs(7, [6, 1, 11, 3]);
  const packed = await m.logprobs(s, { temperature: 0.7 });
  t.deepEqual(
    packed.map((a) => a.length),
    [5, 0, 10, 2],
  );
  for (let i = 0; i < s.length; i++) {
    const [one] = await m.logprobs([s[i]], { temperature: 0.7 });
    for (let j = 0; j < one.length; j++) t.true(Math.abs(one[j] - packed[i][j]) <= 1e-5, `seq ${i} token ${j}`);
  }
  const hot = await m.logprobs([s[2]], { temperature: 2 });
  t.notDeepEqual(hot[0], packed[2]);
  // the batch form is aligned to the targets, 0 at each sequence's end
  const lp = await m.batchLogprobs(batchOf(s), { temperature: 0.7 });
  t.is(lp[5], 0);
  t.true(Math.abs(lp[6 + 1 + 3] - packed[2][3]) <= 1e-6);
});

test('greedy generation reproduces the argmax of the teacher-forced logits', async (t) => {
  const m = await small(6);
  const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10]];
  const g = await m.generate(prompts, { maxNewTokens: 5, temperature: 0 });
  t.deepEqual(g.finishReasons, ['length', 'length', 'length']);
  for (let p = 0; p < prompts.length; p++) {
    t.is(g.tokens[p].length, 5);
    const seq = [...prompts[p]];
    for (let i = 0; i < 5; i++) {
      // teacher-forced log p of every candidate next token
      const cands = Array.from({ length: V }, (_, v) => [...seq, v]);
      const lps = await m.logprobs(cands);
      const scores = lps.map((a) => a[a.length - 1]);
      const best = scores.indexOf(Math.max(...scores));
      t.is(g.tokens[p][i], best, `prompt ${p} step ${i}`);
      t.true(Math.abs(g.logprobs[p][i] - scores[best]) < 1e-4);
      seq.push(g.tokens[p][i]);
    }
  }
});

test('seeded sampling is reproducible, stops on stop tokens, logprobs match the sampling policy', async (t) => {
  const m = await small(7);
  const prompts = [[1, 2], [3], [4, 5, 6]];
  const o = { maxNewTokens: 12, temperature: 0.8, topP: 0.95, topK: 20, seed: 42 };
  const a = await m.generate(prompts, o);
  const b = await m.generate(prompts, o);
  t.deepEqual(a, b);
  const c = await m.generate(prompts, { ...o, seed: 43 });
  t.notDeepEqual(c.tokens, a.tokens);
  // each returned logprob is log softmax(logits / T) of the sampled token, as the trainer sees it
  const full = prompts.map((p, i) => [...p, ...a.tokens[i]]);
  const tf = await m.logprobs(full, { temperature: 0.8 });
  for (let i = 0; i < prompts.length; i++) {
    for (let j = 0; j < a.tokens[i].length; j++) {
      t.true(Math.abs(tf[i][prompts[i].length - 1 + j] - a.logprobs[i][j]) < 1e-4);
    }
  }
  const stop = a.tokens[0][3];
  const s = await m.generate(prompts, { ...o, stopTokens: [stop] });
  t.is(s.finishReasons[0], 'stop');
  t.is(s.tokens[0][s.tokens[0].length - 1], stop);
  t.true(s.tokens[0].length <= 4);
  t.deepEqual(s.tokens[0], a.tokens[0].slice(0, s.tokens[0].length));
});

test('onTokens sees every token once, in order; per-prompt limits; a signal stops its prompt alone', async (t) => {
  const m = await small(8);
  const prompts = [[1, 2], [3], [4, 5, 6]];
  const o = { maxNewTokens: 30, temperature: 1, seed: 5 };
  const all = await m.generate(prompts, o);
  const seen: number[][] = [[], [], []];
  const seenLp: number[][] = [[], [], []];
  const g = await m.generate(prompts, {
    ...o,
    onTokens: (step) =>
      step.forEach((x) => {
        seen[x.prompt].push(x.token);
        seenLp[x.prompt].push(x.logprob);
      }),
  });
  t.deepEqual(g, all);
  t.deepEqual(
    seen,
    all.tokens.map((x) => [...x]),
  );
  t.deepEqual(
    seenLp,
    all.logprobs.map((x) => [...x]),
  );

  const lim = await m.generate(prompts, { ...o, maxNewTokens: [3, 30, 7] });
  t.deepEqual(lim.tokens, [all.tokens[0].slice(0, 3), all.tokens[1], all.tokens[2].slice(0, 7)]);
  t.deepEqual(lim.finishReasons, ['length', 'length', 'length']);

  // prompt 1's signal fires at its 4th token: it stops within two more, the others run on
  const ctl = new AbortController();
  let n1 = 0;
  const ab = await m.generate(prompts, {
    ...o,
    signals: [undefined, ctl.signal, undefined],
    onTokens: (step) => {
      for (const x of step) if (x.prompt === 1 && ++n1 === 4) ctl.abort();
    },
  });
  t.is(ab.finishReasons[1], 'abort');
  t.true(ab.tokens[1].length >= 4 && ab.tokens[1].length <= 6, `${ab.tokens[1].length} tokens`);
  t.deepEqual(ab.tokens[1], all.tokens[1].slice(0, ab.tokens[1].length));
  t.deepEqual([ab.tokens[0], ab.tokens[2]], [all.tokens[0], all.tokens[2]]);
  // one signal for the whole call
  const whole = new AbortController();
  const w = await m.generate(prompts, { ...o, signal: whole.signal, onTokens: () => whole.abort() });
  t.deepEqual(w.finishReasons, ['abort', 'abort', 'abort']);
  t.true(
    w.tokens.every((x) => x.length <= 3),
    w.tokens.map((x) => x.length).join(' '),
  );

  // a callback that throws stops the generation and rejects with its error
  await t.throwsAsync(
    m.generate(prompts, {
      ...o,
      onTokens: () => {
        throw new Error('sink failed');
      },
    }),
    { message: 'sink failed' },
  );
  // bad options are named
  await t.throwsAsync(m.generate(prompts, { ...o, maxNewTokens: [3, 4] }), {
    instanceOf: RangeError,
    message: /maxNewTokens has 2 limits for 3 prompts/,
  });
  await t.throwsAsync(m.generate(prompts, { ...o, maxNewTokens: [3, 0, 4] }), {
    instanceOf: RangeError,
    message: /maxNewTokens\[1\]/,
  });
  await t.throwsAsync(m.generate(prompts, { ...o, signals: [undefined] }), {
    instanceOf: RangeError,
    message: /signals has 1 entries/,
  });
  await t.throwsAsync(m.generate(prompts, { ...o, signals: [undefined, 'x' as unknown as AbortSignal, undefined] }), {
    instanceOf: TypeError,
    message: /signals\[1\]/,
  });
  await t.throwsAsync(m.generate(prompts, { ...o, onTokens: 3 as unknown as () => void }), {
    instanceOf: TypeError,
    message: /onTokens/,
  });
  // the model still works afterwards
  t.deepEqual(await m.generate(prompts, o), all);
});

test('same seed, same threads: bitwise the same losses over 10 steps', async (t) => {
  const run = async () => {
    const m = await small(8);
    const tr = m.trainer({ lr: 3e-3, betas: [0.9, 0.99], weightDecay: 0.1, maxGradNorm: 1 });
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await tr.step(batchOf(seqs(100 + i, [12, 7, 9])));
      losses.push(r.loss, r.gradNorm as number);
    }
    return losses;
  };
  const a = await run();
  const b = await run();
  t.deepEqual(a, b);
  t.true(a[18] < a[0], `loss fell: ${a[0]} -> ${a[18]}`);
});

test('calls in flight at once run one at a time on the model and agree with sequential calls', async (t) => {
  const m = await small(14);
  const s = seqs(15, [8, 5]);
  const before = await m.logprobs(s);
  const tr = m.trainer({ lr: 1e-2 });
  // the logprobs queued before the step see the old weights, the ones queued after see the new
  const [a, step, b] = await Promise.all([m.logprobs(s), tr.step(batchOf(s)), m.logprobs(s)]);
  t.deepEqual(a, before);
  t.true(step.updated);
  t.notDeepEqual(b, before);
  t.deepEqual(await m.logprobs(s), b);
});

test('accumulating two halves equals one step on the whole batch', async (t) => {
  const whole = await small(9);
  const split = await small(9);
  const s = seqs(11, [8, 5, 9, 6]);
  const all = batchOf(s);
  const total = all.weights.reduce((x, y) => x + y, 0);
  const opts = { lr: 1e-2, weightDecay: 0.1, maxGradNorm: 0.5 };
  const r1 = await whole.trainer(opts).step(all);
  const tr = split.trainer(opts);
  const h1 = await tr.step(batchOf(s.slice(0, 2)), { normaliser: total, accumulate: true });
  t.is(h1.gradNorm, null);
  t.is(tr.pending, 1);
  const h2 = await tr.step(batchOf(s.slice(2)), { normaliser: total });
  t.true(Math.abs(h1.loss + h2.loss - r1.loss) < 1e-5);
  t.true(Math.abs((h2.gradNorm as number) - (r1.gradNorm as number)) < 1e-4 * (r1.gradNorm as number));
  t.is(tr.stepCount, 1);
  const [x] = await whole.logprobs([s[0]]);
  const [y] = await split.logprobs([s[0]]);
  for (let i = 0; i < x.length; i++) t.true(Math.abs(x[i] - y[i]) < 1e-5);
});

test('activation recomputation gives the gradients, losses and updates of stored activations', async (t) => {
  // 3 layers, untied: the first, a middle and the last layer take different paths in the backward
  const make = () =>
    initModel({
      preset: 'tiny',
      vocabSize: V,
      seed: 12,
      std: 0.2,
      overrides: { ...SMALL, num_hidden_layers: 3, tie_word_embeddings: false },
    });
  const stored = await make();
  const recomputed = await make();
  const opts = { lr: 1e-2, weightDecay: 0.1, maxGradNorm: 0.5 };
  const ta = stored.trainer(opts);
  const tb = recomputed.trainer({ ...opts, gradientCheckpointing: true });
  t.false(ta.gradientCheckpointing);
  t.true(tb.gradientCheckpointing);
  const s = seqs(13, [9, 4, 12, 7]);
  const advantages = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i + 1));
  for (const [k, part] of [s.slice(0, 2), s.slice(2)].entries()) {
    const b = batchOf(part);
    const adv = advantages.subarray(0, b.tokens.length);
    const ra = await ta.step(b, { normaliser: 40, advantages: adv, accumulate: k === 0 });
    const rb = await tb.step(b, { normaliser: 40, advantages: adv, accumulate: true });
    t.true(Math.abs(ra.loss - rb.loss) <= 1e-6 * Math.abs(ra.loss), `loss ${ra.loss} vs ${rb.loss}`);
    if (k === 0) {
      const [ga, gb] = [await stored.native.gradients(), await recomputed.native.gradients()];
      t.is(ga.length, gb.length);
      let worst = 0;
      let nonzero = 0;
      for (let i = 0; i < ga.length; i++) {
        if (ga[i] !== 0) nonzero++;
        worst = Math.max(worst, Math.abs(gb[i] - ga[i]) / Math.max(Math.abs(ga[i]), 1e-30));
      }
      t.true(nonzero > ga.length / 2, 'the gradients are not trivially zero');
      t.true(worst <= 1e-6, `largest relative difference ${worst}`);
    }
  }
  await tb.update();
  // the recompute arena: each layer's input and one layer's activations, less than storing all
  const T = 19;
  t.true(arenaBytes(recomputed.config, 'cpu', T, true, true) < arenaBytes(recomputed.config, 'cpu', T, true, false));
  t.is(await recomputed.native.arenaBytes(), arenaBytes(recomputed.config, 'cpu', T, true, true));
  const [x] = await stored.logprobs([s[0]]);
  const [y] = await recomputed.logprobs([s[0]]);
  t.deepEqual(Array.from(y), Array.from(x));
  t.throws(() => stored.trainer({ lr: 1, gradientCheckpointing: 'yes' as unknown as boolean }), {
    instanceOf: TypeError,
    message: /gradientCheckpointing must be a boolean/,
  });
});

test('optimizer state saves and restores: resumed training matches uninterrupted training', async (t) => {
  const dir = tmp();
  const opts = { lr: 5e-3, betas: [0.9, 0.99] as [number, number], weightDecay: 0.01, maxGradNorm: 1 };
  const a = await small(10);
  const ta = a.trainer(opts);
  for (let i = 0; i < 2; i++) await ta.step(batchOf(seqs(200 + i, [10, 6])));
  await a.save(join(dir, 'model'));
  await ta.saveState(join(dir, 'opt'));
  const third = await ta.step(batchOf(seqs(202, [10, 6])));
  const b = await loadModel(join(dir, 'model'));
  const tb = b.trainer(opts);
  await tb.loadState(join(dir, 'opt'));
  t.is(tb.stepCount, 2);
  const resumed = await tb.step(batchOf(seqs(202, [10, 6])));
  t.is(resumed.loss, third.loss);
  t.is(resumed.gradNorm, third.gradNorm);
  const s = seqs(3, [9]);
  t.deepEqual(await b.logprobs(s), await a.logprobs(s));
  // a state file of another shape is refused and changes nothing
  const other = await initModel({ preset: 'tiny', vocabSize: V + 1, seed: 1, overrides: SMALL });
  const to = other.trainer(opts);
  await t.throwsAsync(to.loadState(join(dir, 'opt')), { message: /optimizer\.safetensors/ });
  t.is(to.stepCount, 0);
  rmSync(dir, { recursive: true });
});

// ---- parity with the PyTorch reference (test/fixtures/qwen2, bench/reference/make_fixtures.py) ----

for (const name of ['tied', 'untied']) {
  test(`${name} fixture: logprobs and 3 AdamW steps match the PyTorch reference`, async (t) => {
    const dir = join('test', 'fixtures', 'qwen2', name);
    const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    const m = await loadModel(dir);
    t.is(m.config.tieWordEmbeddings, name === 'tied');
    const seqs: number[][] = inputs.sequences;
    const close = (got: Float32Array[], want: number[][], tol: number, what: string) => {
      let worst = 0;
      want.forEach((w, s) =>
        w.forEach((x, i) => {
          worst = Math.max(worst, Math.abs(got[s][i] - x));
        }),
      );
      t.true(worst <= tol, `${what}: max |diff| ${worst} > ${tol}`);
    };
    close(await m.logprobs(seqs), expected.logprobs.temperature_1, 1e-4, 'logprobs');
    close(
      await m.logprobs(seqs, { temperature: expected.logprobs.temperature }),
      expected.logprobs.at_temperature,
      1e-4,
      'logprobs at T',
    );
    const tr = expected.train;
    const trainer = m.trainer({
      lr: tr.lr,
      betas: tr.betas,
      eps: tr.eps,
      weightDecay: tr.weight_decay,
      maxGradNorm: tr.max_grad_norm,
    });
    const batch = packSequences(
      seqs.map((ids, s) => ({ ids: Int32Array.from(ids), tokenWeights: Float32Array.from(inputs.token_weights[s]) })),
    );
    for (let i = 0; i < tr.steps; i++) {
      const r = await trainer.step(batch, { normaliser: inputs.normaliser });
      t.true(Math.abs(r.loss - tr.losses[i]) <= 1e-3 * tr.losses[i], `step ${i} loss ${r.loss} vs ${tr.losses[i]}`);
      t.true(Math.abs((r.gradNorm as number) - tr.grad_norms[i]) <= 1e-3 * tr.grad_norms[i], `step ${i} grad norm`);
    }
    close(await m.logprobs(seqs), tr.logprobs_after, 1e-3, 'logprobs after 3 steps');
  });
}

// ---- load errors --------------------------------------------------------------------------------

async function savedSmall(dir: string, tied = true): Promise<string> {
  const m = await small(12, tied);
  await m.save(dir);
  return dir;
}

function editConfig(dir: string, f: (c: Record<string, unknown>) => void): void {
  const file = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8'));
  f(c);
  writeFileSync(file, JSON.stringify(c));
}

test('load errors name the file and the field or tensor', async (t) => {
  const root = tmp();
  const fresh = async (name: string, tied = true) => savedSmall(join(root, name), tied);

  await t.throwsAsync(loadModel(join(root, 'nowhere')), { message: /nowhere: no such model folder/ });

  let d = await fresh('noweights');
  unlinkSync(join(d, 'model.safetensors'));
  await t.throwsAsync(loadModel(d), { message: /model\.safetensors/ });

  d = await fresh('noconfig');
  unlinkSync(join(d, 'config.json'));
  await t.throwsAsync(loadModel(d), { message: /config\.json: cannot read/ });

  d = await fresh('arch');
  editConfig(d, (c) => {
    c.architectures = ['LlamaForCausalLM'];
    c.model_type = 'llama';
  });
  await t.throwsAsync(loadModel(d), { message: /config\.json: field "architectures".*unknown architecture/ });

  d = await fresh('badfield');
  editConfig(d, (c) => {
    c.num_key_value_heads = 3;
  });
  await t.throwsAsync(loadModel(d), { message: /config\.json: field "num_key_value_heads"/ });

  d = await fresh('missing');
  editConfig(d, (c) => {
    c.num_hidden_layers = 3;
  });
  await t.throwsAsync(loadModel(d), {
    message: /model\.safetensors: missing tensor "model\.layers\.2\.input_layernorm\.weight"/,
  });

  d = await fresh('untiedmissing');
  editConfig(d, (c) => {
    c.tie_word_embeddings = false;
  });
  await t.throwsAsync(loadModel(d), { message: /missing tensor "lm_head\.weight"/ });

  d = await fresh('unexpected');
  editConfig(d, (c) => {
    c.num_hidden_layers = 1;
  });
  await t.throwsAsync(loadModel(d), { message: /model\.safetensors: unexpected tensor "model\.layers\.1\./ });

  d = await fresh('shape');
  editConfig(d, (c) => {
    c.intermediate_size = 40;
  });
  await t.throwsAsync(loadModel(d), {
    message: /model\.safetensors: tensor "model\.layers\.0\.mlp\.(gate|up|down)_proj\.weight" has shape/,
  });

  d = await fresh('truncated');
  const f = join(d, 'model.safetensors');
  truncateSync(f, statSync(f).size - 8);
  await t.throwsAsync(loadModel(d), { message: /model\.safetensors/ });

  d = await fresh('header');
  const bytes = readFileSync(join(d, 'model.safetensors'));
  bytes.writeBigUInt64LE(1n << 40n, 0);
  writeFileSync(join(d, 'model.safetensors'), bytes);
  await t.throwsAsync(loadModel(d), { message: /model\.safetensors/ });

  d = await fresh('dtype');
  writeFileSync(
    join(d, 'model.safetensors'),
    retypeTensor(readFileSync(join(d, 'model.safetensors')), 'model.norm.weight', 'I32'),
  );
  await t.throwsAsync(loadModel(d), { message: /model\.norm\.weight/ });
  rmSync(root, { recursive: true });
});

test('a failed reload leaves the weights untouched', async (t) => {
  const root = tmp();
  const d = await savedSmall(join(root, 'good'));
  const m = await loadModel(d);
  const s = seqs(13, [10]);
  const before = await m.logprobs(s);
  const bad = await savedSmall(join(root, 'bad'));
  // a valid file whose last tensor is cut off: every earlier tensor is readable
  const f = join(bad, 'model.safetensors');
  const other = await small(99);
  await other.save(join(root, 'other'));
  writeFileSync(f, readFileSync(join(root, 'other', 'model.safetensors')));
  truncateSync(f, statSync(f).size - 4);
  await t.throwsAsync(m.loadWeights(bad));
  t.deepEqual(await m.logprobs(s), before);
  editConfig(bad, (c) => {
    c.hidden_size = 64;
  });
  await t.throwsAsync(m.loadWeights(bad), { message: /hiddenSize is 64, this model has 32/ });
  rmSync(root, { recursive: true });
});

// Rewrites one F32 tensor's dtype in a safetensors header (same byte size, so the file stays
// well-formed): a test of the loader's dtype check.
function retypeTensor(file: Buffer, name: string, dtype: string): Buffer {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  header[name].dtype = dtype;
  let text = JSON.stringify(header);
  if (text.length > n) throw new Error('header grew');
  text = text.padEnd(n, ' ');
  return Buffer.concat([file.subarray(0, 8), Buffer.from(text, 'utf8'), file.subarray(8 + n)]);
}

test("device 'cuda' gets the CUDA addon's model where it loads, else an error naming the device", async (t) => {
  const dir = tmp();
  const m = await small();
  await m.save(dir);
  const bad = { message: /device must be 'cpu' or 'cuda', got gpu/, instanceOf: RangeError };
  await t.throwsAsync(loadModel(dir, { device: 'gpu' as never }), bad);
  await t.throwsAsync(initModel({ preset: 'tiny', device: 'gpu' as never }), bad);
  if (cuda().addon) {
    const g = await loadModel(dir, { device: 'cuda' });
    t.is(g.device, 'cuda');
    return;
  }
  const why = { message: new RegExp(`device 'cuda' is not available \\(CUDA addon: ${escape(cuda().reason)}\\)`) };
  await t.throwsAsync(loadModel(dir, { device: 'cuda' }), why);
  await t.throwsAsync(initModel({ preset: 'tiny', vocabSize: V, overrides: SMALL, device: 'cuda' }), why);
  // The CPU addon's own Model refuses 'cuda' too, naming the build.
  t.throws(() => new (cpu().Model)(nativeConfig(m.config), 'cuda'), { message: /device 'cuda' needs the CUDA addon/ });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
