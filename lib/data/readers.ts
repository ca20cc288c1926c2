// Readers for training data: JSONL (streamed line by line, gzip-compressed too) and Parquet
// (hyparquet, one row group at a time), each record tagged with where it came from so every
// error names the file and the line or row. With `skipBad`, bad records are counted and skipped
// instead of stopping the read. A field map turns records into (prompt, completion) pairs, so
// published trace datasets load as they are.
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

import { jsonlLines } from './jsonl-lines.js';
import { DataError, lineWhere, notRegularFile, parseJsonlLine, type SourceRecord } from '../util/jsonl.js';
import type { SftPair } from './sft-examples.js';

export { DataError, type SourceRecord } from '../util/jsonl.js';

/** Counts kept by a read: records yielded, records skipped, and the first few skip reasons. */
export interface ReadStats {
  records: number;
  skipped: number;
  errors: string[];
}

export interface ReadOptions {
  /** Count and skip bad records instead of throwing. Default false. */
  skipBad?: boolean;
  /** Filled in while reading. */
  stats?: ReadStats;
  /**
   * JSONL: cut every string to this many characters while reading (fieldCharBound in
   * sft-examples.ts gives the bound for a --max-length), so one huge record cannot exhaust memory.
   */
  maxStringChars?: number;
}

export function newReadStats(): ReadStats {
  return { records: 0, skipped: 0, errors: [] };
}

function skipOrThrow(err: DataError, opts: ReadOptions): void {
  if (!opts.skipBad) throw err;
  if (opts.stats) {
    opts.stats.skipped++;
    if (opts.stats.errors.length < 5) opts.stats.errors.push(err.message);
  }
}

/** Opens `file` for reading after checking it is a regular file (a FIFO would block the open, a folder fail later without its name). */
async function openRegular(file: string): Promise<FileHandle> {
  let why: string | null;
  try {
    why = notRegularFile(file);
  } catch (err) {
    throw new Error(`cannot open ${file}: ${(err as Error).message}`);
  }
  if (why) throw new Error(`cannot read ${file}: ${why}`);
  try {
    return await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`cannot open ${file}: ${(err as Error).message}`);
  }
}

async function magic(file: string): Promise<Buffer> {
  const fh = await openRegular(file);
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const empty = (file: string) => new Error(`${file} is empty: it holds no records`);

/**
 * Streams a JSONL file (gzip detected by its magic bytes; a UTF-8 byte-order mark is skipped);
 * blank lines are ignored; each line must be a JSON object. With `maxStringChars`, longer strings
 * are cut to that many characters as they stream past, so a huge record costs bounded memory.
 */
export async function* readJsonl(file: string, opts: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const head = await magic(file);
  const raw = createReadStream(file);
  const input = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  let n = 0;
  let any = false;
  try {
    for await (const { text, line } of jsonlLines(input, opts.maxStringChars)) {
      n = line;
      if (text.trim() === '') continue;
      any = true;
      const where = lineWhere(file, n);
      let value: Record<string, unknown>;
      try {
        value = parseJsonlLine(text, where);
      } catch (err) {
        skipOrThrow(err as DataError, opts);
        continue;
      }
      if (opts.stats) opts.stats.records++;
      yield { where, value };
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new Error(`${lineWhere(file, n + 1)}: cannot read (${(err as Error).message})`);
  } finally {
    raw.destroy();
  }
  if (!any) throw empty(file);
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Reads a Parquet file one row group at a time (64-bit integers become numbers). */
export async function* readParquet(file: string, opts: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  await (await openRegular(file)).close();
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new Error(`${file}: not a readable Parquet file (${(err as Error).message})`);
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end })) as Record<
        string,
        unknown
      >[];
    } catch (err) {
      throw new Error(`${file}: rows ${start + 1}-${end}: cannot decode (${(err as Error).message})`);
    }
    for (let i = 0; i < rows.length; i++) {
      if (opts.stats) opts.stats.records++;
      yield { where: `${file}:row ${start + i + 1}`, value: plain(rows[i]) as Record<string, unknown> };
    }
    start = end;
  }
  if (start === 0) throw empty(file);
}

/** Reads JSONL or Parquet, told apart by the Parquet magic bytes `PAR1`. */
export async function* readRecords(file: string, opts: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const head = await magic(file);
  if (head.toString('latin1') === 'PAR1') yield* readParquet(file, opts);
  else yield* readJsonl(file, opts);
}

/**
 * The string at a dotted path: `prompt`, `meta.question`, `messages.1.content` (numbers index
 * arrays). Throws a DataError naming the record and the field.
 */
export function getField(rec: SourceRecord, path: string): string {
  let v: unknown = rec.value;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) {
      throw new DataError(rec.where, `field "${path}" is missing`);
    }
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v !== 'string')
    throw new DataError(
      rec.where,
      `field "${path}" is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`}, not a string`,
    );
  return v;
}

/** Field names for (prompt, completion) pairs. */
export interface FieldMap {
  promptField: string;
  completionField: string;
}

/** (prompt, completion) pairs from a JSONL or Parquet file through a field map; bad records follow `skipBad`. */
export async function* readPairs(
  file: string,
  fields: FieldMap,
  opts: ReadOptions = {},
): AsyncGenerator<SftPair & { where: string }> {
  for await (const rec of readRecords(file, opts)) {
    let pair;
    try {
      pair = {
        prompt: getField(rec, fields.promptField),
        completion: getField(rec, fields.completionField),
        where: rec.where,
      };
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      if (opts.stats) opts.stats.records--;
      skipOrThrow(err, opts);
      continue;
    }
    yield pair;
  }
}
