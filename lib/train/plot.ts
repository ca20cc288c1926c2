// `warmstart plot`: training curves from one or more RUN_DIR/metrics.jsonl files as a PNG.
// vega-lite spec -> compiled vega spec -> headless vega view -> SVG -> PNG with resvg. vega,
// vega-lite and resvg are imported when a plot is rendered, not with the package (vega's module
// has a top-level await, which would make `require('warmstart')` fail, and the three take ~1 s).
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';

import type { TopLevelSpec } from 'vega-lite';

import { readMetrics, type MetricsRecord } from './metrics.js';
import { writeFileAtomic } from '../util/atomic.js';

// The curves drawn, in panel order, with their titles; a panel appears when some run logs it.
export const PLOTTED_METRICS: ReadonlyArray<readonly [string, string]> = [
  ['reward_mean', 'mean reward'],
  ['accuracy', 'accuracy'],
  ['completion_len', 'completion length (tokens)'],
  ['loss', 'training loss'],
  ['val_loss', 'validation loss'],
];

// grpo's held-out evaluations (eval_<set>_pass1) get a panel per set, after those above.
const HELD_OUT = /^eval_(.+)_pass1$/;

export interface PlotSeries {
  run: string;
  records: MetricsRecord[];
}

export function curvesSpec(series: PlotSeries[], title?: string): TopLevelSpec {
  const values: { run: string; step: number; metric: string; value: number }[] = [];
  const present = new Set<string>();
  const heldOut: [string, string][] = [];
  for (const { records } of series)
    for (const r of records)
      for (const key of Object.keys(r)) {
        const m = HELD_OUT.exec(key);
        if (m && !heldOut.some(([k]) => k === key)) heldOut.push([key, `held-out ${m[1]} pass@1`]);
      }
  const plotted = [...PLOTTED_METRICS, ...heldOut];
  for (const { run, records } of series) {
    for (const r of records) {
      for (const [key, name] of plotted) {
        const v = r[key];
        if (typeof v === 'number' && Number.isFinite(v)) {
          values.push({ run, step: r.step, metric: name, value: v });
          present.add(name);
        }
      }
    }
  }
  if (values.length === 0)
    throw new Error('nothing to plot: no metrics record has any of ' + PLOTTED_METRICS.map((m) => m[0]).join(', '));
  const order = plotted.map((m) => m[1]).filter((n) => present.has(n));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title ? { title } : {}),
    data: { values },
    facet: { field: 'metric', type: 'nominal', sort: order, title: null, header: { labelFontSize: 13 } },
    columns: Math.min(2, order.length),
    spec: {
      width: 300,
      height: 170,
      mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '~r' } },
        color: { field: 'run', type: 'nominal', title: 'run', legend: series.length > 1 ? {} : null },
      },
    },
    resolve: { scale: { y: 'independent', x: 'independent' } },
    config: { background: 'white', font: 'DejaVu Sans' },
  } as TopLevelSpec;
}

export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const [vega, { compile }, { Resvg }] = await Promise.all([
    import('vega'),
    import('vega-lite'),
    import('@resvg/resvg-js'),
  ]);
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const fontDir = '/usr/share/fonts';
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, fontDirs: existsSync(fontDir) ? [fontDir] : [], defaultFontFamily: 'DejaVu Sans' },
    background: 'white',
  });
  return resvg.render().asPng();
}

// Plots the runs in `runDirs` (named by their folder names) to `out` (written atomically).
export async function plotRuns(
  runDirs: string[],
  out: string,
  opts: { names?: string[]; title?: string } = {},
): Promise<string> {
  const series = runDirs.map((dir, i) => {
    if (!existsSync(dir)) throw new Error(`${dir}: no such run folder`);
    const records = readMetrics(dir);
    if (records.length === 0) throw new Error(`${dir}/metrics.jsonl: no metrics yet`);
    return { run: opts.names?.[i] ?? basename(resolve(dir)), records };
  });
  const png = await renderPng(curvesSpec(series, opts.title));
  writeFileAtomic(out, png);
  return out;
}
