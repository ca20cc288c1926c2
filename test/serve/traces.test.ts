// The openai teacher: `kk traces --teacher openai` against `warmstart serve` on a tiny model
// (N puzzles × 4 samples, every record exactly once even when the client is SIGKILLed mid-run and
// restarted), and against a scripted server for retries (429 with Retry-After, 5xx, time-outs,
// dropped connections), the `</answer>` append-back, rewards, the rejected file, torn lines and
// the lock.
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import test from 'ava';
import { Command } from 'commander';

import { registerKk } from '../../lib/cli/kk.js';
import { buildPrompt, kkReward, loadPuzzles, type KKPuzzle } from '../../lib/kk/index.js';
import { startServer, type WarmstartServer } from '../../lib/serve/server.js';
import { OpenAITeacher, rejectedFile } from '../../lib/teachers/openai.js';
import { instrumented, ROOT, tinyServeModel, until, type TinyServeModel } from './fixture.js';

let fx: TinyServeModel;
let counted: ReturnType<typeof instrumented>;
let server: WarmstartServer;

test.before(async () => {
  fx = await tinyServeModel(12);
  counted = instrumented(fx.model, 30);
  server = await startServer(counted.model, fx.tokenizer, { port: 0 });
});

test.after.always(async () => {
  await server?.close({ graceMs: 1000 });
  fx?.cleanup();
});

async function lines(file: string): Promise<Record<string, any>[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

// Runs `warmstart kk ...` in-process; returns what it printed.
async function kk(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerKk(program);
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  try {
    await program.parseAsync(['node', 'warmstart', 'kk', ...args]);
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

function checkRecords(
  t: import('ava').ExecutionContext,
  rows: Record<string, any>[],
  puzzles: KKPuzzle[],
  samples: number,
  maxTokens: number,
): void {
  const keys = rows.map((r) => `${r.index}:${r.sample}`);
  t.is(new Set(keys).size, keys.length, 'no record twice');
  t.deepEqual(
    [...keys].sort(),
    puzzles.flatMap((p) => Array.from({ length: samples }, (_, k) => `${p.index}:${k}`)).sort(),
  );
  for (const r of rows) {
    const p = puzzles.find((q) => q.index === r.index)!;
    t.is(r.quiz, p.quiz);
    t.is(r.prompt, buildPrompt(p));
    t.is(typeof r.completion, 'string');
    t.true(r.finish_reason === 'stop' || r.finish_reason === 'length');
    t.true(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= maxTokens);
    t.is(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    t.is(r.reward, kkReward(r.completion, p));
    t.is(r.teacher, 'openai');
    t.is(r.model, 'tiny-kk');
  }
}

test.serial(
  'kk traces --teacher openai against warmstart serve: N puzzles × 4 samples, re-run skips them',
  async (t) => {
    const out = path.join(fx.tmp, 'cli-traces.jsonl');
    const args = [
      'traces',
      '--teacher',
      'openai',
      '--endpoint',
      `${server.url}/v1`,
      '--model',
      'tiny-kk',
      '--in',
      fx.puzzleFile,
      '--out',
      out,
      '--max-new-tokens',
      '12',
      '--limit',
      '5',
    ];
    const before = counted.calls.length;
    t.is(await kk(...args), `wrote 20 openai traces to ${out} (0 already there, 20 in all)`);
    t.true(
      counted.calls.length - before < 20,
      `20 requests at 16 in flight ran as ${counted.calls.length - before} batches`,
    );
    checkRecords(t, await lines(out), fx.puzzles.slice(0, 5), 4, 12);
    t.is(await kk(...args), `wrote 0 openai traces to ${out} (20 already there, 20 in all)`);
    t.is((await lines(out)).length, 20);
    // the output is a K&K file: the puzzles load back and `kk check` scores the completions
    t.is((await loadPuzzles(out)).length, 20);
    t.regex(await kk('check', out), /completions: 20, paper reward/);
  },
);

test.serial('a client killed mid-run and restarted ends with every record exactly once', async (t) => {
  const out = path.join(fx.tmp, 'killed.jsonl');
  const puzzles = fx.puzzles.slice(0, 10);
  const puzzleFile = path.join(fx.tmp, 'ten.jsonl');
  await fs.writeFile(puzzleFile, (await fs.readFile(fx.puzzleFile, 'utf8')).split('\n').slice(0, 10).join('\n') + '\n');
  const seqsBefore = counted.calls.reduce((a, b) => a + b, 0);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'test/serve/trace-client.ts'),
      `${server.url}/v1`,
      'tiny-kk',
      puzzleFile,
      out,
      '4',
      '4',
      '10',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code, signal) => r(signal === 'SIGKILL' ? -9 : code)),
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  try {
    await until(() => child.exitCode !== null || lineCount(out) >= 8, 60_000);
    const release = counted.hold(); // no batch finishes while we kill it
    child.kill('SIGKILL');
    t.is(await exited, -9, stderr);
    release();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const partial = await lines(out);
  t.true(partial.length >= 8 && partial.length < 40, `killed after ${partial.length} of 40 records`);
  t.truthy(await fs.stat(`${out}.lock`), 'the killed run still holds its lock; the restart takes it over');

  const teacher = new OpenAITeacher({
    endpoint: `${server.url}/v1`,
    model: 'tiny-kk',
    samples: 4,
    concurrency: 4,
    maxTokens: 10,
  });
  const r = await teacher.writeFile(await loadPuzzles(puzzleFile), out);
  t.is(r.skipped, partial.length);
  t.is(r.written, 40 - partial.length);
  const rows = await lines(out);
  checkRecords(t, rows, puzzles, 4, 10);
  t.deepEqual(rows.slice(0, partial.length), partial, 'what was written stays as it was');
  // the kill lost at most the 4 requests in flight
  const generated = counted.calls.reduce((a, b) => a + b, 0) - seqsBefore;
  t.true(generated <= 40 + 4, `${generated} sequences generated for 40 records`);
  await t.throwsAsync(fs.stat(`${out}.lock`));
});

// Lines in a file now (0 when absent), synchronously, for polling.
function lineCount(file: string): number {
  try {
    return (readFileSync(file, 'utf8').match(/\n/g) ?? []).length;
  } catch {
    return 0;
  }
}

// ---- a scripted server: each request takes the next behaviour from a list.
type Behaviour =
  { status: number; headers?: Record<string, string>; body?: unknown } | 'hang' | 'reset' | ((body: any) => unknown);

async function scripted(script: Behaviour[]): Promise<{ url: string; seen: any[]; close(): Promise<void> }> {
  const seen: any[] = [];
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      seen.push({ path: req.url, body, auth: req.headers.authorization, at: Date.now() });
      const b = script.shift() ?? { status: 500, body: { error: { message: 'script ran out' } } };
      if (b === 'hang') return;
      if (b === 'reset') {
        req.socket.destroy();
        return;
      }
      if (typeof b === 'function') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(b(body)));
        return;
      }
      res.writeHead(b.status, { 'Content-Type': 'application/json', ...b.headers });
      res.end(JSON.stringify(b.body ?? {}));
    });
  });
  http.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}

const solved = (p: KKPuzzle, stopReason: string | null | undefined) => () => ({
  choices: [
    {
      index: 0,
      text: ` Let me think.\n</think>\n<answer>\n${p.solution_text_format}\n`,
      finish_reason: 'stop',
      ...(stopReason === undefined ? {} : { stop_reason: stopReason }),
    },
  ],
  usage: { prompt_tokens: 300, completion_tokens: 40, total_tokens: 340 },
});

test.serial(
  'retries 429 (honouring Retry-After), 5xx, time-outs and dropped connections; appends </answer> back',
  async (t) => {
    const p = fx.puzzles[0];
    const s = await scripted([
      { status: 429, headers: { 'Retry-After': '1' }, body: { error: { message: 'slow down' } } },
      { status: 503, body: { error: { message: 'overloaded' } } },
      'hang',
      'reset',
      solved(p, '</answer>'),
    ]);
    try {
      const retries: { attempt: number; delayMs: number; reason: string }[] = [];
      process.env.WS_TEST_KEY = 'k-123';
      const teacher = new OpenAITeacher({
        endpoint: s.url,
        model: 'qwq',
        samples: 1,
        concurrency: 1,
        timeoutMs: 300,
        baseDelayMs: 10,
        apiKey: process.env.WS_TEST_KEY,
        onRetry: (i) => retries.push(i),
      });
      const out = path.join(fx.tmp, 'retried.jsonl');
      const r = await teacher.writeFile([p], out);
      t.deepEqual({ written: r.written, skipped: r.skipped, total: r.total }, { written: 1, skipped: 0, total: 1 });
      t.deepEqual(
        retries.map((x) => x.attempt),
        [1, 2, 3, 4],
      );
      t.is(retries[0].delayMs, 1000);
      t.true(s.seen[1].at - s.seen[0].at >= 990, 'waited for Retry-After');
      t.regex(retries[1].reason, /503 overloaded/);
      t.regex(retries[2].reason, /no answer within 300 ms/);
      t.true(retries.slice(1).every((x, i) => x.delayMs >= (10 * 2 ** (i + 1)) / 2 && x.delayMs <= 10 * 2 ** (i + 1)));
      // the request: the paper's sampling settings, the raw prompt, the key
      t.deepEqual(s.seen[0].body, {
        model: 'qwq',
        max_tokens: 8192,
        temperature: 0.6,
        top_p: 0.95,
        top_k: 40,
        stop: ['</answer>'],
        n: 1,
        prompt: buildPrompt(p),
      });
      t.is(s.seen[0].path, '/v1/completions');
      t.is(s.seen[0].auth, 'Bearer k-123');
      const [row] = await lines(out);
      t.true(row.completion.endsWith('\n</answer>'));
      t.is(row.reward, 2);
      t.is(row.reward_reason, 'all roles right');
      t.deepEqual(row.usage, { prompt_tokens: 300, completion_tokens: 40, total_tokens: 340 });
      t.is(row.stop_reason, '</answer>');
    } finally {
      await s.close();
    }
  },
);

test.serial('an AbortSignal ends a request in flight and a wait to retry at once, never retried', async (t) => {
  const [a, b] = fx.puzzles;
  // in flight: the first sample is written, the second hangs until the signal fires
  const s = await scripted([solved(a, null), 'hang', solved(b, null)]);
  try {
    const out = path.join(fx.tmp, 'aborted.jsonl');
    const teacher = new OpenAITeacher({ endpoint: s.url, model: 'm', samples: 1, concurrency: 1, timeoutMs: 60_000 });
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(new Error('stopped by the test')), 300);
    const err = await t.throwsAsync(teacher.writeFile([a, b], out, { signal: ctl.signal }));
    t.is(err!.message, 'stopped by the test');
    t.true(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    t.is(s.seen.length, 2, 'no retry after the abort');
    t.deepEqual(
      (await lines(out)).map((x) => x.index),
      [a.index],
    );
  } finally {
    await s.close();
  }
  // waiting to retry: a Retry-After of 30 s is cut short by the signal
  const r = await scripted([{ status: 429, headers: { 'Retry-After': '30' }, body: {} }]);
  try {
    const teacher = new OpenAITeacher({ endpoint: r.url, model: 'm', samples: 1, concurrency: 1 });
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(new Error('stopped while waiting')), 300);
    const err = await t.throwsAsync(teacher.sampleRaw('x', undefined, ctl.signal));
    t.is(err!.message, 'stopped while waiting');
    t.true(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    t.is(r.seen.length, 1);
  } finally {
    await r.close();
  }
});

test.serial('a 4xx other than 429 fails at once; what finished is kept and a re-run resumes', async (t) => {
  const [a, b] = fx.puzzles;
  const s = await scripted([
    solved(a, undefined),
    { status: 400, body: { error: { message: 'top_k is not supported' } } },
    solved(b, null),
  ]);
  try {
    const out = path.join(fx.tmp, 'fails.jsonl');
    const teacher = new OpenAITeacher({
      endpoint: `${s.url}/v1/`,
      model: 'm',
      samples: 1,
      concurrency: 1,
      baseDelayMs: 10,
    });
    const err = await t.throwsAsync(teacher.writeFile([a, b], out));
    t.regex(err!.message, /400 top_k is not supported/);
    t.regex(err!.message, /1 of 2 records are in .*fails\.jsonl; run the same command again to resume/);
    t.is(s.seen.length, 2);
    const r = await teacher.writeFile([a, b], out);
    t.deepEqual({ written: r.written, skipped: r.skipped }, { written: 1, skipped: 1 });
    const rows = await lines(out);
    t.deepEqual(
      rows.map((x) => x.index),
      [a.index, b.index],
    );
    t.true(rows[0].completion.endsWith('</answer>'), 'no stop_reason: an open <answer> block is closed');
    t.is(rows[0].reward, 2);
    t.false(rows[1].completion.includes('</answer>'), 'stop_reason null (end of sequence): nothing appended');
    t.is(rows[1].reward, -2);
  } finally {
    await s.close();
  }
});

test.serial('--min-reward sends low-reward records to the rejected file; both count on resume', async (t) => {
  const [a, b] = fx.puzzles;
  const s = await scripted([solved(a, '</answer>'), solved(b, null), solved(b, '</answer>')]);
  try {
    const out = path.join(fx.tmp, 'filtered.jsonl');
    const teacher = new OpenAITeacher({ endpoint: s.url, model: 'm', samples: 1, concurrency: 1, minReward: 2 });
    const r = await teacher.writeFile([a, b], out);
    t.deepEqual({ written: r.written, rejected: r.rejected }, { written: 2, rejected: 1 });
    t.deepEqual(
      (await lines(out)).map((x) => [x.index, x.reward]),
      [[a.index, 2]],
    );
    t.deepEqual(
      (await lines(rejectedFile(out))).map((x) => [x.index, x.reward]),
      [[b.index, -2]],
    );
    t.is(rejectedFile(out), path.join(fx.tmp, 'filtered.rejected.jsonl'));
    const again = await teacher.writeFile([a, b], out);
    t.deepEqual({ written: again.written, skipped: again.skipped }, { written: 0, skipped: 2 });
    t.is(s.seen.length, 2);
  } finally {
    await s.close();
  }
});

test.serial('a torn last line is cut off and redone; a live lock, a foreign file and chat style', async (t) => {
  const [a, b] = fx.puzzles;
  const s = await scripted([
    solved(a, '</answer>'),
    solved(b, '</answer>'),
    solved(b, '</answer>'),
    () => ({
      choices: [
        {
          message: { role: 'assistant', content: '<answer>\n(1) X is a knight\n', reasoning_content: 'long thought' },
          finish_reason: 'stop',
          stop_reason: '</answer>',
        },
      ],
    }),
  ]);
  try {
    const teacher = new OpenAITeacher({ endpoint: s.url, model: 'm', samples: 1, concurrency: 1 });
    const out = path.join(fx.tmp, 'torn.jsonl');
    await teacher.writeFile([a, b], out);
    const [first, second] = (await fs.readFile(out, 'utf8')).split('\n');
    // what a crash in the middle of writing the second line would leave
    await fs.writeFile(out, `${first}\n${second.slice(0, 40)}`);
    const r = await teacher.writeFile([a, b], out);
    t.is(r.repairedBytes, 40);
    t.deepEqual({ written: r.written, skipped: r.skipped }, { written: 1, skipped: 1 });
    t.is(await fs.readFile(out, 'utf8'), `${first}\n${second}\n`);
    // a whole last record that only lacks its newline is kept, not redone
    await fs.writeFile(out, `${first}\n${second}`);
    const kept = await teacher.writeFile([a, b], out);
    t.deepEqual(
      { written: kept.written, skipped: kept.skipped, repairedBytes: kept.repairedBytes },
      { written: 0, skipped: 2, repairedBytes: 0 },
    );
    t.is(await fs.readFile(out, 'utf8'), `${first}\n${second}\n`);

    // a lock held by a live process refuses a second writer
    await fs.writeFile(`${out}.lock`, `${process.ppid}\n`);
    await t.throwsAsync(teacher.writeFile([a, b], out), {
      message: new RegExp(`another run \\(pid ${process.ppid}\\)`),
    });
    await fs.rm(`${out}.lock`);
    // an output written for other puzzles is refused, not mixed
    await t.throwsAsync(teacher.writeFile([{ ...b, index: a.index }], out), {
      message: /torn\.jsonl:line 1: puzzle \d+ has a different quiz/,
    });
    t.is(s.seen.length, 3);

    // chat style: messages to /chat/completions; a reasoning parser's reasoning_content is joined back
    const chatOut = path.join(fx.tmp, 'chat.jsonl');
    t.is((await teacher.writeFile([b], chatOut, { style: 'chat' })).written, 1);
    t.is(s.seen[3].path, '/v1/chat/completions');
    t.deepEqual(
      s.seen[3].body.messages.map((m: { role: string }) => m.role),
      ['system', 'user'],
    );
    const [row] = await lines(chatOut);
    t.deepEqual(row.completion, [
      { role: 'assistant', content: '<think>long thought\n</think>\n<answer>\n(1) X is a knight\n</answer>' },
    ]);
    t.is(row.reward, -1); // X is not in the puzzle
  } finally {
    await s.close();
  }
});
