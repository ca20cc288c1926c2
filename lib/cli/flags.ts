// Parsers for command-line flags, shared by every command, each naming its flag in its error:
//   --lr: expected a number, got "x"      --count: expected an integer >= 0, got "ten"
// and the one SIGINT/SIGTERM handling of long commands: the first signal asks the command to stop
// (it finishes its step, writes a checkpoint, or lets requests in flight finish); a second exits.
import { constants } from 'node:os';
import { Option, type Command } from 'commander';

/** A number (finite). */
export function parseNumber(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`${flag}: expected a number, got "${v}"`);
    return x;
  };
}

/** An integer, at least `min` when one is given. */
export function parseInteger(flag: string, min?: number): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isInteger(x) || (min !== undefined && x < min))
      throw new RangeError(`${flag}: expected an integer${min !== undefined ? ` >= ${min}` : ''}, got "${v}"`);
    return x;
  };
}

/** Two numbers "a,b". */
export function parsePair(flag: string): (v: string) => [number, number] {
  return (v) => {
    const parts = v.split(',').map(parseNumber(flag));
    if (parts.length !== 2) throw new Error(`${flag}: expected two numbers "a,b", got "${v}"`);
    return [parts[0], parts[1]];
  };
}

/** A positive integer or "auto". */
export function parsePositiveIntOrAuto(flag: string): (v: string) => number | 'auto' {
  return (v) => {
    if (v === 'auto') return 'auto';
    const x = Number(v);
    if (v.trim() === '' || !Number.isInteger(x) || x < 1)
      throw new Error(`${flag}: expected a positive integer or "auto", got "${v}"`);
    return x;
  };
}

/**
 * Until `dispose()`, SIGINT and SIGTERM call `onFirst` once (and abort `signal`); the second one
 * exits the process at once with status 128 + its number (130 for Ctrl-C), ending native work in
 * flight (the addon cancels it when the process exits). A run stopped by a first Ctrl-C exits 130
 * when it is done; one stopped by SIGTERM exits 0 (a service asked to stop).
 */
export function stopOnSignal(onFirst: (sig: NodeJS.Signals) => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(128 + (constants.signals[sig] ?? 0));
    if (sig === 'SIGINT') process.exitCode = 130;
    onFirst(sig);
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

// The numeric knobs shared by sft and grpo, written into a config object when given.
export function overrides<C extends object>(base: C, o: object, map: Record<string, keyof C>): C {
  const c = { ...base };
  for (const [opt, key] of Object.entries(map))
    if ((o as Record<string, unknown>)[opt] !== undefined)
      (c as Record<string, unknown>)[key as string] = (o as Record<string, unknown>)[opt];
  return c;
}

/** An old spelling of a flag: still parsed (with a warning, see `deprecated`), not shown in --help. */
export function deprecatedOption(flags: string, replacement: string): Option {
  return new Option(flags, `deprecated spelling of ${replacement}`).hideHelp();
}

/** `old` (the value of a deprecated flag) when it was given, with a warning on stderr; else `value`. */
export function deprecated<T>(old: T | undefined, oldFlag: string, newFlag: string, value: T): T {
  if (old === undefined) return value;
  process.stderr.write(`warning: ${oldFlag} is deprecated, use ${newFlag}\n`);
  return old;
}

/**
 * Appends the preset's value to the --help line of every flag `map` ties to a preset field
 * (commander attribute name -> field) and that has no default of its own: "(paper: 100)".
 */
export function describePreset(cmd: Command, name: string, preset: object, map: Record<string, string>): void {
  for (const opt of cmd.options) {
    const key = map[opt.attributeName()];
    const v = key === undefined ? undefined : (preset as Record<string, unknown>)[key];
    if (v === undefined || opt.defaultValue !== undefined) continue;
    opt.description += ` (${name}: ${Array.isArray(v) ? v.join(',') : String(v)})`;
  }
}
