// Runs model-written Python in a sandbox, a bounded number at a time.
//
// Each run gets its own launcher (sandbox_launcher.py) in a new process group with a scrubbed
// environment. Where bubblewrap (`bwrap`) can create namespaces, which it can as root and, through
// a user namespace, as an ordinary user on most distributions, the program runs with no network,
// in its own PID namespace (nothing outlives it), on a read-only view of /usr with a size-limited
// tmpfs as its only writable folder, and as root also under a uid of its own per worker slot.
// Limits in every case: CPU seconds, address space, file size, process count (RLIMIT_*) and a
// wall-clock timeout. Without bwrap only the rlimits, the process group, the slot uid (as root)
// and the timeout apply; the sandbox then warns once (process.emitWarning). `RunResult.isolation`
// says which layers a run had.
//
// `check()` judges a program against a problem's tests: the tests run in another interpreter,
// outside the sandbox, with pristine builtins, and call the program's function through a pipe that
// carries plain data only (sandbox_runner.py). The verdict is that interpreter's, so nothing the
// program does (printing, exiting early, reading frames, `__eq__` of its own, replacing builtins)
// can make a wrong program pass. `run()` just runs a program; `passed` then means it exited 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Resource limits of one run. */
export interface SandboxLimits {
  /** Wall-clock limit in milliseconds; the whole run is killed when it passes. */
  timeoutMs: number;
  /** CPU-time limit in seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address-space limit in bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Largest file the program may write, in bytes (RLIMIT_FSIZE). */
  fileSizeBytes: number;
  /** Size of the program's writable folder, all files together (a tmpfs; with bwrap only). */
  diskBytes: number;
  /** Processes and threads the program may have at once (RLIMIT_NPROC; exact under a uid of its own). */
  processes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 10_000,
  cpuSeconds: 10,
  memoryBytes: 1 << 30,
  fileSizeBytes: 16 << 20,
  diskBytes: 64 << 20,
  processes: 32,
};

export interface SandboxOptions extends Partial<SandboxLimits> {
  /** Runs at once (default: min(4, available cores)); at most 64. */
  workers?: number;
  /** The python3 executable (default /usr/bin/python3 where it exists, else python3 on PATH). */
  python?: string;
  /** Namespaces through bwrap: true requires them, false forgoes them; default: where bwrap works. */
  isolate?: boolean;
  /** The bubblewrap executable (default /usr/bin/bwrap, else bwrap on PATH). */
  bwrap?: string;
}

/** The tests of a `check()`: trusted code, run outside the sandbox. */
export interface TestSpec {
  /** The function `check(candidate)` is called with. */
  entryPoint: string;
  /** The problem's own code, run first (the prompt with its helper functions). */
  setup: string;
  /** Defines `check(candidate)`; it passes if check returns. */
  test: string;
}

/** What one run did. */
export interface RunResult {
  /** check(): every test passed (the judge's verdict). run(): the program exited 0 in time. */
  passed: boolean;
  exitCode: number | null;
  signal: number | null;
  timedOut: boolean;
  /** Last 8 KiB of the program's standard output and error. */
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Isolation layers this run had: netns, mountns, pidns and userns or uid (bwrap), else subreaper (+ uid). */
  isolation: string[];
  /** Why it did not pass ('' when it passed): the failing test and its line, or what ended the run. */
  failure: string;
}

const TAIL = 8192;
const UID_BASE = 100_000;
let instances = 0;
let warned = false;
const probes = new Map<string, { ok: boolean; why: string }>();

function besidePath(name: string): string {
  // lib/rewards/ in the source tree; from dist/lib/rewards/ the .py stays in the package's lib/.
  for (const rel of [`./${name}`, `../../../lib/rewards/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`sandbox: ${name} not found next to sandbox.js or in lib/rewards/`);
}

function firstExisting(paths: string[], fallback: string): string {
  return paths.find((p) => existsSync(p)) ?? fallback;
}

function checkLimits(limits: SandboxLimits): SandboxLimits {
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`sandbox: ${k} must be a positive integer, got ${v}`);
  }
  return limits;
}

function checkTests(tests: TestSpec): void {
  if (typeof tests !== 'object' || tests === null) throw new TypeError('sandbox: tests must be an object');
  if (typeof tests.entryPoint !== 'string' || !/^[A-Za-z_]\w*$/.test(tests.entryPoint))
    throw new TypeError(`sandbox: tests.entryPoint must be a Python name, got ${String(tests.entryPoint)}`);
  for (const k of ['setup', 'test'] as const)
    if (typeof tests[k] !== 'string')
      throw new TypeError(`sandbox: tests.${k} must be a string, got ${typeof tests[k]}`);
}

/** Processes whose environment names this run (WARMSTART_SANDBOX_RUN): what a killed launcher left. */
function taggedProcesses(tag: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`WARMSTART_SANDBOX_RUN=${tag}`))
        found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
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

interface Report {
  exit: number | null;
  signal: number | null;
  timedOut: boolean;
  isolation: string[];
  verdict: 'P' | 'F' | null;
  failure: string | null;
}

/** A bounded pool of sandboxed python3 runs. Holds no process between runs. */
export class Sandbox {
  readonly limits: SandboxLimits;
  readonly workers: number;
  readonly python: string;
  readonly bwrap: string;
  private readonly isolate: boolean | undefined;
  private readonly launcher = besidePath('sandbox_launcher.py');
  private readonly runner = besidePath('sandbox_runner.py');
  private readonly freeSlots: number[];
  private readonly waiting: Array<(slot: number) => void> = [];
  private runs = 0;
  /** The uid of each worker slot as root (the program runs under it), else empty. */
  readonly uids: readonly number[];
  /** Name prefix of this pool's run folders (in os.tmpdir(); only without bwrap) and run tags. */
  readonly runPrefix: string;

  constructor(opts: SandboxOptions = {}) {
    const { workers, python, isolate, bwrap, ...limits } = opts;
    this.limits = checkLimits({ ...DEFAULT_LIMITS, ...limits });
    this.workers = workers ?? Math.min(4, availableParallelism());
    if (!Number.isInteger(this.workers) || this.workers < 1 || this.workers > 64) {
      throw new RangeError(`sandbox: workers must be an integer in 1..64, got ${workers}`);
    }
    this.python = python ?? firstExisting(['/usr/bin/python3'], 'python3');
    this.bwrap = bwrap ?? firstExisting(['/usr/bin/bwrap', '/usr/local/bin/bwrap'], 'bwrap');
    this.isolate = isolate;
    this.freeSlots = Array.from({ length: this.workers }, (_, i) => i);
    // A uid per (process, pool, slot), so that no two live pools share one.
    const instance = instances++ % 16;
    const base = UID_BASE + ((process.pid % (1 << 20)) * 16 + instance) * 64;
    this.uids = process.getuid?.() === 0 ? this.freeSlots.map((slot) => base + slot) : [];
    this.runPrefix = `warmstart-sandbox-${process.pid}-${instance}-`;
  }

  /** Whether runs get bwrap's namespaces (probed once per python and bwrap; warns once if not). */
  isolated(): boolean {
    if (this.isolate === false) return false;
    const key = `${this.python}\0${this.bwrap}`;
    let probe = probes.get(key);
    if (!probe) {
      const limits = Object.entries(this.limits).map(([k, v]) => `${k}=${v}`);
      const r = spawnSync(
        this.python,
        ['-I', '-S', this.launcher, 'probe=1', `python=${this.python}`, `bwrap=${this.bwrap}`, ...limits],
        {
          encoding: 'utf8',
          timeout: 10_000,
          env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
        },
      );
      const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0];
      probe = { ok: r.status === 0, why: why || `exit ${r.status}` };
      probes.set(key, probe);
    }
    if (!probe.ok && this.isolate) {
      throw new Error(`sandbox: isolate needs bubblewrap (${this.bwrap}) able to create namespaces here: ${probe.why}`);
    }
    if (!probe.ok && !warned) {
      warned = true;
      process.emitWarning(
        `code runs are NOT isolated: bubblewrap (${this.bwrap}) cannot run here (${probe.why}). ` +
          'Programs can use the network, read your files and fill the host /tmp' +
          (this.uids.length ? '' : ', and they run as your user: they can signal and trace your processes') +
          '. Install bubblewrap (apt install bubblewrap) and allow user namespaces.',
        { code: 'WARMSTART_SANDBOX_NOT_ISOLATED' },
      );
    }
    return probe.ok;
  }

  /** Runs `program` (Python source) once the pool has a free worker; passes if it exits 0 in time. */
  run(program: string, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    return this.schedule(program, null, limits);
  }

  /**
   * Runs `program` and judges it: `tests.check(candidate)` runs in another interpreter, outside the
   * sandbox, and each call of `candidate` calls `program`'s `tests.entryPoint` with plain data.
   */
  async check(program: string, tests: TestSpec, limits: Partial<SandboxLimits> = {}): Promise<RunResult> {
    checkTests(tests);
    return this.schedule(program, tests, limits);
  }

  private async schedule(program: string, tests: TestSpec | null, limits: Partial<SandboxLimits>): Promise<RunResult> {
    if (typeof program !== 'string') throw new TypeError(`sandbox: program must be a string, got ${typeof program}`);
    const merged = checkLimits({ ...this.limits, ...limits });
    const bwrap = this.isolated();
    const slot = await this.acquire();
    try {
      return await this.runIn(slot, program, tests, merged, bwrap);
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

  private async runIn(
    slot: number,
    program: string,
    tests: TestSpec | null,
    limits: SandboxLimits,
    bwrap: boolean,
  ): Promise<RunResult> {
    const uid = this.uids.length ? this.uids[slot] : null;
    const cfg: Record<string, string | number> = {
      ...limits,
      python: this.python,
      runner: this.runner,
      tag: `${this.runPrefix}${++this.runs}`,
    };
    if (uid !== null) cfg.uid = uid;
    if (tests) cfg.entry = tests.entryPoint;
    if (bwrap) {
      cfg.bwrap = this.bwrap;
      return this.spawnLauncher(cfg, program, tests, limits.timeoutMs);
    }
    // Without namespaces the program works in a host folder of its own.
    const outer = await mkdtemp(join(tmpdir(), this.runPrefix));
    try {
      await chmod(outer, 0o711);
      const box = join(outer, 'box');
      await mkdir(box, { mode: 0o700 });
      if (uid !== null) await chown(box, uid, uid);
      cfg.dir = box;
      return await this.spawnLauncher(cfg, program, tests, limits.timeoutMs);
    } finally {
      await rm(outer, { recursive: true, force: true });
    }
  }

  private spawnLauncher(
    cfg: Record<string, string | number>,
    program: string,
    tests: TestSpec | null,
    timeoutMs: number,
  ): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const args = Object.entries(cfg).map(([k, v]) => `${k}=${v}`);
      const child = spawn(this.python, ['-I', '-S', this.launcher, ...args], {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      const out = new Tail();
      const err = new Tail();
      let report = '';
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (report += b.toString()));
      // A launcher that dies early closes its stdin: that is its result, not an error of ours.
      child.stdin!.on('error', () => {});
      const src = Buffer.from(program, 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32BE(src.length);
      child.stdin!.end(
        Buffer.concat([head, src, tests ? Buffer.from(JSON.stringify(tests), 'utf8') : Buffer.alloc(0)]),
      );
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
      // Processes the launcher left (it was killed before they could notice) may hold its output
      // pipes open: once it has exited, give them a second, then stop reading.
      child.on('exit', (_code, signal) => {
        // Killed: end what it started (its process group: the judge; the sandbox's init by pid).
        if (signal) {
          const pids = [
            -child.pid!,
            ...[...report.matchAll(/^pid (\d+)$/gm)].map((m) => Number(m[1])),
            ...taggedProcesses(String(cfg.tag)),
          ];
          for (const pid of pids) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
        }
        setTimeout(() => {
          for (const s of [child.stdout, child.stderr, child.stdio[3]])
            (s as NodeJS.ReadableStream & { destroy(): void })?.destroy();
        }, 1000).unref();
      });
      child.on('error', (e) => {
        clearTimeout(watchdog);
        reject(new Error(`sandbox: cannot start ${this.python}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(watchdog);
        const wallMs = performance.now() - start;
        let r: Report | null = null;
        try {
          r = JSON.parse(report.slice(report.indexOf('{'))) as Report;
        } catch {
          r = null;
        }
        const base = { stdout: out.text(), stderr: err.text(), wallMs };
        if (!r) {
          // The launcher died (killed by the program where it could reach it, or by the backstop):
          // the completion failed; it is not an error of the caller's.
          const how = killed
            ? 'overran its deadline and was killed'
            : signal
              ? `was killed by ${signal}`
              : `exited ${code}`;
          const tail = err.text().trim().split('\n').slice(-1)[0];
          resolve({
            ...base,
            passed: false,
            exitCode: null,
            signal: null,
            timedOut: killed,
            isolation: [],
            failure: `the sandbox launcher ${how}${tail ? `: ${tail}` : ''}`,
          });
          return;
        }
        const plainPass = r.exit === 0 && !r.timedOut;
        resolve({
          ...base,
          passed: tests ? r.verdict === 'P' : plainPass,
          exitCode: r.exit,
          signal: r.signal,
          timedOut: r.timedOut,
          isolation: r.isolation,
          failure: (tests ? r.verdict === 'P' : plainPass)
            ? ''
            : (r.failure ??
              (r.timedOut ? 'timed out' : r.signal ? `killed by signal ${r.signal}` : `exit status ${r.exit}`)),
        });
      });
    });
  }
}
