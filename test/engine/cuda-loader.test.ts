// The engine loader's CUDA branch: it falls back to the CPU addon, and says why, when the CUDA
// addon is missing or is not a loadable addon (the cases every machine without a GPU build hits).
// Each ava test file runs in its own process, so the env set here is seen by the one-time choice.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'ws-cuda-loader-'));
const bogus = join(dir, 'warmstart_cuda.node');
writeFileSync(bogus, 'not an ELF shared object');
process.env.WARMSTART_CUDA_ADDON = bogus;
delete process.env.WARMSTART_DEVICE;

test('a CUDA addon that does not load leaves the CPU addon in use and names the file', async (t) => {
  const { cuda, addon, cpu, engineInfo } = await import('../../lib/engine/addon.js');
  const c = cuda();
  t.is(c.addon, undefined);
  t.true(c.reason.includes(bogus), c.reason);
  t.true(c.reason.includes('was not used'), c.reason);
  t.is(addon(), cpu());
  const info = engineInfo();
  t.is(info.addon, 'cpu');
  t.is(info.gpu, 'none');
  t.is(info.cuda, c.reason);
});
