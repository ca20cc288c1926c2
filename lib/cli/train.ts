// The recipe's commands: `warmstart sft` (warmup), `grpo` (RLVR with Dr. GRPO), `eval` (pass@1),
// `plot` (curves of runs) and `demo` (the whole recipe on a tiny model in minutes).
// Long runs stop cleanly on Ctrl-C (SIGINT) or SIGTERM: the current step ends, a checkpoint is
// written, and `--resume` continues from it. A second Ctrl-C quits at once.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Option, type Command } from 'commander';

import type { Device } from '../engine/model.js';
import { Progress } from '../train/progress.js';
import { checkDeviceFlag, deviceOption, microBatchOption, parseGenerationBatch } from './device.js';

type Opts = Record<string, string | number | boolean | string[] | undefined>;

const num =
  (name: string) =>
  (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`--${name}: expected a number, got "${v}"`);
    return x;
  };
const int =
  (name: string) =>
  (v: string): number => {
    const x = num(name)(v);
    if (!Number.isInteger(x)) throw new Error(`--${name}: expected an integer, got "${v}"`);
    return x;
  };
const pair =
  (name: string) =>
  (v: string): [number, number] => {
    const parts = v.split(',').map((p) => num(name)(p));
    if (parts.length !== 2) throw new Error(`--${name}: expected two numbers "a,b", got "${v}"`);
    return [parts[0], parts[1]];
  };

// SIGINT/SIGTERM -> abort after the current step (a checkpoint is written); twice -> exit now.
function stopSignal(say: (m: string) => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    say(`${sig}: stopping after this step and writing a checkpoint (again to quit at once)`);
    ac.abort(new Error(`stopped by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

// One progress display per label (a new label finishes the previous one).
function progressReporter(unit = 'step') {
  let current: { label: string; bar: Progress } | null = null;
  return {
    update(label: string, done: number, total: number, fields: Record<string, number> = {}) {
      if (!current || current.label !== label) {
        current?.bar.finish();
        // the rate counts from this first update (the step that produced it started earlier)
        current = { label, bar: new Progress({ total, label, unit, minIntervalMs: 2000 }) };
        current.bar.resumeFrom(done);
      }
      current.bar.update(done, fields);
    },
    log(message: string) {
      if (current) current.bar.log(message);
      else process.stderr.write(message + '\n');
    },
    finish() {
      current?.bar.finish();
      current = null;
    },
  };
}

// The numeric knobs shared by sft and grpo, written into a config object when given.
function overrides<C extends object>(base: C, o: Opts, map: Record<string, keyof C>): C {
  const c = { ...base };
  for (const [opt, key] of Object.entries(map))
    if (o[opt] !== undefined) (c as Record<string, unknown>)[key as string] = o[opt];
  return c;
}

export function registerTrain(program: Command): void {
  program
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
    .option('--max-length <n>', 'longest example in tokens', int('max-length'), 4096)
    .addOption(new Option('--overflow <mode>', 'longer examples').choices(['truncate', 'drop']).default('drop'))
    .addOption(
      new Option('--keep <which>', 'all traces (the paper), or only those the K&K reward scores correct')
        .choices(['all', 'correct'])
        .default('all'),
    )
    .option('--skip-bad', 'skip unreadable records (counted) instead of failing')
    .option('--epochs <n>', 'epochs', int('epochs'))
    .option('--lr <x>', 'peak learning rate', num('lr'))
    .option('--betas <b1,b2>', 'AdamW betas', pair('betas'))
    .option('--weight-decay <x>', 'AdamW weight decay', num('weight-decay'))
    .option('--warmup-steps <n>', 'linear warmup steps, then constant', int('warmup-steps'))
    .option('--max-grad-norm <x>', 'gradient clipping', num('max-grad-norm'))
    .addOption(microBatchOption())
    .option('--grad-accum <n>', 'micro-batches per optimizer step', int('grad-accum'))
    .option('--val <n>', 'examples held out for the validation loss', int('val'))
    .option('--eval-every <n>', 'validation loss every N steps', int('eval-every'))
    .option('--save-every <n>', 'checkpoint every N steps', int('save-every'))
    .option('--seed <n>', 'seed', int('seed'))
    .option('--resume', 'continue the run in --run-dir from its last checkpoint')
    .addOption(deviceOption())
    .action(async (o: Opts) => {
      const device = checkDeviceFlag(o.device as Device);
      const [
        { sft, SFT_PAPER },
        { loadModel },
        { Tokenizer },
        { tokenizeSft },
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
      const config = overrides(SFT_PAPER, o, {
        epochs: 'epochs',
        lr: 'lr',
        betas: 'betas',
        weightDecay: 'weightDecay',
        warmupSteps: 'warmupSteps',
        maxGradNorm: 'maxGradNorm',
        microBatchTokens: 'microBatchTokens',
        gradAccum: 'gradAccum',
        val: 'valExamples',
        evalEvery: 'evalEvery',
        saveEvery: 'saveEvery',
        seed: 'seed',
      });
      const out = o.out as string;
      const runDir = (o.runDir as string | undefined) ?? `${out}.run`;
      const rep = progressReporter();
      const tokenizer = Tokenizer.load(o.model as string);
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
        });
        skipped += loaded.stats.skipped;
        if (o.keep !== 'correct') {
          pairs.push(...loaded.pairs);
          continue;
        }
        // --keep correct: the K&K reward of each trace against the puzzle in the same record
        const records = new Map<string, unknown>();
        for await (const rec of readRecords(file, { skipBad: Boolean(o.skipBad) })) records.set(rec.where, rec.value);
        for (const p of loaded.pairs) {
          if (kkRewardDetails(p.completion, fromRecord(records.get(p.where), p.where)).correct) pairs.push(p);
          else rejected++;
        }
      }
      const { examples, counts } = tokenizeSft(tokenizer, pairs, {
        maxLength: o.maxLength as unknown as number,
        overflow: o.overflow as 'truncate' | 'drop',
      });
      rep.log(
        `sft: ${counts.kept} examples (${counts.truncated} truncated, ${counts.dropped} dropped${o.keep === 'correct' ? `, ${rejected} incorrect traces left out` : ''}${skipped ? `, ${skipped} bad records skipped` : ''})`,
      );
      if (config.microBatchTokens !== 'auto')
        config.microBatchTokens = Math.max(config.microBatchTokens, o.maxLength as number);
      const stop = stopSignal((m) => rep.log(m));
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
        rep.finish();
        if (r.aborted) {
          console.log(`stopped at step ${r.steps}/${r.totalSteps}; checkpoint ${r.checkpoint}; continue with --resume`);
          return;
        }
        await r.model.save(out, { tokenizerFrom: o.model as string });
        console.log(
          `warmed-up model written to ${out} (${r.steps} steps, validation loss ${r.valLoss?.toFixed(4) ?? '-'}); metrics in ${join(runDir, 'metrics.jsonl')}`,
        );
      } finally {
        stop.dispose();
      }
    });

  program
    .command('grpo')
    .description('RLVR: Dr. GRPO on a few verifiable examples (math, humaneval, mmlu-pro, kk, or your reward module)')
    .requiredOption('--model <dir>', 'policy model folder')
    .requiredOption(
      '--task <name>',
      'math | humaneval | mmlu-pro | kk | path to a module exporting a RewardTask and load()',
    )
    .option('--data <file>', "training examples (default: the task's training split)")
    .option('--examples <n>', 'how many training examples (the paper: at most 100)', int('examples'), 100)
    .requiredOption('--out <dir>', 'where the trained model is written')
    .option('--run-dir <dir>', 'metrics, checkpoints (default: <out>.run)')
    .addOption(new Option('--preset <name>', 'defaults').choices(['paper']).default('paper'))
    .option('--steps <n>', 'optimizer steps', int('steps'))
    .option('--prompts-per-step <n>', 'prompts per optimizer step (P)', int('prompts-per-step'))
    .option('--generations <n>', 'completions per prompt (G)', int('generations'))
    .option(
      '--max-completion-length <n>',
      'tokens per completion (also the Dr. GRPO normaliser)',
      int('max-completion-length'),
    )
    .option('--temperature <x>', 'sampling temperature', num('temperature'))
    .option('--top-p <x>', 'nucleus sampling mass', num('top-p'))
    .option('--lr <x>', 'peak learning rate', num('lr'))
    .option('--betas <b1,b2>', 'AdamW betas', pair('betas'))
    .option('--weight-decay <x>', 'AdamW weight decay', num('weight-decay'))
    .option('--warmup-steps <n>', 'linear warmup steps, then constant', int('warmup-steps'))
    .option('--max-grad-norm <x>', 'gradient clipping', num('max-grad-norm'))
    .option('--clip <x>', 'PPO ratio clip epsilon (both sides)', num('clip'))
    .option('--clip-high <x>', 'upper clip epsilon, if different', num('clip-high'))
    .option('--beta <x>', 'k3 KL coefficient against the frozen starting model (0: none)', num('beta'))
    .option('--mu <n>', 'policy updates per batch', int('mu'))
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
    .option('--save-every <n>', 'checkpoint every N steps', int('save-every'))
    .option('--seed <n>', 'seed', int('seed'))
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
        lr: 'lr',
        betas: 'betas',
        weightDecay: 'weightDecay',
        warmupSteps: 'warmupSteps',
        maxGradNorm: 'maxGradNorm',
        clip: 'clipLow',
        beta: 'beta',
        mu: 'mu',
        scaleRewards: 'scaleRewards',
        microBatchTokens: 'microBatchTokens',
        generationBatch: 'generationBatch',
        saveEvery: 'saveEvery',
        seed: 'seed',
      });
      config.clipHigh = (o.clipHigh as unknown as number | undefined) ?? config.clipLow;
      const out = o.out as string;
      const runDir = (o.runDir as string | undefined) ?? `${out}.run`;
      const rep = progressReporter();
      const tokenizer = Tokenizer.load(o.model as string);
      const { task, examples } = await loadRlTask(o.task as string, {
        data: o.data as string | undefined,
        limit: o.examples as unknown as number,
        seed: config.seed,
        split: 'train',
      });
      rep.log(
        `grpo: ${examples.length} ${task.name} examples, ${config.steps} steps of ${config.promptsPerStep} prompts x ${config.generations} completions`,
      );
      const stop = stopSignal((m) => rep.log(m));
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
        rep.finish();
        if (r.aborted) {
          console.log(`stopped at step ${r.steps}/${config.steps}; checkpoint ${r.checkpoint}; continue with --resume`);
          return;
        }
        await r.model.save(out, { tokenizerFrom: o.model as string });
        console.log(`trained model written to ${out}; metrics in ${join(runDir, 'metrics.jsonl')}`);
      } finally {
        stop.dispose();
      }
    });

  program
    .command('eval')
    .description('pass@1 as the paper reports it: k samples per problem, accuracy per sample index, mean ± std')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--benchmark <name>', 'math500 | humaneval | mmlu-pro | kk')
    .option('--data <file>', "problems (default: the benchmark's evaluation set)")
    .option('--limit <n>', 'first N problems only', int('limit'))
    .option('--samples <n>', 'k samples per problem', int('samples'), 4)
    .option('--temperature <x>', 'sampling temperature', num('temperature'), 0.7)
    .option('--top-p <x>', 'nucleus sampling mass', num('top-p'), 0.95)
    .option('--max-new-tokens <n>', 'tokens per completion', int('max-new-tokens'), 4096)
    .option('--batch-size <n>', 'sequences generated together', int('batch-size'), 64)
    .option('--seed <n>', 'seed', int('seed'), 0)
    .option('--out <file>', 'every completion as JSONL (default: eval-<benchmark>.jsonl)')
    .addOption(deviceOption())
    .action(async (o: Opts) => {
      const device = checkDeviceFlag(o.device as Device);
      const [{ evaluate }, { loadModel }, { Tokenizer }, { loadRlTask }] = await Promise.all([
        import('../eval/evaluate.js'),
        import('../engine/model.js'),
        import('../data/tokenizer.js'),
        import('../tasks/load.js'),
      ]);
      const rep = progressReporter('seq');
      const tokenizer = Tokenizer.load(o.model as string);
      const { task, examples } = await loadRlTask(o.benchmark as string, {
        data: o.data as string | undefined,
        limit: o.limit as unknown as number | undefined,
        seed: 0,
        split: 'eval',
      });
      const out = (o.out as string | undefined) ?? `eval-${o.benchmark as string}.jsonl`;
      const stop = stopSignal((m) => rep.log(m));
      try {
        const r = await evaluate({
          model: await loadModel(o.model as string, { device }),
          tokenizer,
          task,
          examples,
          out,
          signal: stop.signal,
          config: {
            samples: o.samples as unknown as number,
            temperature: o.temperature as unknown as number,
            topP: o.topP as unknown as number,
            topK: 0,
            maxNewTokens: o.maxNewTokens as unknown as number,
            batchSize: o.batchSize as unknown as number,
            seed: o.seed as unknown as number,
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

  program
    .command('plot')
    .description('PNG curves (reward, accuracy, completion length, loss) of one or more runs')
    .argument('<run-dirs...>', 'run folders holding metrics.jsonl')
    .option('--out <file>', 'PNG file (default: <first run>/curves.png)')
    .option('--title <text>', 'title')
    .action(async (runDirs: string[], o: Opts) => {
      const { plotRuns } = await import('../train/plot.js');
      const out = (o.out as string | undefined) ?? join(runDirs[0], 'curves.png');
      await plotRuns(runDirs, out, { title: o.title as string | undefined });
      console.log(`wrote ${out}`);
    });

  program
    .command('demo')
    .description(
      'the whole recipe on a tiny model on the CPU in minutes, no download: K&K warmup, then Dr. GRPO on a held-out task',
    )
    .option('--model <dir>', 'run the same recipe from a real model folder instead of a tiny random one')
    .option('--out <dir>', 'working folder', 'warmstart-demo')
    .option('--seed <n>', 'seed', int('seed'), 0)
    .action(async (o: Opts) => {
      const { demo } = await import('../demo.js');
      if (o.model && !existsSync(o.model as string)) throw new Error(`--model ${o.model as string}: no such folder`);
      const rep = progressReporter();
      const stop = stopSignal((m) => rep.log(m));
      try {
        const r = await demo({
          out: resolve(o.out as string),
          model: o.model as string | undefined,
          seed: o.seed as unknown as number,
          signal: stop.signal,
          log: (m) => rep.log(m),
          progress: (label, done, total, fields) => rep.update(label, done, total, fields),
        });
        rep.finish();
        console.log(
          `\n${r.table}\n\ncurves: ${r.png}\nwall time: ${r.seconds.toFixed(0)} s, CPU time ${r.cpuSeconds.toFixed(0)} s (${Object.entries(
            r.phases,
          )
            .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
            .join(', ')})`,
        );
      } finally {
        stop.dispose();
      }
    });
}
