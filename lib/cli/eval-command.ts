// `warmstart eval`: pass@1 as the paper reports it, sampling a model on a benchmark (lib/tasks).

import { type Command } from 'commander';

import type { Device } from '../engine/model.js';
import { checkDeviceFlag, deviceOption } from './device.js';
import { parseInteger, parseNumber } from './flags.js';
import { progressReporter, stopAfterStep } from './run-output.js';

interface EvalFlags {
  model: string;
  benchmark: string;
  data?: string;
  limit?: number;
  samples: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  batchSize: number;
  seed: number;
  out?: string;
  device: Device;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('pass@1 as the paper reports it: k samples per problem, accuracy per sample index, mean ± std')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--benchmark <name>', 'math500 | humaneval | mmlu-pro | kk')
    .option('--data <file>', "problems (default: the benchmark's evaluation set)")
    .option('--limit <n>', 'first N problems only', parseInteger('--limit'))
    .option('--samples <n>', 'k samples per problem', parseInteger('--samples'), 4)
    .option('--temperature <x>', 'sampling temperature', parseNumber('--temperature'), 0.7)
    .option('--top-p <x>', 'nucleus sampling mass', parseNumber('--top-p'), 0.95)
    .option('--max-new-tokens <n>', 'tokens per completion', parseInteger('--max-new-tokens'), 4096)
    .option('--batch-size <n>', 'sequences generated together', parseInteger('--batch-size'), 64)
    .option('--seed <n>', 'seed', parseInteger('--seed'), 0)
    .option('--out <file>', 'every completion as JSONL (default: eval-<benchmark>.jsonl)')
    .addOption(deviceOption())
    .action(async (o: EvalFlags) => {
      const device = checkDeviceFlag(o.device);
      const [{ evaluate }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
        import('../eval/evaluate.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../tasks/load.js'),
      ]);
      const rep = progressReporter('seq');
      const tokenizer = Tokenizer.load(o.model);
      const { task, examples } = await loadRlTask(o.benchmark, {
        data: o.data,
        limit: o.limit,
        seed: 0,
        split: 'eval',
      });
      const out = o.out ?? `eval-${o.benchmark}.jsonl`;
      const stop = stopAfterStep(rep);
      try {
        const r = await evaluate({
          model: await loadModel(o.model, { device }),
          tokenizer,
          task,
          examples,
          out,
          signal: stop.signal,
          config: {
            samples: o.samples,
            temperature: o.temperature,
            topP: o.topP,
            topK: 0,
            maxNewTokens: o.maxNewTokens,
            batchSize: o.batchSize,
            seed: o.seed,
          },
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
