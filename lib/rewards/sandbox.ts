// Runs model-written Python in a sandbox, a bounded number at a time.
//
// Each run gets its own python3 process (through sandbox_launcher.py), started in a new process
// group with stdin closed and a scrubbed environment, in a fresh temporary folder. Limits: CPU
// seconds, address space, file size, process count (RLIMIT_*), and a wall-clock timeout that
// kills the whole process group. As root the launcher adds a network namespace (no network), a
// mount namespace (fresh tmpfs over the world-writable folders), a PID namespace (nothing outlives
// the program) and a uid of its own per worker slot; without root only the rlimits, the process
// group and the timeout apply. `RunResult.isolation` says which layers a run had.
//
// A run passes only if the program ran to its end: the harness prints a per-run random nonce after
// the program returns, so `exit(0)` halfway through does not count as success.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Resource limits of one run. */
export interface SandboxLimits {
  /** Wall-clock limit in milliseconds; the whole process group is killed when it passes. */
  timeoutMs: number;
  /** CPU-time limit in seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address-space limit in bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Largest file the program may write, in bytes (RLIMIT_FSIZE). */
  fileSizeBytes: number;
  /** Processes and threads the program may have at once (RLIMIT_NPROC; effective under its own uid). */
  processes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 10_000,
  cpuSeconds: 10,
  memoryBytes: 1 << 30,
  fileSizeBytes: 16 << 20,
  processes: 32,
};

export interface SandboxOptions extends Partial<SandboxLimits> {
  /** Runs at once (default: min(4, available cores)); at most 64. */
  workers?: number;
  /** The python3 executable (default /usr/bin/python3 where it exists, else python3 on PATH). */
  python?: string;
  /** Use the namespaces and per-slot uids (default: when running as root; false forces the fallback). */
  isolate?: boolean;
}

/** What one run did. */
export interface RunResult {
  /** Exit status 0 and the program ran to its end (the nonce was printed after it returned). */
  passed: boolean;
  exitCode: number | null;
  signal: number | null;
  timedOut: boolean;
  /** Last 8 KiB of the program's standard output and error. */
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Isolation layers this run had: netns, mountns, pidns, uid (as root), else subreaper. */
  isolation: string[];
}

const TAIL = 8192;
const UID_BASE = 100_000;
let instances = 0;

function launcherPath(): string {
  // lib/rewards/ in the source tree; from dist/lib/rewards/ the .py stays in the package's lib/.
  for (const rel of ['./sandbox_launcher.py', '../../../lib/rewards/sandbox_launcher.py']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('sandbox: sandbox_launcher.py not found next to sandbox.js or in lib/rewards/');
}

function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function checkLimits(limits: SandboxLimits): SandboxLimits {
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`sandbox: ${k} must be a positive integer, got ${v}`);
  }
  return limits;
}

class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.bytes += b.length;
    while (this.bytes - this.chunks[0].length >= TAIL) this.bytes -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - TAIL)).toString('utf8');
  }
}

/** A bounded pool of sandboxed python3 runs. Holds no process between runs. */
export class Sandbox {
  readonly limits: SandboxLimits;
  readonly workers: number;
  readonly python: string;
  private readonly launcher = launcherPath();
  private readonly freeSlots: number[];
  private readonly waiting: Array<(slot: number) => void> = [];
  /** The uid of each worker slot, or empty when runs are not isolated (not root). */
  readonly uids: readonly number[];
  /** Name prefix of this pool's run folders (in os.tmpdir()). */
  readonly runPrefix: string;

  constructor(opts: SandboxOptions = {}) {
    const { workers, python, isolate, ...limits } = opts;
    this.limits = checkLimits({ ...DEFAULT_LIMITS, ...limits });
    this.workers = workers ?? Math.min(4, availableParallelism());
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > 64) {
      throw new RangeError(`sandbox: workers must be an integer in 1..64, got ${workers}`);
    }
    this.python = python ?? defaultPython();
    this.freeSlots = Array.from({ length: this.workers }, (_, i) => i);
    // A uid per (process, pool, slot), so that no two live pools share one.
    const instance = instances++ % 16;
    const root = process.getuid?.() === 0;
    if (isolate && !root) throw new Error('sandbox: isolate needs root (namespaces and per-run uids)');
    const base = UID_BASE + ((process.pid % (1 << 20)) * 16 + instance) * 64;
    this.uids = (isolate ?? root) ? this.freeSlots.map((slot) => base + slot) : [];
    this.runPrefix = `warmstart-sandbox-${process.pid}-${instance}-`;
  }

  /** Runs `program` (Python source) once the pool has a free worker. */
  async run(program: string, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    if (typeof program !== 'string') throw new TypeError(`sandbox: program must be a string, got ${typeof program}`);
    const merged = checkLimits({ ...this.limits, ...limits });
    const slot = await this.acquire();
    try {
      return await this.runIn(slot, program, merged);
    } finally {
      this.release(slot);
    }
  }

  private acquire(): Promise<number> {
    const slot = this.freeSlots.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.freeSlots.push(slot);
  }

  private async runIn(slot: number, program: string, limits: SandboxLimits): Promise<RunResult> {
    const uid = this.uids.length ? this.uids[slot] : null;
    const outer = await mkdtemp(join(tmpdir(), this.runPrefix));
    try {
      await chmod(outer, 0o711);
      const box = join(outer, 'box');
      const nonce = randomBytes(16).toString('hex');
      await mkdir(box, { mode: 0o700 });
      await writeFile(join(box, 'program.py'), program);
      await writeFile(join(box, 'nonce'), nonce);
      if (uid !== null) {
        for (const p of [box, join(box, 'program.py'), join(box, 'nonce')]) await chown(p, uid, uid);
      }
      const cfg: Record<string, string | number> = { ...limits, dir: box, python: this.python };
      if (uid !== null) cfg.uid = uid;
      const r = await this.spawnLauncher(cfg, limits.timeoutMs);
      return { ...r, passed: r.exitCode === 0 && !r.timedOut && r.stdout.includes(nonce) };
    } finally {
      await rm(outer, { recursive: true, force: true });
    }
  }

  private spawnLauncher(cfg: Record<string, string | number>, timeoutMs: number): Promise<Omit<RunResult, 'passed'>> {
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const args = Object.entries(cfg).map(([k, v]) => `${k}=${v}`);
      const child = spawn(this.python, ['-I', '-S', this.launcher, ...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      const out = new Tail();
      const err = new Tail();
      let report = '';
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (report += b.toString()));
      // The launcher enforces the deadline itself; this is the backstop if it overruns.
      let killed = false;
      const watchdog = setTimeout(() => {
        killed = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        for (const s of [child.stdout, child.stderr, child.stdio[3]])
          (s as NodeJS.ReadableStream & { destroy(): void })?.destroy();
      }, timeoutMs + 3000);
      child.on('error', (e) => {
        clearTimeout(watchdog);
        reject(new Error(`sandbox: cannot start ${this.python}: ${e.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(watchdog);
        const wallMs = performance.now() - start;
        let parsed: { exit: number | null; signal: number | null; timedOut: boolean; isolation: string[] } | null =
          null;
        try {
          parsed = JSON.parse(report);
        } catch {
          parsed = null;
        }
        if (!parsed && !killed) {
          reject(new Error(`sandbox: launcher failed (exit ${code}): ${err.text().slice(-500)}`));
          return;
        }
        resolve({
          exitCode: parsed?.exit ?? null,
          signal: parsed?.signal ?? null,
          timedOut: parsed?.timedOut ?? true,
          stdout: out.text(),
          stderr: err.text(),
          wallMs,
          isolation: parsed?.isolation ?? [],
        });
      });
    });
  }
}
