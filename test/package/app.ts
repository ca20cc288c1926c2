// A fresh app that installs a warmstart tarball offline: its package-lock.json pins the tarball
// and, for every other package, the version and integrity this checkout's package-lock.json
// holds (its runtime entries, not the dev ones), so `npm ci --offline` takes them all from the
// local npm cache and asks no registry anything (`npm install --offline` would need the
// registry's package documents, which installing from a lockfile never caches).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface LockEntry {
  version?: string;
  dev?: boolean;
  [k: string]: unknown;
}

/** Makes `app` and installs `tarball` into it offline; returns the seconds `npm ci` took. */
export function installOffline(root: string, tarball: string, app: string): number {
  mkdirSync(app, { recursive: true });
  const file = basename(tarball);
  copyFileSync(tarball, join(app, file));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const spec = `file:${file}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'app', version: '1.0.0', dependencies: { [pkg.name as string]: spec } },
    [`node_modules/${pkg.name as string}`]: {
      version: pkg.version as string,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path && !entry.dev) packages[path] = entry;
  const manifest = { name: 'app', version: '1.0.0', private: true, dependencies: { [pkg.name as string]: spec } };
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
  const t0 = performance.now();
  execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, stdio: 'pipe' });
  return (performance.now() - t0) / 1000;
}
