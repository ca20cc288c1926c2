// Without a working bubblewrap the sandbox says so, once, and isolate: true refuses to run.
// (A file of its own: the warning is once per process.)
import test from 'ava';

import { Sandbox } from '../../lib/rewards/sandbox.js';

test('runs that cannot be isolated warn once; isolate: true refuses them', async (t) => {
  const warnings: Error[] = [];
  const listen = (w: Error) => warnings.push(w);
  process.on('warning', listen);
  const sb = new Sandbox({ workers: 1, bwrap: '/nonexistent/bwrap' });
  t.false(sb.isolated());
  const a = await sb.run('print(1)\n');
  const b = await new Sandbox({ workers: 1, bwrap: '/nonexistent/bwrap' }).run('print(2)\n');
  await new Promise((res) => setImmediate(res));
  process.off('warning', listen);
  t.true(a.passed && b.passed);
  t.true(a.isolation.includes('subreaper'));
  const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'WARMSTART_SANDBOX_NOT_ISOLATED');
  t.is(ours.length, 1);
  t.regex(ours[0].message, /NOT isolated: bubblewrap \(\/nonexistent\/bwrap\) cannot run here/);
  const strict = new Sandbox({ workers: 1, bwrap: '/nonexistent/bwrap', isolate: true });
  await t.throwsAsync(strict.run('pass'), { message: /isolate needs bubblewrap \(\/nonexistent\/bwrap\)/ });
  // An explicit isolate: false is a choice, not a surprise: no warning either way.
  t.false(new Sandbox({ isolate: false }).isolated());
});
