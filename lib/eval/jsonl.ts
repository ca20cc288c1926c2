// Reads a JSONL file (gzip detected by its magic bytes) into objects, each tagged with
// `file:line N` so that every error names where it came from.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export interface JsonlRow {
  where: string;
  value: Record<string, unknown>;
}

export async function readJsonlFile(file: string): Promise<JsonlRow[]> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const rows: JsonlRow[] = [];
  buf
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${file}:line ${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new Error(`${where}: invalid JSON: ${(err as Error).message}`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error(`${where}: expected a JSON object`);
      rows.push({ where, value: value as Record<string, unknown> });
    });
  return rows;
}

/** A required string field, or an error naming the row and the field. */
export function stringField(row: JsonlRow, name: string): string {
  const v = row.value[name];
  if (typeof v !== 'string')
    throw new Error(`${row.where}: field "${name}" must be a string, got ${v === undefined ? 'nothing' : typeof v}`);
  return v;
}
