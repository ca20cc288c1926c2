// JSONL: one JSON object a line, blank lines ignored. Every reader of JSONL in lib/ parses its
// lines here, so a bad line is named one way everywhere:
//   FILE:line N: invalid JSON (…)        FILE:line N: expected a JSON object, got …
// (N counts from 1). Gzip-compressed files are recognised by their magic bytes.
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A record and where it came from (`file:line 12` or `file:row 12`, both 1-based). */
export interface SourceRecord {
  where: string;
  value: Record<string, unknown>;
}

/** Thrown for a bad record; `where` names file and line/row. */
export class DataError extends Error {
  constructor(
    readonly where: string,
    reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'DataError';
  }
}

/** How every message names a line of a file. */
export function lineWhere(file: string, line: number): string {
  return `${file}:line ${line}`;
}

/** One line's object, or a DataError naming `where`. */
export function parseJsonlLine(line: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new DataError(where, `invalid JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new DataError(
      where,
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  return value as Record<string, unknown>;
}

/** A JSONL record with its 1-based line number and its text. */
export interface JsonlRecord extends SourceRecord {
  line: number;
  text: string;
}

export interface ParseJsonlOptions {
  /**
   * Ignore a last line that is not followed by a newline and does not parse: the torn write of a
   * process that died mid-line (append-only logs). Default false: every line must parse.
   */
  tornTail?: boolean;
}

/** The records of JSONL text read from `file` (the name is only used in messages). */
export function parseJsonl(text: string, file: string, opts: ParseJsonlOptions = {}): JsonlRecord[] {
  const lines = text.split('\n');
  const out: JsonlRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const where = lineWhere(file, i + 1);
    try {
      out.push({ where, line: i + 1, text: line, value: parseJsonlLine(line, where) });
    } catch (err) {
      if (opts.tornTail && i === lines.length - 1) break;
      throw err;
    }
  }
  return out;
}

/** UTF-8 text of a file's bytes: gunzipped when gzip, a leading byte-order mark dropped. */
function decode(buf: Buffer): string {
  const text = (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Why `file` is no data file (a folder, a pipe, ...), or null for a regular file; a missing one throws. */
export function notRegularFile(file: string): string | null {
  const st = statSync(file);
  if (st.isFile()) return null;
  return `it is ${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe' : 'not a regular file'}, not a data file`;
}

function readWhole(file: string): Buffer {
  try {
    const why = notRegularFile(file); // a pipe would block the read
    if (why) throw new Error(why);
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Reads a whole JSONL file (gzip or plain) into records. */
export async function readJsonlFile(file: string, opts: ParseJsonlOptions = {}): Promise<JsonlRecord[]> {
  return parseJsonl(decode(readWhole(file)), file, opts);
}

/** readJsonlFile, synchronously. */
export function readJsonlFileSync(file: string, opts: ParseJsonlOptions = {}): JsonlRecord[] {
  return parseJsonl(decode(readWhole(file)), file, opts);
}

/** A required string field, or an error naming the record and the field. */
export function stringField(rec: SourceRecord, name: string): string {
  const v = rec.value[name];
  if (typeof v !== 'string')
    throw new DataError(rec.where, `field "${name}" must be a string, got ${v === undefined ? 'nothing' : typeof v}`);
  return v;
}
