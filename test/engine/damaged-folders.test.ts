// Damaged model folders fail at load with the file and the field or tensor named, never later
// and never by hanging: a FIFO in place of a file, an eos_token_id past the vocabulary, weights
// that hold NaN or infinity.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { initModel, loadModel } from '../../lib/index.js';

const V = 61;
const SMALL = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, num_attention_heads: 4 };
const root = mkdtempSync(join(tmpdir(), 'ws-damaged-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
async function saved(): Promise<string> {
  const d = join(root, `m${n++}`);
  const m = await initModel({ preset: 'tiny', vocabSize: V, seed: 1, overrides: SMALL });
  await m.save(d);
  return d;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

/** model.safetensors with element `at` of tensor `name` (f32) set to `value`. */
function poison(dir: string, name: string, at: number, value: number): void {
  const file = join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: number[] }
  >;
  if (header[name].dtype !== 'F32') throw new Error(`${name} is ${header[name].dtype}`);
  bytes.writeFloatLE(value, 8 + n + header[name].data_offsets[0] + 4 * at);
  writeFileSync(file, bytes);
}

test('a FIFO as model.safetensors or config.json is refused at once, not waited on', async (t) => {
  for (const f of ['model.safetensors', 'config.json']) {
    const d = await saved();
    unlinkSync(join(d, f));
    execFileSync('mkfifo', [join(d, f)]);
    // with nobody writing to the pipe, an open that blocks would never return
    await t.throwsAsync(loadModel(d), { message: new RegExp(`${f.replace('.', '\\.')}.*not a regular file`) });
  }
});

test('an eos_token_id or bos_token_id outside the vocabulary is refused at load, naming the field', async (t) => {
  for (const [field, value, named] of [
    ['eos_token_id', V, 'eos_token_id'],
    ['eos_token_id', [3, V + 7], 'eos_token_id[1]'],
    ['bos_token_id', 1 << 20, 'bos_token_id'],
  ] as const) {
    const d = await saved();
    editConfig(d, (c) => {
      c[field] = value;
    });
    await t.throwsAsync(loadModel(d), {
      message: new RegExp(
        `config\\.json: field "${named.replace(/[[\]]/g, '\\$&')}" must be a token id below vocab_size ${V}`,
      ),
    });
  }
  const d = await saved();
  editConfig(d, (c) => {
    c.eos_token_id = V - 1;
  });
  t.is((await loadModel(d)).config.eosTokenId, V - 1);
});

test('NaN or infinite weights are found at load, naming the file and tensor', async (t) => {
  for (const [name, at, value, what] of [
    ['model.norm.weight', 5, NaN, 'NaN'],
    ['model.layers.0.mlp.down_proj.weight', 1000, -Infinity, 'an infinite value'],
  ] as const) {
    const d = await saved();
    poison(d, name, at, value);
    const expected = `${join(d, 'model.safetensors')}: tensor "${name}" holds ${what} at element ${at}; the weights are damaged`;
    const err = await t.throwsAsync(loadModel(d));
    t.true(err!.message.endsWith(expected), err!.message);
  }
});
