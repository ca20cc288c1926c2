// RUN_DIR/metrics.jsonl: one JSON object per optimizer step (and per evaluation), appended and
// flushed line by line so a killed run loses at most the line being written. On resume the
// lines after the checkpoint's step are dropped, since the resumed run writes them again.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../util/atomic.js';
import { readJsonlFileSync } from '../util/jsonl.js';

export type MetricsRecord = { step: number } & Record<string, number | string | null>;

export function metricsPath(runDir: string): string {
  return join(runDir, 'metrics.jsonl');
}

export function appendMetrics(runDir: string, record: MetricsRecord): void {
  appendFileSync(metricsPath(runDir), JSON.stringify(record) + '\n');
}

// Reads every complete line; a torn last line (the process died mid-write) is ignored.
export function readMetrics(runDir: string): MetricsRecord[] {
  const file = metricsPath(runDir);
  if (!existsSync(file)) return [];
  return readJsonlFileSync(file, { tornTail: true }).map((r) => r.value as MetricsRecord);
}

// Keeps the records with step <= lastStep (atomically: write a temporary file, then rename).
export function truncateMetrics(runDir: string, lastStep: number): void {
  const file = metricsPath(runDir);
  const kept = readMetrics(runDir).filter((r) => r.step <= lastStep);
  writeFileAtomic(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
}
