// An append-only JSONL file of records with keys, for runs that must survive being killed.
// Each record is one line written by one write(2) on a file opened for appending, then synced, so
// a line is either whole or (after a crash mid-write) a torn last line without its newline, which
// opening cuts off (a last line that is whole JSON only lacking its newline is kept). Opening reads back the keys already written; a re-run skips them. A lock file
// (OUT.lock, holding the pid) keeps two runs from appending to the same file; a lock left by a
// process that no longer exists is taken over.
import { promises as fs, constants } from 'node:fs';

import { parseJsonl } from '../util/jsonl.js';

export interface TraceLog {
  readonly file: string;
  /** Records already in the file, by key (the first of each key when a key repeats). */
  readonly existing: ReadonlyMap<string, Record<string, unknown>>;
  /** Bytes cut off a torn last line when the file was opened. */
  readonly repairedBytes: number;
  /** Appends one record as one line and syncs it to disk. */
  append(record: unknown): Promise<void>;
  /** Closes the file and removes the lock. */
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lock(file: string): Promise<string> {
  const lockFile = `${file}.lock`;
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fh = await fs.open(lockFile, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return lockFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`${file}: another run (pid ${pid}) is writing it (lock ${lockFile})`);
      }
      await fs.rm(lockFile, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`${file}: cannot take the lock ${lockFile}`);
}

/**
 * Opens (creating if needed) `file` for appending; `keyOf` gives each existing record's key (or
 * throws naming what is wrong with it). A line that is not JSON, other than a torn last line,
 * is an error naming the line: nothing is dropped silently.
 */
export async function openTraceLog(
  file: string,
  keyOf: (row: Record<string, unknown>, where: string) => string,
): Promise<TraceLog> {
  const lockFile = await lock(file);
  try {
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let repairedBytes = 0;
    if (text.length > 0 && !text.endsWith('\n')) {
      const keep = text.lastIndexOf('\n') + 1;
      const tail = text.slice(keep);
      let whole = false;
      try {
        JSON.parse(tail);
        whole = true;
      } catch {
        // torn: cut it off below
      }
      if (whole) {
        // a complete record without its newline (a file from elsewhere): keep it
        await fs.appendFile(file, '\n');
        text += '\n';
      } else {
        repairedBytes = Buffer.byteLength(tail);
        text = text.slice(0, keep);
        await fs.truncate(file, Buffer.byteLength(text));
      }
    }
    const existing = new Map<string, Record<string, unknown>>();
    for (const { where, value } of parseJsonl(text, file)) {
      const key = keyOf(value, where);
      if (!existing.has(key)) existing.set(key, value);
    }
    const fh = await fs.open(file, 'a');
    let chain = Promise.resolve();
    return {
      file,
      existing,
      repairedBytes,
      append(record) {
        const line = Buffer.from(JSON.stringify(record) + '\n');
        // One write a line, one at a time (a whole line lands before the next starts).
        chain = chain.then(async () => {
          for (let o = 0; o < line.length;) o += (await fh.write(line, o, line.length - o)).bytesWritten;
          await fh.datasync();
        });
        return chain;
      },
      async close() {
        await chain.catch(() => undefined);
        await fh.close();
        await fs.rm(lockFile, { force: true });
      },
    };
  } catch (e) {
    await fs.rm(lockFile, { force: true });
    throw e;
  }
}
