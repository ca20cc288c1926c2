// Reading and writing K&K puzzle files: the published Parquet files (hyparquet), K&K JSONL (one
// record a line, as in the K-and-K/knights-and-knaves release and our own output) and JSON arrays.
// Writes go to a temporary file renamed into place, so a failed write leaves nothing half-written.

import { promises as fs } from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../util/atomic.js';
import { lineWhere, readJsonlFile } from '../util/jsonl.js';
import { fromRecord, toRecord, type KKPuzzle } from './puzzle.js';

function bigintsToNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(bigintsToNumbers);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = bigintsToNumbers(x);
    return o;
  }
  return v;
}

/** Records of a Parquet file, one object a row (64-bit integers as numbers). */
export async function readParquetRows(file: string): Promise<Record<string, unknown>[]> {
  const buf = await fs.readFile(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  try {
    const { parquetReadObjects } = await import('hyparquet');
    rows = (await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
  } catch (err) {
    throw new Error(`${file}: not a readable Parquet file (${err instanceof Error ? err.message : String(err)})`);
  }
  return rows.map((r) => bigintsToNumbers(r) as Record<string, unknown>);
}

/** Records of a JSONL file (blank lines skipped); errors name the line. */
export async function readJsonlRows(file: string): Promise<{ row: unknown; line: number }[]> {
  return (await readJsonlFile(file)).map((r) => ({ row: r.value, line: r.line }));
}

/**
 * Loads K&K puzzles from a `.parquet` file (the published data), a `.jsonl` file (K&K JSONL, our
 * generator's and trace writer's output) or a `.json` array. Rows keep their file position as
 * `index` unless they carry one. Errors name the file, the row or line, and the field.
 */
export async function loadPuzzles(file: string): Promise<KKPuzzle[]> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') {
    const rows = await readParquetRows(file);
    return rows.map((r, i) => withIndex(fromRecord(r, `${file} row ${i}`), i));
  }
  if (ext === '.jsonl' || ext === '.ndjson') {
    const rows = await readJsonlRows(file);
    return rows.map(({ row, line }, i) => withIndex(fromRecord(row, lineWhere(file, line)), i));
  }
  if (ext === '.json') {
    let data: unknown;
    try {
      data = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      throw new SyntaxError(`${file}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!Array.isArray(data)) throw new TypeError(`${file}: expected a JSON array of puzzle records`);
    return data.map((r, i) => withIndex(fromRecord(r, `${file} item ${i}`), i));
  }
  throw new RangeError(`${file}: unknown puzzle file type "${ext}" (expected .parquet, .jsonl or .json)`);
}

function withIndex(p: KKPuzzle, i: number): KKPuzzle {
  if (p.index === undefined) p.index = i;
  return p;
}

/** Writes rows as JSONL, atomically (lib/util/atomic.ts). */
export async function writeJsonl(file: string, rows: Iterable<unknown>): Promise<void> {
  const lines: string[] = [];
  for (const r of rows) lines.push(JSON.stringify(r));
  writeFileAtomic(file, lines.length ? lines.join('\n') + '\n' : '');
}

/** Writes puzzles as K&K JSONL records (statements in tuple notation), readable by {@link loadPuzzles}. */
export async function writePuzzles(file: string, puzzles: readonly KKPuzzle[]): Promise<void> {
  if (path.extname(file).toLowerCase() !== '.jsonl')
    throw new RangeError(`${file}: puzzles are written as JSONL; name the file *.jsonl`);
  await writeJsonl(file, puzzles.map(toRecord));
}
