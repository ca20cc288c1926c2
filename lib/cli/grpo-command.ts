// `warmstart grpo`: RLVR with Dr. GRPO on a few verifiable examples of a task (lib/tasks).
// Ctrl-C stops after the current step with a checkpoint; --resume continues.
import { join } from 'node:path';

import { Option, type Command } from 'commander';

import type { Device } from '../engine/model.js';
import { checkDeviceFlag, deviceOption, microBatchOption, parseGenerationBatch } from './device.js';
import { overrides, parseInteger, parseNumber } from './flags.js';
import { addOptimizerOptions, OPTIMIZER_OVERRIDES } from './optimizer-flags.js';
import { progressReporter, saveTrainedModel, stopAfterStep } from './run-output.js';

// Flags not listed by name keep commander's loose record; the parsed numbers are typed.
type Opts = Record<string, string | number | boolean | string[] | undefined> & { examples: number; clipHigh?: number };

export function registerGrpo(program: Command): void {
  const cmd = program
    .command('grpo')
    .description('RLVR: Dr. GRPO on a few verifiable examples (math, humaneval, mmlu-pro, kk, or your reward module)')
    .requiredOption('--model <dir>', 'policy model folder')
    .requiredOption(
      '--task <name>',
      'math | humaneval | mmlu-pro | kk | path to a module exporting a RewardTask and load()',
    )
    .option('--data <file>', "training examples (default: the task's training split)")
    .option('--examples <n>', 'how many training examples (the paper: at most 100)', parseInteger('--examples'), 100)
    .requiredOption('--out <dir>', 'where the trained model is written')
    .option('--run-dir <dir>', 'metrics, checkpoints (default: <out>.run)')
    .addOption(new Option('--preset <name>', 'defaults').choices(['paper']).default('paper'))
    .option('--steps <n>', 'optimizer steps', parseInteger('--steps'))
    .option('--prompts-per-step <n>', 'prompts per optimizer step (P)', parseInteger('--prompts-per-step'))
    .option('--generations <n>', 'completions per prompt (G)', parseInteger('--generations'))
    .option(
      '--max-completion-length <n>',
      'tokens per completion (also the Dr. GRPO normaliser)',
      parseInteger('--max-completion-length'),
    )
    .option('--temperature <x>', 'sampling temperature', parseNumber('--temperature'))
    .option('--top-p <x>', 'nucleus sampling mass', parseNumber('--top-p'));
  addOptimizerOptions(cmd)
    .option('--clip <x>', 'PPO ratio clip epsilon (both sides)', parseNumber('--clip'))
    .option('--clip-high <x>', 'upper clip epsilon, if different', parseNumber('--clip-high'))
    .option('--beta <x>', 'k3 KL coefficient against the frozen starting model (0: none)', parseNumber('--beta'))
    .option('--mu <n>', 'policy updates per batch', parseInteger('--mu'))
    .addOption(
      new Option('--scale-rewards <how>', 'none: Dr. GRPO; group: divide by the group std (GRPO)').choices([
        'none',
        'group',
      ]),
    )
    .addOption(microBatchOption())
    .option(
      '--generation-batch <n>',
      'sequences sampled per engine call (auto: what a KV-cache budget holds); the completions are the same whatever it is',
      parseGenerationBatch,
    )
    .option('--save-every <n>', 'checkpoint every N steps', parseInteger('--save-every'))
    .option('--seed <n>', 'seed', parseInteger('--seed'))
    .option('--resume', 'continue the run in --run-dir from its last checkpoint')
    .addOption(deviceOption())
    .action(async (o: Opts) => {
      const device = checkDeviceFlag(o.device as Device);
      const [{ grpo, GRPO_PAPER }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
        import('../train/grpo.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../tasks/load.js'),
      ]);
      const config = overrides(GRPO_PAPER, o, {
        steps: 'steps',
        promptsPerStep: 'promptsPerStep',
        generations: 'generations',
        maxCompletionLength: 'maxCompletionLength',
        temperature: 'temperature',
        topP: 'topP',
        ...OPTIMIZER_OVERRIDES,
        clip: 'clipLow',
        beta: 'beta',
        mu: 'mu',
        scaleRewards: 'scaleRewards',
        microBatchTokens: 'microBatchTokens',
        generationBatch: 'generationBatch',
        saveEvery: 'saveEvery',
        seed: 'seed',
      });
      config.clipHigh = o.clipHigh ?? config.clipLow;
      const out = o.out as string;
      const runDir = (o.runDir as string | undefined) ?? `${out}.run`;
      const rep = progressReporter();
      const tokenizer = Tokenizer.load(o.model as string);
      const { task, examples } = await loadRlTask(o.task as string, {
        data: o.data as string | undefined,
        limit: o.examples,
        seed: config.seed,
        split: 'train',
      });
      rep.log(
        `grpo: ${examples.length} ${task.name} examples, ${config.steps} steps of ${config.promptsPerStep} prompts x ${config.generations} completions`,
      );
      const stop = stopAfterStep(rep);
      try {
        const model = await loadModel(o.model as string, { device });
        const reference = config.beta > 0 ? await loadModel(o.model as string, { device }) : undefined;
        const r = await grpo({
          model,
          reference,
          tokenizer,
          task,
          examples,
          runDir,
          config,
          resume: Boolean(o.resume),
          signal: stop.signal,
          onProgress: (p) =>
            rep.update('grpo', p.step, p.totalSteps, {
              reward: p.metrics.reward_mean as number,
              acc: p.metrics.accuracy as number,
              len: p.metrics.completion_len as number,
            }),
          onLog: (m) => rep.log(m),
        });
        if (!(await saveTrainedModel(rep, r, config.steps, out, o.model as string))) return;
        console.log(`trained model written to ${out}; metrics in ${join(runDir, 'metrics.jsonl')}`);
      } finally {
        stop.dispose();
      }
    });
}
