// A damaged newest checkpoint (an empty or torn state.json, an empty latest.json) is named, and
// resume falls back to the previous complete checkpoint; with none left the error names the file.
import fs, { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { latestCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint.js';

const made: string[] = [];
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const writers = {
  model: async (d: string) => {
    mkdirSync(d);
    writeFileSync(join(d, 'model.txt'), 'm');
  },
  optimizer: async (d: string) => {
    mkdirSync(d);
    writeFileSync(join(d, 'opt.txt'), 'o');
  },
};

async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-ckdamage-'));
  made.push(dir);
  for (const step of [3, 6]) await saveCheckpoint(dir, step, { step }, writers, 2);
  return dir;
}

for (const [label, damage] of [
  ['an empty state.json', ''],
  ['a torn state.json', '{"step": 6, "state": {"st'],
  ['a state.json without a step', '{"state": {}}'],
] as const) {
  test(`${label} is named and resume falls back to the previous checkpoint`, async (t) => {
    const dir = await run();
    const stateFile = join(dir, 'checkpoint-6', 'state.json');
    writeFileSync(stateFile, damage);
    const warnings: string[] = [];
    const ck = latestCheckpoint<{ step: number }>(dir, { onWarning: (m) => warnings.push(m) })!;
    t.is(ck.step, 3);
    t.deepEqual(ck.state, { step: 3 });
    t.is(ck.dir, join(dir, 'checkpoint-3'));
    t.is(warnings.length, 1);
    t.true(warnings[0].startsWith(`${stateFile}: `), warnings[0]);
    t.regex(warnings[0], /resuming from the previous complete checkpoint/);
    // with the earlier one damaged too, the error names the newest damaged file
    writeFileSync(join(dir, 'checkpoint-3', 'state.json'), '');
    const err = t.throws(() => latestCheckpoint(dir));
    t.true(err!.message.startsWith(`${stateFile}: `), err!.message);
    t.regex(err!.message, /checkpoint-3[/\\]state\.json: empty; no earlier checkpoint is complete/);
  });
}

test('an empty latest.json falls back to the newest complete checkpoint folder', async (t) => {
  const dir = await run();
  writeFileSync(join(dir, 'latest.json'), '');
  const warnings: string[] = [];
  const ck = latestCheckpoint(dir, { onWarning: (m) => warnings.push(m) })!;
  t.is(ck.step, 6);
  t.regex(warnings[0], /latest\.json: not valid JSON/);
});

test.serial('state.json and latest.json are flushed (fsync) before they are renamed into place', async (t) => {
  const events: string[] = [];
  const fds = new Map<number, string>();
  const orig = { openSync: fs.openSync, fsyncSync: fs.fsyncSync, renameSync: fs.renameSync };
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (orig.openSync as (...a: unknown[]) => number)(p, ...rest);
    fds.set(fd, String(p));
    return fd;
  }) as typeof fs.openSync;
  fs.fsyncSync = (fd: number) => {
    events.push(`fsync ${fds.get(fd)}`);
    orig.fsyncSync(fd);
  };
  fs.renameSync = (a: fs.PathLike, b: fs.PathLike) => {
    events.push(`rename ${String(a)} -> ${String(b)}`);
    orig.renameSync(a, b);
  };
  syncBuiltinESMExports();
  let dir: string;
  try {
    dir = await run();
  } finally {
    Object.assign(fs, orig);
    syncBuiltinESMExports();
  }
  for (const target of [join(dir, 'latest.json'), join(dir, `.tmp-checkpoint-6-${process.pid}`, 'state.json')]) {
    const rename = events.findIndex((e) => e.startsWith('rename ') && e.endsWith(target));
    t.true(rename > 0, `a rename onto ${target}`);
    const from = events[rename].slice('rename '.length).split(' -> ')[0];
    const flushed = events.indexOf(`fsync ${from}`);
    t.true(flushed >= 0 && flushed < rename, `${from} flushed before its rename`);
  }
});
