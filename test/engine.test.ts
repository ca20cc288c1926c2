import test from 'ava';

import { cpu, engineInfo } from '../lib/engine/addon.js';

test('the CPU addon loads and reports itself', (t) => {
  const info = engineInfo();
  t.is(info.addon, 'cpu');
  t.true(Number(info.threads) >= 1);
});

test('setNumThreads checks its argument', (t) => {
  const a = cpu();
  t.throws(() => a.setNumThreads('2' as unknown as number), { instanceOf: TypeError, message: /threads/ });
  t.throws(() => a.setNumThreads(0), { instanceOf: RangeError, message: /threads/ });
  t.throws(() => a.setNumThreads(1.5), { instanceOf: RangeError, message: /threads/ });
  const before = a.numThreads();
  a.setNumThreads(1);
  t.is(a.numThreads(), 1);
  a.setNumThreads(before);
});
