// Test helper: processes that a sandbox left behind: any process running under one of its slot
// uids, or whose command line, environment (WARMSTART_SANDBOX_RUN) or working folder names its
// run prefix. Pass the prefix (and uids) of a pool in another process as an object.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

export function leftovers(pool: { runPrefix: string; uids: readonly number[] }): string[] {
  const tag = pool.runPrefix;
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const uid = statSync(`/proc/${pid}`).uid;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let env = '';
      let cwd = '';
      try {
        env = readFileSync(`/proc/${pid}/environ`, 'utf8');
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (
        pool.uids.includes(uid) ||
        cmd.includes(tag) ||
        env.includes(`WARMSTART_SANDBOX_RUN=${tag}`) ||
        cwd.includes(tag)
      )
        found.push(`${pid} uid=${uid} ${cmd.slice(0, 80)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
