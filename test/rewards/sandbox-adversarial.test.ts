// The adversarial suite (adversarial.ts) as this user and, when this user is root, again as an
// unprivileged uid in a child process (setpriv), as CI runs it: every attack is judged failed,
// the correct control passes, nothing is left behind, and nothing reached the host.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import test, { type ExecutionContext } from 'ava';

import { Sandbox } from '../../lib/rewards/sandbox.js';
import { attacks, CORRECT, runSuite, SELF_HARMING, SPEC, type Context, type Outcome } from './adversarial.js';
import { leftovers } from './procs.js';

const root = process.getuid?.() === 0;
const UNPRIVILEGED = 65534; // nobody
const dir = mkdtempSync(join(tmpdir(), 'warmstart-adversarial-'));
chmodSync(dir, 0o755);
const SECRET = `secret-${process.pid}-${Date.now()}`;
writeFileSync(join(dir, 'secret'), SECRET, { mode: 0o644 });
let connections = 0;

async function listen(make: () => Server, arg: number | string): Promise<Server> {
  const s = make();
  s.on('connection', (sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((res) => s.listen(arg as number, res));
  return s;
}
const tcp = await listen(() => createServer(), 0);
const unix = await listen(() => createServer(), join(dir, 'sock'));
chmodSync(join(dir, 'sock'), 0o777);
const context = (): Context => ({
  port: (tcp.address() as { port: number }).port,
  unixSocket: join(dir, 'sock'),
  outside: join(dir, 'escaped'),
  secretFile: join(dir, 'secret'),
  nodePid: process.pid,
});

test.after.always(() => {
  tcp.close();
  unix.close();
  rmSync(dir, { recursive: true, force: true });
});

function checkSuite(
  t: ExecutionContext,
  who: string,
  r: { outcomes: Outcome[]; control: { passed: boolean; failure: string }; leftovers: string[] },
): void {
  t.true(r.outcomes.length >= 30, `${who}: ${r.outcomes.length} attacks`);
  t.deepEqual(
    r.outcomes.filter((o) => o.passed).map((o) => o.name),
    [],
    `${who}: attacks judged correct`,
  );
  t.true(r.control.passed, `${who}: the correct control failed: ${r.control.failure}`);
  t.deepEqual(r.leftovers, [], `${who}: processes left behind`);
  t.false(existsSync(context().outside), `${who}: wrote outside its folder`);
  const isolated = r.outcomes[0].isolation.includes('netns');
  t.log(`${who}: ${r.outcomes.length} attacks failed; isolation ${r.outcomes[0].isolation.join(', ')}`);
  for (const o of r.outcomes)
    t.log(`  ${o.name}: ${o.timedOut ? 'timed out' : o.failure.slice(0, 110)} (${Math.round(o.wallMs)} ms)`);
  if (!isolated) return;
  // Isolated: no connection arrived, no host file was read, no disk write passed the tmpfs cap.
  t.is(connections, 0, `${who}: a connection reached the host`);
  const byName = new Map(r.outcomes.map((o) => [o.name, o]));
  t.notRegex(byName.get('read a host file')!.stdout, new RegExp(SECRET), `${who}: read a host file`);
  t.notRegex(byName.get('fill /dev/shm, /var/tmp, / and /dev')!.stdout, /WROTE/);
  // the last count it printed (it prints as it goes, in case the time-out ends it first)
  const mb = [...byName.get('fill its folder with files under the size limit')!.stdout.matchAll(/WROTE_MB (\d+)/g)].at(
    -1,
  );
  t.truthy(mb, `${who}: the disk bomb did not report`);
  t.true(Number(mb![1]) <= 64, `${who}: wrote ${mb![1]} MB into a 64 MB folder`);
  t.notRegex(byName.get('become root')!.stdout, /ROOT/);
  t.notRegex(byName.get('raise the process and memory limits')!.stdout, /RAISED/);
}

test(`every attack fails and leaves nothing behind, as ${root ? 'root' : 'this user'}`, async (t) => {
  const sandbox = new Sandbox({ workers: 2 });
  const r = await runSuite(sandbox, context());
  checkSuite(t, root ? 'root' : `uid ${process.getuid?.()}`, r);
  t.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith(sandbox.runPrefix)),
    [],
  );
  const skipped = sandbox.isolated() || root ? 0 : SELF_HARMING.length;
  t.is(Object.keys(attacks(context())).length - skipped, r.outcomes.length);
});

test('as root, the suite passes again under an unprivileged uid (setpriv)', async (t) => {
  if (!root) {
    t.log('not root: the test above ran unprivileged');
    t.pass();
    return;
  }
  t.is(spawnSync('setpriv', ['--version']).status, 0, 'setpriv (util-linux) is needed');
  // uid 65534 must reach the checkout: name the folder that stops it (.ci/run opens the path).
  for (let d = fileURLToPath(new URL('../..', import.meta.url)); d !== '/'; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0)
      return t.fail(`${d} is not traversable by uid ${UNPRIVILEGED}: chmod o+x ${d} (as .ci/run does)`);
  }
  const script = fileURLToPath(new URL('./adversarial.ts', import.meta.url));
  const child = spawn(
    'setpriv',
    [
      `--reuid=${UNPRIVILEGED}`,
      `--regid=${UNPRIVILEGED}`,
      '--clear-groups',
      '--inh-caps=-all',
      process.execPath,
      '--import=tsx',
      script,
      JSON.stringify(context()),
    ],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), env: { ...process.env, HOME: dir } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  t.is(code, 0, `the unprivileged run failed (is the checkout readable by uid ${UNPRIVILEGED}?): ${err.slice(-2000)}`);
  const r = JSON.parse(out);
  t.is(r.uid, UNPRIVILEGED);
  checkSuite(t, `uid ${UNPRIVILEGED}`, r);
  // Seen from root too: nothing of its pools is still running.
  t.deepEqual(leftovers({ runPrefix: r.runPrefix, uids: [] }), []);
  t.deepEqual(leftovers({ runPrefix: r.fallbackPrefix, uids: [] }), []);
  // Without namespaces the program can kill its launcher: a failed run, not a crash.
  t.false(r.killedLauncher.passed);
  t.regex(r.killedLauncher.failure, /launcher was killed by SIGKILL/);
  t.deepEqual(r.fallbackLeftovers, []);
});

test('a launcher killed from outside mid-run scores as failed and leaves nothing', async (t) => {
  const sandbox = new Sandbox({ workers: 1 });
  const run = sandbox.check(`import time\ntime.sleep(30)\n${CORRECT}`, SPEC, { timeoutMs: 20_000 });
  let launcher = 0;
  for (let i = 0; i < 100 && !launcher; i++) {
    await new Promise((res) => setTimeout(res, 50));
    launcher = Number(
      readdirSync('/proc').find((pid) => {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          return cmd.includes('sandbox_launcher.py') && cmd.includes(`tag=${sandbox.runPrefix}`);
        } catch {
          return false;
        }
      }) ?? 0,
    );
  }
  t.true(launcher > 0, 'launcher not found');
  await new Promise((res) => setTimeout(res, 300));
  process.kill(launcher, 'SIGKILL');
  const r = await run;
  t.false(r.passed);
  t.regex(r.failure, /launcher was killed by SIGKILL/);
  // Its namespaces die with it, asynchronously (PR_SET_PDEATHSIG down the chain): allow them 5 s.
  let left = leftovers(sandbox);
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((res) => setTimeout(res, 100));
    left = leftovers(sandbox);
  }
  t.deepEqual(left, []);
});
