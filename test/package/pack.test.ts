// The published package, as a user gets it: `npm pack`, then an offline install of the tarball
// into a fresh app (app.ts: dependencies from the local npm cache; the addon from prebuilds/,
// never compiled), and from that app: ESM import, CommonJS require, a TypeScript file checked by
// `tsc --strict`, `npx warmstart --version` and `npx warmstart doctor`. Where this checkout has no
// prebuilds/ for this platform (`npm run build:prebuilds` makes them), the addon that `npm install`
// compiled here stands in as the prebuild, so the test never waits for a compile.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { installOffline } from './app.js';

const root = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const work = mkdtempSync(join(tmpdir(), 'ws-pack-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: 'pipe' });
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}
let packed: Packed;
let app: string;

test.before(() => {
  // npm pack runs `prepare` (dist/ from lib/), so the tarball holds the code of this checkout.
  packed = (JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], root)) as Packed[])[0];
  let tarball = join(work, packed.filename);
  const prebuilds = join('prebuilds', `${process.platform}-${process.arch}`);
  if (!packed.files.some((f) => f.path.startsWith(prebuilds + '/'))) {
    const stage = join(work, 'stage');
    mkdirSync(stage);
    sh('tar', ['-xzf', tarball, '-C', stage], work);
    mkdirSync(join(stage, 'package', prebuilds), { recursive: true });
    copyFileSync(join(root, 'build', 'Release', 'warmstart.node'), join(stage, 'package', prebuilds, 'warmstart.node'));
    tarball = join(work, 'with-prebuild.tgz');
    sh('tar', ['-czf', tarball, '-C', stage, 'package'], work);
  }
  app = join(work, 'app');
  installOffline(root, tarball, app);
});

test('the tarball holds the library, the CLI, the sources to compile and nothing of tests or CI', (t) => {
  const files = new Set(packed.files.map((f) => f.path));
  for (const f of [
    'package.json',
    'LICENSE',
    'README.md',
    'bin/warmstart.js',
    'dist/lib/index.js',
    'dist/lib/index.d.ts',
    'dist/lib/cli/main.js',
    'lib/rewards/sandbox_runner.py',
    'lib/rewards/sandbox_launcher.py',
    'binding.gyp',
    'CMakeLists.txt',
    'scripts/gyp-sources.cjs',
    'native/cpu/dispatch.cc',
    'native/napi/addon.cc',
  ])
    t.true(files.has(f), f);
  const stray = [...files].filter((f) =>
    /^(test|bench|\.ci|docs|build|build-native|node_modules|dist\/(test|bench))\/|\.(tgz|map|ts)$/.test(
      f.replace(/\.d\.ts$/, '.d'),
    ),
  );
  t.deepEqual(stray, []);
  t.log(
    `${packed.files.length} files, ${(packed.size / 1e6).toFixed(2)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked`,
  );
});

test('installed from the tarball, the prebuilt addon loads and nothing was compiled', (t) => {
  const installed = join(app, 'node_modules', pkg.name);
  t.false(existsSync(join(installed, 'build')), 'no build/ folder: node-gyp did not run');
  t.true(readdirSync(join(installed, 'prebuilds')).length > 0);
});

test('ESM import and CommonJS require both work from the app', (t) => {
  const probe = (api: string) =>
    `${api}; const i = w.engineInfo(); console.log(JSON.stringify({ build: i.build, isa: i['cpu isa'], eq: w.mathEqual('\\\\frac{1}{2}', '0.5'), n: Object.keys(w).length }));`;
  const esm = JSON.parse(
    sh(process.execPath, ['--input-type=module', '-e', probe("import * as w from 'warmstart'")], app),
  );
  const cjs = JSON.parse(
    sh(process.execPath, ['--input-type=commonjs', '-e', probe("const w = require('warmstart')")], app),
  );
  for (const r of [esm, cjs]) {
    t.regex(r.build, /^prebuild \(.*node_modules\/warmstart\/prebuilds\//);
    t.regex(r.isa, /^(avx512|avx2|generic) /);
    t.true(r.eq);
  }
  t.true(esm.n > 100);
  t.is(cjs.n, esm.n);
});

test('a TypeScript file using the package type-checks under tsc --strict', (t) => {
  writeFileSync(
    join(app, 'check.ts'),
    `import { engineInfo, kernels, mathEqual, generatePuzzles, type GrpoConfig, type Model } from 'warmstart';
const info: Record<string, string | number | boolean> = engineInfo();
const same: boolean = mathEqual('1/2', '0.5');
const blas: boolean = kernels().haveBlas();
type Steps = GrpoConfig['steps'];
const steps: Steps = 3;
export async function close(m: Model): Promise<void> {
  await m.generate([[1, 2]], { maxNewTokens: 1 });
}
// @ts-expect-error: the declarations are real types, not any
mathEqual(1, 2);
console.log(info, same, blas, steps, generatePuzzles);
`,
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
  args.push('--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', 'check.ts');
  t.notThrows(() => sh(process.execPath, [tsc, ...args], app));
});

test('npx warmstart --version and doctor run from the app', (t) => {
  t.is(sh('npx', ['--offline', 'warmstart', '--version'], app).trim(), pkg.version);
  const doctor = sh('npx', ['--offline', 'warmstart', 'doctor'], app);
  t.regex(doctor, new RegExp(`^warmstart +${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
  t.regex(doctor, /^build +prebuild \(/m);
  t.regex(doctor, /^cpu isa +(avx512|avx2|generic) /m);
  t.regex(doctor, /^rebuild +CPU: `npm rebuild warmstart --build-from-source`/m);
});
