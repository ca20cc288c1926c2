// Command-line flags shared by the TypeScript benchmarks: `--name N` numbers and switches.
const argv = process.argv.slice(2);

/** The number after `--name`, or `def` when the flag is absent. */
export function flag(name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** Whether the bare switch `--name` was given. */
export function has(name: string): boolean {
  return argv.includes(`--${name}`);
}

/** Whether `--quick` (smaller shapes, fewer repetitions) was given. */
export const quick = has('quick');
