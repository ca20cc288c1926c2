// Test helper: processes that a sandbox of this test process left behind: any process running
// under one of its slot uids, or whose command line or working folder is one of its run folders.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

import type { Sandbox } from '../../lib/rewards/sandbox.js';

export function leftovers(sandbox: Sandbox): string[] {
  const tag = sandbox.runPrefix;
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const uid = statSync(`/proc/${pid}`).uid;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        cwd = '';
      }
      if (sandbox.uids.includes(uid) || cmd.includes(tag) || cwd.includes(tag))
        found.push(`${pid} uid=${uid} ${cmd.slice(0, 80)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
