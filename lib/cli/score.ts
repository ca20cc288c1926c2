// `warmstart score`: score a file of completions (several samples per problem) without a model
// and print pass@1 as the paper does, with the mean reward and completion length.
import type { Command } from 'commander';

import { readCompletions, scoreTask } from '../eval/score.js';
import { benchmarkData, BENCHMARKS } from '../tasks/benchmarks.js';
import { Sandbox } from '../rewards/sandbox.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function registerScore(program: Command): void {
  program
    .command('score')
    .description(
      'score a JSONL file of completions ({"id", "sample"?, "completion", "tokens"?} per line) and print pass@1',
    )
    .requiredOption('--task <name>', `benchmark: ${Object.keys(BENCHMARKS).join(', ')}`)
    .requiredOption('--completions <file>', 'completions (JSONL), e.g. as written by evaluation')
    .option('--data <file>', "the benchmark's problems (the published file)")
    .option('--workers <n>', 'code runs at once (humaneval)')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: { task: string; completions: string; data?: string; workers?: string; json?: boolean }) => {
      const bench = BENCHMARKS[o.task];
      if (!bench)
        throw new RangeError(`--task: expected one of ${Object.keys(BENCHMARKS).join(', ')}, got "${o.task}"`);
      let workers: number | undefined;
      if (o.workers !== undefined) {
        workers = Number(o.workers);
        if (!/^\d+$/.test(o.workers) || workers < 1 || workers > 64)
          throw new RangeError(`--workers: expected an integer in 1..64, got "${o.workers}"`);
      }
      const examples = await bench.load(benchmarkData(bench, o.data));
      const lines = await readCompletions(o.completions);
      const r = await scoreTask(
        bench.task({ sandbox: o.task === 'humaneval' ? new Sandbox({ workers }) : undefined }),
        examples as never[],
        lines,
      );
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`task         ${r.task}`);
      console.log(`problems     ${r.problems} of ${examples.length}`);
      console.log(`samples      ${r.samples} per problem`);
      console.log(
        `pass@1       ${pct(r.passAt1)} ± ${pct(r.passAt1Std)}  (per sample: ${r.perSample.map(pct).join(' ')})`,
      );
      console.log(`mean reward  ${r.meanReward.toFixed(3)}`);
      console.log(
        `mean length  ${r.meanTokens !== null ? `${r.meanTokens.toFixed(1)} tokens, ` : ''}${r.meanChars.toFixed(1)} characters`,
      );
    });
}
