// The package as a user installs it: `npm pack`, then an offline install of the tarball into
// fresh apps (test/package/app.ts: `npm ci --offline`, dependencies from the local npm cache),
// with the prebuilt addon and with prebuilds/ taken out of the tarball (node-gyp-build then
// compiles the addon), and in the installed app the time and memory of `import('warmstart')` and
// `require('warmstart')` (median of --repeat fresh processes) beside a bare node. Prints a
// Markdown table for bench/RESULTS.md.
//   node --import tsx bench/install.ts [--repeat 5] [--no-compile]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { installOffline } from '../test/package/app.js';

const { values } = parseArgs({
  options: { repeat: { type: 'string', default: '5' }, 'no-compile': { type: 'boolean', default: false } },
});
const repeat = Number(values.repeat);
const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ws-install-bench-'));
const sh = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], root))[0] as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  };
  const withPrebuilds = join(work, packed.filename);
  if (!packed.files.some((f) => f.path.startsWith('prebuilds/')))
    throw new Error('the tarball has no prebuilds/: run `npm run build:prebuilds` first');
  const stage = join(work, 'stage');
  mkdirSync(stage);
  sh('tar', ['-xzf', withPrebuilds, '-C', stage], work);
  rmSync(join(stage, 'package', 'prebuilds'), { recursive: true });
  const withoutPrebuilds = join(work, 'no-prebuilds.tgz');
  sh('tar', ['-czf', withoutPrebuilds, '-C', stage, 'package'], work);

  const install = (name: string, tarball: string) => {
    const app = join(work, name);
    return { app, seconds: installOffline(root, tarball, app) };
  };
  const pre = install('app-prebuilt', withPrebuilds);
  const compiled = values['no-compile'] ? undefined : install('app-compiled', withoutPrebuilds);

  const load = (code: string, type: string) => {
    const ms: number[] = [];
    const mb: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const out = sh(
        process.execPath,
        [
          `--input-type=${type}`,
          '-e',
          `const t0 = performance.now(); ${code}; const ms = performance.now() - t0; console.log(JSON.stringify([ms, process.memoryUsage().rss / 2 ** 20]));`,
        ],
        pre.app,
      );
      const [t, m] = JSON.parse(out) as [number, number];
      ms.push(t);
      mb.push(m);
    }
    return `${median(ms).toFixed(0)} ms, ${median(mb).toFixed(0)} MB RSS`;
  };
  const head = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  console.log(
    `warmstart ${head.version}: ${packed.files.length} files, ${(packed.size / 1e6).toFixed(2)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked`,
  );
  console.log('\n| measure | value |\n| --- | ---: |');
  console.log(`| npm ci --offline, with prebuilds | ${pre.seconds.toFixed(1)} s |`);
  if (compiled) {
    console.log(`| npm ci --offline, prebuilds removed (compiles) | ${compiled.seconds.toFixed(1)} s |`);
    console.log(`| ratio | ${(compiled.seconds / pre.seconds).toFixed(1)}× |`);
  }
  console.log(`| nothing imported (bare node) | ${load('', 'module')} |`);
  console.log(`| \`await import('warmstart')\` | ${load("await import('warmstart')", 'module')} |`);
  console.log(`| \`require('warmstart')\` | ${load("require('warmstart')", 'commonjs')} |`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
