// The TypeScript sources run under ts-node's ESM loader (type-checking as it goes, as the design
// card has it) exactly as under tsx, which the tests and scripts use: the same script, the CLI and
// the library on the engine, prints the same under both. ts-node is loaded with Node's register()
// (`--loader ts-node/esm` works too, with a warning that --experimental-loader may go away).
import { spawn } from 'node:child_process';

import test from 'ava';

const ROOT = new URL('../', import.meta.url).pathname;
const SCRIPT = 'test/fixtures/ts-node/smoke.ts';
const TS_NODE =
  'data:text/javascript,import { register } from "node:module"; import { pathToFileURL } from "node:url"; register("ts-node/esm", pathToFileURL("./"));';

function node(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, WS_NUM_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('a script of the library and the CLI prints the same under ts-node/esm as under tsx', async (t) => {
  const [tsx, tsNode] = await Promise.all([node(['--import', 'tsx', SCRIPT]), node(['--import', TS_NODE, SCRIPT])]);
  t.is(tsx.status, 0, tsx.stderr);
  t.is(tsNode.status, 0, tsNode.stderr);
  t.is(tsNode.stderr, '');
  const first = JSON.parse(tsx.stdout.split('\n')[0]) as { tokens: number[]; puzzles: unknown[] };
  t.is(first.tokens.length, 8);
  t.is(first.puzzles.length, 3);
  t.regex(tsx.stdout, /Usage: warmstart/);
  t.is(tsNode.stdout, tsx.stdout);
});
