// The `warmstart` command line. Each command group lives in its own file and registers itself
// here; the library API (lib/index.ts) mirrors every command.
import { Command, CommanderError } from 'commander';

import { registerBuildCuda } from './build-cuda.js';
import { registerData } from './data.js';
import { registerDoctor } from './doctor.js';
import { registerKk } from './kk.js';
import { registerScore } from './score.js';
import { registerServe } from './serve.js';
import { registerDemo } from './demo-command.js';
import { registerEval } from './eval-command.js';
import { registerGrpo } from './grpo-command.js';
import { registerPlot } from './plot-command.js';
import { registerSft } from './sft-command.js';
import { registerSweep } from './sweep-command.js';
import { packageVersion } from './package-info.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('warmstart')
    .description('Warm up a reasoning model on Knights & Knaves traces, then adapt it with Dr. GRPO on scarce data')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError();
  registerDoctor(program);
  registerBuildCuda(program);
  registerData(program);
  registerKk(program);
  registerScore(program);
  registerServe(program);
  registerSft(program);
  registerGrpo(program);
  registerEval(program);
  registerPlot(program);
  registerDemo(program);
  registerSweep(program, run);
  return program;
}

// Runs the CLI; errors are printed as one line (no stack) and set a non-zero exit code.
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    console.error(`warmstart: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode ||= 1; // a run that Ctrl-C stopped keeps its 130 (cli/flags.ts)
  }
}

// Run directly with tsx (node --import tsx lib/cli/main.ts ...) in development and tests.
if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv);
}
