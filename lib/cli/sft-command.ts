// `warmstart sft`: warmup, supervised fine-tuning on reasoning traces with the loss on the
// completion only. Ctrl-C stops after the current step with a checkpoint; --resume continues.
import { join } from 'node:path';

import { Option, type Command } from 'commander';

import type { Device } from '../engine/model.js';
import { checkDeviceFlag, deviceOption, microBatchOption } from './device.js';
import { DEFAULT_OVERFLOW } from '../data/sft-examples.js';
import { SFT_PAPER } from '../train/sft.js';
import { describePreset, overrides, parseInteger } from './flags.js';
import { addOptimizerOptions, OPTIMIZER_OVERRIDES } from './optimizer-flags.js';
import { progressReporter, saveTrainedModel, stopAfterStep } from './run-output.js';

// Flags not listed by name keep commander's loose record; the parsed numbers are typed.
type Opts = Record<string, string | number | boolean | string[] | undefined> & { maxLength: number };

// commander's option name -> SftConfig field: the flags that override the preset.
const SFT_OVERRIDES = {
  epochs: 'epochs',
  ...OPTIMIZER_OVERRIDES,
  microBatchTokens: 'microBatchTokens',
  gradAccum: 'gradAccum',
  val: 'valExamples',
  evalEvery: 'evalEvery',
  saveEvery: 'saveEvery',
  seed: 'seed',
} as const;

export function registerSft(program: Command): void {
  const cmd = program
    .command('sft')
    .description('warmup: supervised fine-tuning on reasoning traces, loss on the completion only')
    .requiredOption('--model <dir>', 'base model folder (Hugging Face Qwen2)')
    .requiredOption('--data <files...>', 'trace files (JSONL, JSONL.gz or Parquet) with prompt and completion fields')
    .requiredOption('--out <dir>', 'where the warmed-up model is written')
    .option('--run-dir <dir>', 'metrics, checkpoints (default: <out>.run)')
    .addOption(new Option('--preset <name>', 'defaults').choices(['paper']).default('paper'))
    .option('--prompt-field <path>', 'prompt field', 'prompt')
    .option('--completion-field <path>', 'completion field', 'completion')
    .option(
      '--kk-columns',
      'build pairs from the published K&K columns (quiz, cot_head, cot_repeat_steps, cot_foot, solution_text_format)',
    )
    .addOption(
      new Option(
        '--template <format>',
        "wrap the prompt field: none (as it is), raw (the paper's prompt), chat (the model's chat template)",
      ).choices(['none', 'raw', 'chat']),
    )
    .option('--max-length <n>', 'longest example in tokens', parseInteger('--max-length'), 4096)
    .addOption(
      new Option('--overflow <mode>', 'longer examples (as data inspect)')
        .choices(['truncate', 'drop'])
        .default(DEFAULT_OVERFLOW),
    )
    .addOption(
      new Option('--keep <which>', 'all traces (the paper), or only those the K&K reward scores correct')
        .choices(['all', 'correct'])
        .default('all'),
    )
    .option('--skip-bad', 'skip unreadable records (counted) instead of failing')
    .option('--epochs <n>', 'epochs', parseInteger('--epochs'));
  addOptimizerOptions(cmd)
    .addOption(microBatchOption())
    .option('--grad-accum <n>', 'micro-batches per optimizer step', parseInteger('--grad-accum'))
    .option('--val <n>', 'examples held out for the validation loss', parseInteger('--val'))
    .option('--eval-every <n>', 'validation loss every N steps', parseInteger('--eval-every'))
    .option('--save-every <n>', 'checkpoint every N steps', parseInteger('--save-every'))
    .option('--seed <n>', 'seed', parseInteger('--seed'))
    .option('--resume', 'continue the run in --run-dir from its last checkpoint')
    .addOption(deviceOption())
    .action(async (o: Opts) => {
      const device = checkDeviceFlag(o.device as Device);
      const [
        { sft },
        { loadModel },
        { Tokenizer },
        { tokenizeSft, fieldCharBound },
        { loadSftPairs },
        { readRecords },
        { fromRecord },
        { kkRewardDetails },
        { kkTracePair },
      ] = await Promise.all([
        import('../train/sft.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../data/sft-examples.js'),
        import('../data/dataset.js'),
        import('../data/readers.js'),
        import('../kk/puzzle.js'),
        import('../kk/reward.js'),
        import('../kk/traces-published.js'),
      ]);
      const config = overrides(SFT_PAPER, o, SFT_OVERRIDES);
      const out = o.out as string;
      const runDir = (o.runDir as string | undefined) ?? `${out}.run`;
      const rep = progressReporter();
      const tokenizer = Tokenizer.load(o.model as string);
      const maxStringChars = fieldCharBound(tokenizer, o.maxLength);
      const pairs: { prompt: string; completion: string }[] = [];
      let skipped = 0;
      let rejected = 0;
      for (const file of o.data as string[]) {
        const loaded = await loadSftPairs(file, {
          promptField: o.promptField as string,
          completionField: o.completionField as string,
          pairOf: o.kkColumns ? kkTracePair : undefined,
          template: o.template as 'none' | 'raw' | 'chat',
          tokenizer,
          skipBad: Boolean(o.skipBad),
          maxStringChars,
        });
        skipped += loaded.stats.skipped;
        if (o.keep !== 'correct') {
          pairs.push(...loaded.pairs);
          continue;
        }
        // --keep correct: the K&K reward of each trace against the puzzle in the same record
        const records = new Map<string, unknown>();
        for await (const rec of readRecords(file, { skipBad: Boolean(o.skipBad), maxStringChars }))
          records.set(rec.where, rec.value);
        for (const p of loaded.pairs) {
          if (kkRewardDetails(p.completion, fromRecord(records.get(p.where), p.where)).correct) pairs.push(p);
          else rejected++;
        }
      }
      const { examples, counts } = tokenizeSft(tokenizer, pairs, {
        maxLength: o.maxLength,
        overflow: o.overflow as 'truncate' | 'drop',
      });
      rep.log(
        `sft: ${counts.kept} examples (${counts.truncated} truncated, ${counts.dropped} dropped${o.keep === 'correct' ? `, ${rejected} incorrect traces left out` : ''}${skipped ? `, ${skipped} bad records skipped` : ''})`,
      );
      const stop = stopAfterStep(rep);
      try {
        const r = await sft({
          model: await loadModel(o.model as string, { device }),
          examples,
          runDir,
          config,
          resume: Boolean(o.resume),
          signal: stop.signal,
          onProgress: (p) => rep.update('sft', p.step, p.totalSteps, { loss: p.metrics.loss as number }),
          onLog: (m) => rep.log(m),
        });
        if (!(await saveTrainedModel(rep, r, r.totalSteps, out, o.model as string))) return;
        console.log(
          `warmed-up model written to ${out} (${r.steps} steps, validation loss ${r.valLoss?.toFixed(4) ?? '-'}); metrics in ${join(runDir, 'metrics.jsonl')}`,
        );
      } finally {
        stop.dispose();
      }
    });
  describePreset(cmd, 'paper', SFT_PAPER, SFT_OVERRIDES);
}
