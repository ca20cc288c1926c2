// `warmstart sweep`: a grid over flags of `sft` or `grpo` (e.g. `--lr 1e-6,3e-6,1e-5`, the
// paper's first experiment) run as sibling runs in one folder, then one table and one plot.
// Here: the grid (the cartesian product of every swept flag's values, in the order given), the
// runs' names and folders, and the table of the runs' final metrics read from their metrics.jsonl.
import { join } from 'node:path';

import { readMetrics } from './metrics.js';

/** Flags a sweep may list several values of: the numeric settings of sft and grpo. */
export const SWEEPABLE = [
  '--lr',
  '--weight-decay',
  '--warmup-steps',
  '--max-grad-norm',
  '--epochs',
  '--grad-accum',
  '--steps',
  '--prompts-per-step',
  '--generations',
  '--max-new-tokens',
  '--temperature',
  '--top-p',
  '--clip',
  '--clip-high',
  '--beta',
  '--mu',
  '--seed',
  '--examples',
];

export interface SweepAxis {
  flag: string;
  values: string[];
}

export interface SweepPoint {
  /** The run's name and folder name: flag=value pairs, e.g. "lr=1e-6,seed=1". */
  name: string;
  values: Record<string, string>;
  /** The command's arguments with each swept flag set to this point's value. */
  args: string[];
}

/**
 * The axes of `args` (a swept flag's value holds commas) and the grid's points. Throws, naming
 * the flag, for an empty value or a flag listed twice.
 */
export function expandGrid(args: readonly string[]): { axes: SweepAxis[]; points: SweepPoint[] } {
  const axes: SweepAxis[] = [];
  const at: number[] = [];
  args.forEach((a, i) => {
    const v = args[i + 1];
    if (!SWEEPABLE.includes(a) || v === undefined || !v.includes(',')) return;
    const values = v.split(',').map((s) => s.trim());
    if (values.some((s) => s === '')) throw new RangeError(`${a}: an empty value in "${v}"`);
    if (new Set(values).size !== values.length) throw new RangeError(`${a}: a value is listed twice in "${v}"`);
    if (axes.some((x) => x.flag === a)) throw new RangeError(`${a}: swept twice; list its values once`);
    axes.push({ flag: a, values });
    at.push(i + 1);
  });
  let points: SweepPoint[] = [{ name: '', values: {}, args: [...args] }];
  axes.forEach((axis, k) => {
    points = points.flatMap((p) =>
      axis.values.map((v) => {
        const key = axis.flag.slice(2);
        const argsK = [...p.args];
        argsK[at[k]] = v;
        return {
          name: p.name ? `${p.name},${key}=${v}` : `${key}=${v}`,
          values: { ...p.values, [key]: v },
          args: argsK,
        };
      }),
    );
  });
  return { axes, points: axes.length ? points : [] };
}

/** Where a point's run lives in the sweep folder: its model and its run folder. */
export function sweepPaths(dir: string, point: SweepPoint): { out: string; runDir: string } {
  return { out: join(dir, point.name, 'model'), runDir: join(dir, point.name, 'run') };
}

// The metrics the table shows, when a run logs them: the last value of each.
const FINAL = ['loss', 'val_loss', 'reward_mean', 'accuracy', 'completion_len'];
const HELD_OUT = /^eval_.+_pass1$/;

export interface SweepRow {
  name: string;
  values: Record<string, string>;
  status: 'done' | 'stopped' | 'failed' | 'not run';
  steps: number;
  final: Record<string, number>;
}

/** A row per point from its run folder's metrics.jsonl (the last value of each metric). */
export function sweepRows(
  dir: string,
  points: SweepPoint[],
  status: (p: SweepPoint) => SweepRow['status'],
): SweepRow[] {
  return points.map((p) => {
    const records = readMetrics(sweepPaths(dir, p).runDir);
    const final: Record<string, number> = {};
    let steps = 0;
    for (const r of records) {
      steps = Math.max(steps, r.step);
      for (const [k, v] of Object.entries(r))
        if ((FINAL.includes(k) || HELD_OUT.test(k)) && typeof v === 'number' && Number.isFinite(v)) final[k] = v;
    }
    return { name: p.name, values: p.values, status: status(p), steps, final };
  });
}

/** The table in Markdown: the swept values, the status and steps, then each final metric. */
export function sweepMarkdown(axes: SweepAxis[], rows: SweepRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.final)))].sort(
    (a, b) => (FINAL.indexOf(a) + 1 || 99) - (FINAL.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  const head = [...axes.map((a) => a.flag.slice(2)), 'status', 'steps', ...keys.map((k) => `final ${k}`)];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    const cells = [
      ...axes.map((a) => r.values[a.flag.slice(2)]),
      r.status,
      String(r.steps),
      ...keys.map((k) => (r.final[k] === undefined ? '-' : r.final[k].toPrecision(4))),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
