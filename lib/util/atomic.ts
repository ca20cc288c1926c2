// Atomic replacement of files and folders, durable across a crash: the new content is written
// under a temporary name in the same folder, flushed to disk (fsync), renamed over the target
// (rename(2) is atomic within a filesystem), and the parent folder is flushed so the rename
// itself survives a power cut. A reader sees the old content or the new, never half of either.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The temporary name this process uses next to `path`. */
export function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** fsync one file or folder (folders: best effort, some filesystems refuse; the rename is still atomic). */
export function fsyncPath(path: string, isDir = false): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (isDir) return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!isDir) throw err;
  } finally {
    closeSync(fd);
  }
}

/** fsync every file and folder under `dir` (and `dir` itself). */
export function fsyncTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else if (e.isFile()) fsyncPath(p);
  }
  fsyncPath(dir, true);
}

/** Moves a finished temporary file over `file`: fsync it, rename, fsync the folder. */
export function commitFile(tmp: string, file: string): void {
  fsyncPath(tmp);
  renameSync(tmp, file);
  fsyncPath(dirname(file), true);
}

/** Writes `data` to `file` atomically and durably; on failure the temporary file is removed. */
export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  const tmp = tempPath(file);
  try {
    writeFileSync(tmp, data);
    commitFile(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `value` as indented JSON with a final newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Puts the finished folder `tmp` in place of `target`: its contents are flushed, then it is
 * renamed into place (a complete old `target` is first renamed aside to `old` and removed after),
 * then the parent folder is flushed.
 */
export function swapDirectory(tmp: string, target: string, old = `${target}.old-${process.pid}`): void {
  fsyncTree(tmp);
  let hadOld = false;
  try {
    renameSync(target, old);
    hadOld = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  renameSync(tmp, target);
  if (hadOld) rmSync(old, { recursive: true, force: true });
  fsyncPath(dirname(target), true);
}
