// RUN_DIR/metrics.jsonl: one JSON object per optimizer step (and per evaluation), appended and
// flushed line by line so a killed run loses at most the line being written. On resume the
// lines after the checkpoint's step are dropped, since the resumed run writes them again.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: MetricsRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const complete = i < lines.length - 1; // followed by a newline
    try {
      out.push(JSON.parse(line) as MetricsRecord);
    } catch (err) {
      if (complete) throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  }
  return out;
}

// Keeps the records with step <= lastStep (atomically: write a temporary file, then rename).
export function truncateMetrics(runDir: string, lastStep: number): void {
  const file = metricsPath(runDir);
  const kept = readMetrics(runDir).filter((r) => r.step <= lastStep);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  renameSync(tmp, file);
}
