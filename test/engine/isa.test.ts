// The CPU kernels' two instruction-set levels (native/cpu/isa.h) give the same model: the same
// sampled tokens, logprobs, losses and updated weights, bit for bit, with the AVX2 baseline and
// with AVX-512 (test_isa.cc compares each op; this compares a whole model). Each level runs in its
// own process, since the level is chosen once per process. The addon also runs on a CPU without
// AVX-512: under qemu-x86_64 -cpu Haswell (Debian's qemu-user; .ci/run installs it) it gives the
// same bits again, and no AVX-512 (EVEX) instruction lies outside the dispatched ws::cpu::avx512
// code of any x86-64 addon file here (build/Release and prebuilds/).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { cpu } from '../../lib/engine/addon.js';

const probe = fileURLToPath(new URL('./isa-probe.ts', import.meta.url));

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Probe {
  isa: string;
  available: string;
  digest: string;
  steps: number[][];
  tokens: number[][];
}
function run(isa: string, emulator: string[] = []): Probe {
  const cmd = [...emulator, process.execPath, '--import', 'tsx', probe];
  const out = execFileSync(cmd[0], cmd.slice(1), {
    env: { ...process.env, WARMSTART_ISA: isa },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Probe;
}
let baseline: Probe | undefined;
const avx2 = () => (baseline ??= run('avx2'));

test('the AVX2 and AVX-512 kernels train and sample the same model, bit for bit', (t) => {
  const { available } = cpu().kernels.cpuIsa();
  const base = avx2();
  t.is(base.isa, 'avx2');
  t.true(base.tokens.every((s) => s.length > 0));
  t.true(base.steps.every(([loss, norm]) => Number.isFinite(loss) && loss > 0 && norm > 0));
  if (!available.includes('avx512')) {
    t.log(`this CPU has no AVX-512 (levels: ${available}); only the baseline ran`);
    return;
  }
  const avx512 = run('');
  t.is(avx512.isa, 'avx512');
  t.deepEqual(avx512.steps, base.steps);
  t.deepEqual(avx512.tokens, base.tokens);
  t.is(avx512.digest, base.digest);
});

const qemu = spawnSync('qemu-x86_64', ['-version']).status === 0;
(process.arch === 'x64' && qemu ? test : test.skip)(
  'on an emulated Haswell (AVX2, no AVX-512) the addon runs and gives the same bits',
  (t) => {
    const haswell = run('', ['qemu-x86_64', '-cpu', 'Haswell']);
    t.is(haswell.available, 'avx2');
    t.is(haswell.isa, 'avx2');
    t.deepEqual(haswell.steps, avx2().steps);
    t.is(haswell.digest, avx2().digest);
  },
);

// Functions holding an EVEX-encoded instruction (AVX-512: its first byte after any segment or
// address-size prefix is 0x62, never a valid opcode in 64-bit mode), by demangled name.
function evexFunctions(file: string): Map<string, number> {
  const dump = execFileSync('objdump', ['-d', '-C', '--no-addresses', '--insn-width=16', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const found = new Map<string, number>();
  let fn = '';
  for (const line of dump.split('\n')) {
    if (line.startsWith('<') && line.endsWith('>:')) fn = line.slice(1, -2);
    else if (line.startsWith('\t')) {
      const bytes = line.split('\t')[1]?.trim().split(' ') ?? [];
      let i = 0;
      while (['67', '64', '65', '2e', '3e', '26', '36'].includes(bytes[i])) i++;
      if (bytes[i] === '62') found.set(fn, (found.get(fn) ?? 0) + 1);
    }
  }
  return found;
}

const addons = [join(root, 'build', 'Release', 'warmstart.node')];
const prebuilds = join(root, 'prebuilds', 'linux-x64');
if (existsSync(prebuilds)) for (const f of readdirSync(prebuilds)) addons.push(join(prebuilds, f));
const objdump = spawnSync('objdump', ['--version']).status === 0;
(process.arch === 'x64' && objdump ? test : test.skip)(
  'AVX-512 instructions appear only in the run-time dispatched kernels',
  (t) => {
    for (const file of addons.filter((f) => existsSync(f))) {
      const evex = evexFunctions(file);
      const outside = [...evex.keys()].filter((fn) => !fn.includes('ws::cpu::avx512::'));
      t.deepEqual(outside, [], file);
      t.true(evex.size > 10, `${file}: the AVX-512 kernels are there (${evex.size} functions)`);
    }
  },
);

test('WARMSTART_ISA names a level or fails with a clear error', (t) => {
  const err = t.throws(() =>
    execFileSync(process.execPath, ['--import', 'tsx', probe], {
      env: { ...process.env, WARMSTART_ISA: 'sse2' },
      encoding: 'utf8',
      stdio: 'pipe',
    }),
  );
  t.regex(String((err as { stderr?: string }).stderr), /WARMSTART_ISA must be avx2 or avx512 \(or unset\), got 'sse2'/);
});
