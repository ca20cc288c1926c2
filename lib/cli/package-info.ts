// The installed package's own package.json (its version for `warmstart --version` and doctor).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../engine/addon.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
