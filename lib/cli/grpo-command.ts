// `warmstart grpo`: RLVR with Dr. GRPO on a few verifiable examples of a task (lib/tasks).
// Ctrl-C stops after the current step with a checkpoint; --resume continues.
import { join } from 'node:path';

import { Option, type Command } from 'commander';

import type { Device } from '../engine/model.js';
import type { HeldOutSet } from '../train/grpo.js';
import { checkDeviceFlag, deviceOption, microBatchOption, parseGenerationBatch } from './device.js';
import { GRPO_PAPER } from '../train/grpo.js';
import { deprecated, deprecatedOption, describePreset, overrides, parseInteger, parseNumber } from './flags.js';
import { addOptimizerOptions, OPTIMIZER_OVERRIDES } from './optimizer-flags.js';
import { progressReporter, saveTrainedModel, stopAfterStep } from './run-output.js';

// Flags not listed by name keep commander's loose record; the parsed numbers are typed.
type Opts = Record<string, string | number | boolean | string[] | undefined> & {
  examples: number;
  clipHigh?: number;
  evalBenchmarks?: string[];
  evalData?: string[];
  evalLimit: number;
};

/** The benchmarks `--eval-benchmarks` takes: those with a held-out split (lib/tasks/load.ts). */
export const HELD_OUT_BENCHMARKS = ['kk', 'math500', 'mmlu-pro', 'humaneval'];

/** A comma-separated list of names from `allowed`. */
export function parseList(flag: string, allowed: readonly string[]): (v: string) => string[] {
  return (v) => {
    const names = v.split(',').map((s) => s.trim());
    for (const n of names)
      if (!allowed.includes(n)) throw new RangeError(`${flag}: expected names from ${allowed.join(', ')}, got "${n}"`);
    if (new Set(names).size !== names.length) throw new RangeError(`${flag}: a name is listed twice in "${v}"`);
    return names;
  };
}

/** "name=file" pairs of --eval-data, each name one of --eval-benchmarks. */
export function parseEvalData(pairs: readonly string[], names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    const name = p.slice(0, i);
    if (i <= 0 || i === p.length - 1) throw new RangeError(`--eval-data: expected name=file, got "${p}"`);
    if (!names.includes(name))
      throw new RangeError(`--eval-data: "${name}" is not one of --eval-benchmarks (${names.join(', ')})`);
    out[name] = p.slice(i + 1);
  }
  return out;
}

// The held-out sets of --eval-benchmarks (default: the training task's own held-out split).
async function loadHeldOut(
  o: Opts,
  evalEvery: number,
  loadRlTask: typeof import('../tasks/load.js').loadRlTask,
): Promise<HeldOutSet[]> {
  const task = o.task === 'math' ? 'math500' : (o.task as string);
  const names = o.evalBenchmarks ?? (HELD_OUT_BENCHMARKS.includes(task) ? [task] : []);
  if (evalEvery === 0) {
    if (o.evalBenchmarks) throw new RangeError('--eval-benchmarks: needs --eval-every N (N > 0)');
    return [];
  }
  if (names.length === 0)
    throw new RangeError(`--eval-every: --task ${task} has no held-out split; name the sets with --eval-benchmarks`);
  const data = parseEvalData(o.evalData ?? [], names);
  const sets: HeldOutSet[] = [];
  for (const name of names) {
    const { task: t, examples } = await loadRlTask(name, {
      data: data[name],
      dataFlag: `--eval-data ${name}=FILE`,
      limit: o.evalLimit,
      seed: (o.seed as number | undefined) ?? 0,
      split: 'eval',
    });
    sets.push({ name, task: t, examples });
  }
  return sets;
}

// commander's option name -> GrpoConfig field: the flags that override the preset.
const GRPO_OVERRIDES = {
  steps: 'steps',
  epochs: 'epochs',
  maxPromptLength: 'maxPromptLength',
  maxModelLength: 'maxModelLength',
  promptsPerStep: 'promptsPerStep',
  generations: 'generations',
  maxNewTokens: 'maxCompletionLength',
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
  evalEvery: 'evalEvery',
  evalSamples: 'evalSamples',
  stopWhen: 'stopWhen',
  plateauWindow: 'plateauWindow',
  plateauPatience: 'plateauPatience',
  plateauMinDelta: 'plateauMinDelta',
} as const;

export function registerGrpo(program: Command): void {
  const cmd = program
    .command('grpo')
    .description('RLVR: Dr. GRPO on a few verifiable examples (math, humaneval, mmlu-pro, kk, or your reward module)')
    .requiredOption('--model <dir>', 'policy model folder')
    .requiredOption(
      '--task <name>',
      'math | humaneval | mmlu-pro | kk | path to a module exporting a RewardTask and load()',
    )
    .option(
      '--data <file>',
      'training examples (kk: puzzles; math: the pool 100 problems are drawn from; humaneval, mmlu-pro: the published file, split as the paper does)',
    )
    .option('--decontaminate <file>', 'math: MATH-500 (JSONL), whose problems the training draw leaves out')
    .option('--no-decontaminate', 'math: draw from the whole --data pool')
    .option('--examples <n>', 'how many training examples (the paper: at most 100)', parseInteger('--examples'), 100)
    .requiredOption('--out <dir>', 'where the trained model is written')
    .option('--run-dir <dir>', 'metrics, checkpoints (default: <out>.run)')
    .addOption(new Option('--preset <name>', 'defaults').choices(['paper']).default('paper'))
    .option('--steps <n>', 'optimizer steps (0 in the preset: from --epochs)', parseInteger('--steps', 1))
    .option('--epochs <n>', 'passes over the examples (the paper: 25)', parseInteger('--epochs', 1))
    .option(
      '--max-prompt-length <n>',
      'examples with longer prompts (tokens) are left out (the paper: 256; 0: no limit)',
      parseInteger('--max-prompt-length', 0),
    )
    .option(
      '--max-model-length <n>',
      'prompt + completion tokens at most (the paper: 4096, its vLLM limit; 0: no limit)',
      parseInteger('--max-model-length', 0),
    )
    .option('--prompts-per-step <n>', 'prompts per optimizer step (P)', parseInteger('--prompts-per-step'))
    .option('--generations <n>', 'completions per prompt (G)', parseInteger('--generations'))
    .option(
      '--max-new-tokens <n>',
      'most tokens per completion (the max completion length of the Dr. GRPO normaliser)',
      parseInteger('--max-new-tokens'),
    )
    .addOption(
      deprecatedOption('--max-completion-length <n>', '--max-new-tokens').argParser(
        parseInteger('--max-completion-length'),
      ),
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
    .option(
      '--eval-every <n>',
      'held-out pass@1 of every --eval-benchmarks set at step 0, every N steps and at the end (0: none)',
      parseInteger('--eval-every', 0),
    )
    .option(
      '--eval-benchmarks <names>',
      'comma-separated held-out sets: kk, math500, mmlu-pro, humaneval (default: the --task when it is one of them)',
      parseList('--eval-benchmarks', HELD_OUT_BENCHMARKS),
    )
    .option(
      '--eval-data <name=file...>',
      "each held-out set's problems, e.g. kk=test.parquet (the published file; one for every --eval-benchmarks set)",
    )
    .option('--eval-limit <n>', 'first N held-out problems of each set', parseInteger('--eval-limit', 1), 100)
    .option('--eval-samples <n>', 'samples per held-out problem', parseInteger('--eval-samples', 1))
    .addOption(
      new Option(
        '--stop-when <criterion>',
        "never, or plateau: stop when the first held-out set's mean reward stops improving (needs --eval-every)",
      ).choices(['never', 'plateau']),
    )
    .option(
      '--plateau-window <n>',
      'evaluations averaged by the plateau criterion',
      parseInteger('--plateau-window', 1),
    )
    .option(
      '--plateau-patience <n>',
      'evaluations without a rise of that mean before stopping',
      parseInteger('--plateau-patience', 1),
    )
    .option('--plateau-min-delta <x>', 'the smallest rise that counts', parseNumber('--plateau-min-delta'))
    .option('--save-every <n>', 'checkpoint every N steps', parseInteger('--save-every'))
    .option('--seed <n>', 'seed', parseInteger('--seed'))
    .option('--resume', 'continue the run in --run-dir from its last checkpoint')
    .addOption(deviceOption())
    .action(async (o: Opts) => {
      const device = checkDeviceFlag(o.device as Device);
      const [{ grpo, checkGrpoConfig }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
        import('../train/grpo.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../tasks/load.js'),
      ]);
      if (o.steps !== undefined && o.epochs !== undefined)
        throw new RangeError('--steps and --epochs: give one (steps = ceil(epochs x examples / prompts per step))');
      const config = overrides(GRPO_PAPER, o, GRPO_OVERRIDES);
      config.maxCompletionLength = deprecated(
        o.maxCompletionLength as number | undefined,
        '--max-completion-length',
        '--max-new-tokens',
        config.maxCompletionLength,
      );
      config.clipHigh = o.clipHigh ?? config.clipLow;
      if (o.epochs !== undefined) config.steps = 0; // steps from the epochs
      checkGrpoConfig(config);
      const out = o.out as string;
      const runDir = (o.runDir as string | undefined) ?? `${out}.run`;
      const rep = progressReporter();
      const { task, examples } = await loadRlTask(o.task as string, {
        data: o.data as string | undefined,
        decontaminate: o.decontaminate as string | false | undefined,
        limit: o.examples,
        seed: config.seed,
        split: 'train',
      });
      const heldOut = await loadHeldOut(o, config.evalEvery ?? 0, loadRlTask);
      const tokenizer = Tokenizer.load(o.model as string);
      rep.log(
        `grpo: ${examples.length} ${task.name} examples, ${config.steps ? `${config.steps} steps` : `${config.epochs} epochs`} of ${config.promptsPerStep} prompts x ${config.generations} completions`,
      );
      if (heldOut.length)
        rep.log(`grpo: held-out ${heldOut.map((h) => `${h.name} (${h.examples.length})`).join(', ')}`);
      const stop = stopAfterStep(rep);
      try {
        const model = await loadModel(o.model as string, { device });
        const reference = config.beta > 0 ? await loadModel(o.model as string, { device }) : undefined;
        const r = await grpo({
          model,
          reference,
          heldOut,
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
        if (!(await saveTrainedModel(rep, r, r.totalSteps, out, o.model as string))) return;
        console.log(`trained model written to ${out}; metrics in ${join(runDir, 'metrics.jsonl')}`);
      } finally {
        stop.dispose();
      }
    });
  describePreset(cmd, 'paper', GRPO_PAPER, GRPO_OVERRIDES);
}
