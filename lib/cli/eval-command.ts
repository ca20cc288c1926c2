// `warmstart eval`: pass@1 as the paper reports it, sampling a model on a benchmark (lib/tasks);
// with --suite paper, the paper's table for one or several models (lib/eval/suite.ts).

import { basename, resolve } from 'node:path';

import { Option, type Command } from 'commander';

import type { Device } from '../engine/model.js';
import { checkDeviceFlag, deviceOption } from './device.js';
import { parseInteger, parseNumber } from './flags.js';
import { progressReporter, stopAfterStep } from './run-output.js';

interface EvalFlags {
  model: string[];
  benchmark?: string;
  suite?: string;
  data?: string[];
  limit?: number;
  samples: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  batchSize: number;
  seed: number;
  out?: string;
  split: 'eval' | 'all';
  device: Device;
}

/** "name=file" pairs of --data in suite mode, each name one of `names`. */
export function parseDataPairs(pairs: readonly string[], names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    const name = p.slice(0, i);
    if (i <= 0 || i === p.length - 1) throw new RangeError(`--data: with --suite, expected name=file, got "${p}"`);
    if (!names.includes(name))
      throw new RangeError(`--data: "${name}" is not a benchmark of the suite (${names.join(', ')})`);
    out[name] = p.slice(i + 1);
  }
  return out;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('pass@1 as the paper reports it: k samples per problem, accuracy per sample index, mean ± std')
    .requiredOption('--model <dirs...>', 'model folder (with --suite: one or more)')
    .option('--benchmark <name>', 'math500 | humaneval | mmlu-pro | kk')
    .addOption(
      new Option(
        '--suite <name>',
        "paper: MATH-500, HumanEval(+), MMLU-Pro and K&K for every --model, as the paper's table (Markdown and JSON in --out)",
      ).choices(['paper']),
    )
    .option(
      '--data <files...>',
      "the benchmark's problems (the published file); with --suite, name=file pairs, e.g. humaneval=HumanEvalPlus.jsonl.gz",
    )
    .option('--limit <n>', 'first N problems only', parseInteger('--limit'))
    .addOption(
      new Option(
        '--split <which>',
        "eval: the held-out problems (HumanEval: 114 of 164, MMLU-Pro: past each category's 100 training questions); all: every problem of the file",
      )
        .choices(['eval', 'all'])
        .default('eval'),
    )
    .option('--samples <n>', 'k samples per problem', parseInteger('--samples'), 4)
    .option('--temperature <x>', 'sampling temperature', parseNumber('--temperature'), 0.7)
    .option('--top-p <x>', 'nucleus sampling mass', parseNumber('--top-p'), 0.95)
    .option('--max-new-tokens <n>', 'tokens per completion', parseInteger('--max-new-tokens'), 4096)
    .option('--batch-size <n>', 'sequences generated together', parseInteger('--batch-size'), 64)
    .option('--seed <n>', 'seed', parseInteger('--seed'), 0)
    .option(
      '--out <path>',
      'every completion as JSONL (default: eval-<benchmark>.jsonl); with --suite, the folder of the completions and the table (default: eval-suite)',
    )
    .addOption(deviceOption())
    .action(async (o: EvalFlags) => {
      const device = checkDeviceFlag(o.device);
      if (o.suite) return evalSuite(o, device);
      if (!o.benchmark) throw new RangeError('eval: --benchmark NAME or --suite paper is required');
      if (o.model.length !== 1) throw new RangeError('--model: one model folder (several need --suite)');
      if ((o.data?.length ?? 0) > 1) throw new RangeError('--data: one file (several, as name=file, need --suite)');
      const [{ evaluate }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
        import('../eval/evaluate.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../tasks/load.js'),
      ]);
      const rep = progressReporter('seq');
      const { task, examples } = await loadRlTask(o.benchmark, {
        data: o.data?.[0],
        limit: o.limit,
        seed: 0,
        split: o.split,
      });
      const tokenizer = Tokenizer.load(o.model[0]);
      const out = o.out ?? `eval-${o.benchmark}.jsonl`;
      const stop = stopAfterStep(rep);
      try {
        const r = await evaluate({
          model: await loadModel(o.model[0], { device }),
          tokenizer,
          task,
          examples,
          out,
          signal: stop.signal,
          config: evalConfig(o),
          onProgress: (p) => rep.update('eval', p.done, p.total),
        });
        rep.finish();
        console.log(
          `${r.task}: pass@1 ${(100 * r.passAt1).toFixed(2)} ± ${(100 * r.passAt1Std).toFixed(2)} % over ${r.problems} problems x ${r.samples} samples` +
            ` (per sample: ${r.perSample.map((a) => (100 * a).toFixed(1)).join(', ')}); mean reward ${r.meanReward.toFixed(3)}; mean completion ${r.meanLength.toFixed(1)} tokens; completions in ${out}`,
        );
      } finally {
        stop.dispose();
      }
    });
}

function evalConfig(o: EvalFlags) {
  return {
    samples: o.samples,
    temperature: o.temperature,
    topP: o.topP,
    topK: 0,
    maxNewTokens: o.maxNewTokens,
    batchSize: o.batchSize,
    seed: o.seed,
  };
}

// --suite paper: every model on every benchmark of the suite; cells already sampled are scored
// from their completion files, so a stopped suite resumes and a finished one is rebuilt without
// loading a model.
async function evalSuite(o: EvalFlags, device: Device): Promise<void> {
  const [{ runSuite, PAPER_SUITE }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
    import('../eval/suite.js'),
    import('../engine/model.js'),
    import('../data/tokenizer.js'),
    import('../tasks/load.js'),
  ]);
  if (o.benchmark) throw new RangeError('--benchmark: not with --suite (the suite names its benchmarks)');
  const names = [...PAPER_SUITE];
  const data = parseDataPairs(o.data ?? [], names);
  const benchmarks = [];
  for (const name of names) {
    const { task, examples } = await loadRlTask(name, {
      data: data[name],
      dataFlag: `--data ${name}=FILE`,
      limit: o.limit,
      seed: 0,
      split: o.split,
    });
    const plus = (examples[0]?.example as { evalplus?: string } | undefined)?.evalplus === 'plus';
    benchmarks.push({ name, task, examples, ...(plus ? { title: 'HumanEval+' } : {}) });
  }
  const dir = o.out ?? 'eval-suite';
  const rep = progressReporter('seq');
  const stop = stopAfterStep(rep);
  try {
    const r = await runSuite({
      dir,
      models: o.model.map((m) => ({ name: basename(resolve(m)), dir: m })),
      benchmarks,
      config: evalConfig(o),
      load: async (m) => ({ model: await loadModel(m, { device }), tokenizer: Tokenizer.load(m) }),
      signal: stop.signal,
      onLog: (l) => rep.log(l),
      onProgress: (cell, done, total) => rep.update(cell, done, total),
    });
    rep.finish();
    const { suiteMarkdown } = await import('../eval/suite.js');
    console.log(suiteMarkdown(r));
    console.log(`table in ${r.files.markdown} and ${r.files.json}; completions in ${dir}/<model>/<benchmark>.jsonl`);
  } finally {
    stop.dispose();
  }
}
