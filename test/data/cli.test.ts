import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';
import { Command } from 'commander';

import { histogram, registerData } from '../../lib/cli/data.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'ws-cli-'));
const KK3 = '../shared/data/knights-and-knaves-logic-rl/3ppl/test.parquet';

// Runs `warmstart data …` in-process and returns what it printed.
async function data(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerData(program);
  const out: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => out.push(xs.join(' '));
  try {
    await program.parseAsync(['node', 'warmstart', 'data', ...args]);
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

test.serial('inspect shows counts, skipped records and the loss mask', async (t) => {
  const f = join(dir, 'sft.jsonl');
  writeFileSync(
    f,
    [JSON.stringify({ q: 'Who lies?', a: ' Zoey.' }), 'oops', JSON.stringify({ q: 'And now?', a: ' Nobody.' })].join(
      '\n',
    ),
  );
  const out = await data('inspect', f, '--prompt-field', 'q', '--completion-field', 'a', '--skip-bad');
  t.regex(out, /records {5}2 read, 1 skipped \(first: .*sft\.jsonl:line 2: invalid JSON/);
  t.regex(out, /examples {4}2 whole, 0 truncated, 0 dropped/);
  t.true(out.includes('Who lies?⟦ Zoey.<|im_end|>⟧'));
  await t.throwsAsync(data('inspect', f, '--prompt-field', 'q', '--completion-field', 'a'), {
    message: /sft\.jsonl:line 2: invalid JSON/,
  });
});

test.serial('inspect --kk renders the paper prompt unweighted and the trace weighted', async (t) => {
  const out = await data('inspect', KK3, '--kk-columns', '--max-length', '400', '--overflow', 'drop');
  t.regex(out, /records {5}100 read, 0 skipped/);
  const m = /examples {4}(\d+) whole, 0 truncated, (\d+) dropped/.exec(out)!;
  t.is(Number(m[1]) + Number(m[2]), 100);
  t.true(Number(m[2]) > 0);
  t.regex(out, /\nAssistant: <think>⟦\nLet's think step by step/);
  t.regex(out, /<\/answer><\|im_end\|>⟧$/);
});

test.serial('pack reports the split, the batches and their fill rate', async (t) => {
  const out = await data('pack', KK3, '--kk-columns', '--budget', '4096', '--val', '10', '--seed', '3');
  t.regex(out, /split {7}90 train, 10 validation \(seed 3\)/);
  const batches = Number(/batches {5}(\d+) of ≤ 4096 tokens/.exec(out)![1]);
  const tokens = Number(/tokens {6}(\d+) packed/.exec(out)![1]);
  const fill = Number(/fill rate {3}([\d.]+)%/.exec(out)![1]);
  t.is(fill, Number(((100 * tokens) / (batches * 4096)).toFixed(2)));
  t.true(fill > 90, `fill ${fill}`); // 90 examples only: the last batch is part-full
  await t.throwsAsync(data('pack', KK3, '--kk-columns', '--budget', '300'), { message: /longer than the budget 300/ });
  await t.throwsAsync(data('pack', KK3, '--kk-columns', '--overflow', 'cut'), {
    message: /--overflow must be truncate or drop, got cut/,
  });
});

test.serial('train-tokenizer writes a tokenizer the loader reads', async (t) => {
  const txt = join(dir, 'corpus.txt');
  writeFileSync(txt, 'Zoey is a knight. Oliver is a knave. '.repeat(200));
  const out = await data('train-tokenizer', txt, '--vocab-size', '300', '--out', join(dir, 'tok'));
  t.regex(out, /: \d+ merges, vocab \d+/);
  const tok = Tokenizer.load(join(dir, 'tok'));
  t.is(tok.decode(tok.encode('Zoey is a knave.')), 'Zoey is a knave.');
  t.true(tok.encode(' knight').length === 1);
});

test('histogram bins cover the range', (t) => {
  const h = histogram([1, 2, 3, 10], 3);
  t.is(h.length, 3);
  t.regex(h[0], /^\s+1-4\s+3 █{40}$/);
  t.regex(h[2], /^\s+9-12\s+1 █{13}$/);
});
