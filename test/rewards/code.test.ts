import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

import test from 'ava';

import { buildProgram, CODE_REWARD, extractCode, runTests, type CodeExample } from '../../lib/rewards/code.js';
import { Sandbox } from '../../lib/rewards/sandbox.js';
import { codeTask, loadHumanEval } from '../../lib/tasks/humaneval-task.js';
import { leftovers } from './procs.js';

const DATA = new URL('../../../shared/data/humaneval/HumanEval.jsonl.gz', import.meta.url).pathname;
const sandbox = new Sandbox({ workers: 2, timeoutMs: 5000 });
const problems = await loadHumanEval(DATA);

// A pool of its own, so that its check for leftovers does not see the other tests' runs.
const attackSandbox = new Sandbox({ workers: 2, timeoutMs: 5000 });

test.after.always('no process is left behind', (t) => {
  t.deepEqual(leftovers(sandbox), []);
  t.deepEqual(leftovers(attackSandbox), []);
});

// A broken variant of a canonical solution: the same code, but the entry point's result is
// perturbed (numbers +1, booleans negated, strings/lists/tuples extended, None -> 0).
function broken(ex: CodeExample): string {
  return `${ex.prompt}${ex.canonical_solution}
_orig_${ex.entry_point} = ${ex.entry_point}
def ${ex.entry_point}(*args, **kwargs):
    r = _orig_${ex.entry_point}(*args, **kwargs)
    if isinstance(r, bool): return not r
    if isinstance(r, (int, float)): return r + 1
    if isinstance(r, str): return r + "x"
    if isinstance(r, list): return r + [None]
    if isinstance(r, tuple): return r + (None,)
    if r is None: return 0
    return None
`;
}

test('HumanEval: all 164 canonical solutions pass and a broken variant of each fails', async (t) => {
  t.is(problems.length, 164);
  const start = performance.now();
  const [good, bad] = await Promise.all([
    Promise.all(problems.map((ex) => runTests(sandbox, ex.canonical_solution!, ex))),
    Promise.all(problems.map((ex) => runTests(sandbox, broken(ex), ex))),
  ]);
  t.log(`328 runs on ${sandbox.workers} workers in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  t.deepEqual(
    problems.filter((_, i) => !good[i].passed).map((p, i) => `${p.id}: ${good[i].stderr.slice(-200)}`),
    [],
  );
  t.deepEqual(
    problems.filter((_, i) => bad[i].passed).map((p) => p.id),
    [],
  );
});

test('extractCode: first ```python block, else any fenced block, else the text', (t) => {
  t.is(extractCode('a\n```python\nx = 1\n```\n```python\nx = 2\n```'), 'x = 1\n');
  t.is(extractCode('```py\ny = 1\n```'), 'y = 1\n');
  t.is(extractCode('```\nz = 1\n```'), 'z = 1\n');
  t.is(extractCode('```js\nlet a\n```'), 'let a\n');
  t.is(extractCode('def f():\n    return 1'), 'def f():\n    return 1');
});

test('buildProgram: a body gets the prompt, a full function does not', (t) => {
  const ex = problems[0];
  t.is(buildProgram('    return True\n', ex), `${ex.prompt}    return True\n`);
  const full = `def ${ex.entry_point}(numbers, threshold):\n    return True\n`;
  t.is(buildProgram(full, ex), full);
});

test('reward shape: format gate -2, pass +2, fail -1; correct() without the gate', async (t) => {
  const task = codeTask(sandbox);
  const ex = problems[2]; // truncate_number
  const good = `think</think>\n<answer>\n\`\`\`python\n${ex.prompt}${ex.canonical_solution}\`\`\`\n</answer>`;
  t.is(await task.reward(good, ex), CODE_REWARD.correct);
  t.is(await task.reward(good.replace('</think>', ''), ex), CODE_REWARD.format);
  t.is(await task.reward(good.replace('number % 1.0', 'number'), ex), CODE_REWARD.wrong);
  t.true(await task.correct(`\`\`\`python\n${ex.prompt}${ex.canonical_solution}\`\`\``, ex));
  t.false(await task.correct('no code here', ex));
});

test('adversarial completions are contained, scored as failures, and leave nothing behind', async (t) => {
  const ex = problems[0]; // has_close_elements
  const sig = `def ${ex.entry_point}(numbers, threshold):\n`;
  const server = createServer((s) => s.destroy());
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const outside = `/work/warmstart-escape-${process.pid}`;
  const attacks: Record<string, string> = {
    'infinite loop': `${sig}    while True:\n        pass\n`,
    'fork bomb': `import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n`,
    '8 GB allocation': `${sig}    x = bytearray(8 * 1024 ** 3)\n    return False\n`,
    'write outside the folder': `open(${JSON.stringify(outside)}, "w").write("x")\n${sig}    return False\n`,
    'open a socket': `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2).close()\n${sig}    return False\n`,
    'kill the parent': `import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(${process.pid}, signal.SIGKILL)\n${sig}    return False\n`,
    'kill everything it can': `import os, signal\nos.kill(-1, signal.SIGKILL)\n`,
    'exit early with 0': `import sys\n${ex.prompt}${ex.canonical_solution}\nsys.exit(0)\n`,
    'exit early from the function': `import os\n${sig}    os._exit(0)\n`,
    'flood stdout': `import sys\nwhile True:\n    sys.stdout.write("x" * 65536)\n`,
  };
  const results = await Promise.all(
    Object.entries(attacks).map(async ([name, code]) => {
      const r = await runTests(attackSandbox, code, ex, { timeoutMs: 2000, cpuSeconds: 2 });
      return { name, r };
    }),
  );
  server.close();
  for (const { name, r } of results) {
    t.false(r.passed, name);
    t.log(
      `${name}: exit ${r.exitCode} signal ${r.signal}${r.timedOut ? ' (timed out)' : ''} in ${Math.round(r.wallMs)} ms`,
    );
  }
  t.is(connections, 0);
  t.false(existsSync(outside));
  t.deepEqual(leftovers(attackSandbox), []);
  // The pool still works after all that.
  t.true((await runTests(attackSandbox, ex.canonical_solution!, ex)).passed);
});
