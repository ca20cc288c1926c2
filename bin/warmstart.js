#!/usr/bin/env node
// The `warmstart` command: runs the compiled CLI (dist/, built by `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/lib/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('warmstart: dist/ is missing; run `npm install` (or `npm run build:ts`) in the package folder');
  process.exit(1);
}
const { run } = await import(main.href);
await run(process.argv);
