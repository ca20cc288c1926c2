import test from 'ava';

import {
  buildChatMessages,
  buildPrompt,
  generatePuzzles,
  kkReward,
  registerTeacher,
  symbolicTeacher,
  symbolicTrace,
  teacherSpec,
  teacherSpecs,
  toRecord,
  writeTraces,
  type Teacher,
} from '../../lib/kk/index.js';

const puzzles = generatePuzzles({ people: '3-5', count: 12, seed: 6 });

test('symbolic traces in raw style: the puzzle record, the raw prompt and a +2 completion', async (t) => {
  const records = await writeTraces(symbolicTeacher({ verbosity: 'terse' }), puzzles);
  t.is(records.length, puzzles.length);
  records.forEach((r, i) => {
    const { prompt, completion, teacher, ...rest } = r;
    t.deepEqual(rest, toRecord(puzzles[i]));
    t.is(teacher, 'symbolic');
    t.is(prompt, buildPrompt(puzzles[i]));
    t.is(completion, symbolicTrace(puzzles[i], { verbosity: 'terse' }));
    t.is(kkReward(completion as string, puzzles[i]), 2);
  });
});

test('chat style: messages, and an assistant message that starts with <think>', async (t) => {
  const [r] = await writeTraces(symbolicTeacher(), puzzles.slice(0, 1), { style: 'chat' });
  t.deepEqual(r.prompt, buildChatMessages(puzzles[0]));
  t.deepEqual(r.completion, [{ role: 'assistant', content: `<think>${symbolicTrace(puzzles[0])}` }]);
  await t.throwsAsync(writeTraces(symbolicTeacher(), puzzles, { style: 'xml' as 'raw' }), { message: /style/ });
});

test("a concurrent teacher keeps the puzzles' order and reports progress", async (t) => {
  let running = 0,
    most = 0;
  const slow: Teacher = {
    name: 'slow',
    concurrency: 4,
    async complete(p) {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (p.names.length % 3) * 5));
      running--;
      return `${p.names[0]}</think><answer></answer>`;
    },
  };
  const progress: number[] = [];
  const records = await writeTraces(slow, puzzles, { onProgress: (d) => progress.push(d) });
  t.deepEqual(
    records.map((r) => r.completion),
    puzzles.map((p) => `${p.names[0]}</think><answer></answer>`),
  );
  t.is(most, 4);
  t.deepEqual(
    progress,
    puzzles.map((_, i) => i + 1),
  );
});

test('a teacher that fails fails the run', async (t) => {
  const broken: Teacher = {
    name: 'broken',
    complete: async () => {
      throw new Error('server said 500');
    },
  };
  await t.throwsAsync(writeTraces(broken, puzzles), { message: 'server said 500' });
});

test('the registry: symbolic is built in, others plug in, unknown names are refused', async (t) => {
  t.true(teacherSpecs().some((s) => s.name === 'symbolic'));
  const symbolic = await teacherSpec('symbolic').create({ verbosity: 'long', traceSeed: '3' });
  t.is(await symbolic.complete(puzzles[0], ''), symbolicTrace(puzzles[0], { verbosity: 'long', seed: 3 }));
  t.throws(() => teacherSpec('symbolic').create({ verbosity: 'verbose' }), {
    message: /--verbosity: expected terse, normal or long/,
  });
  t.throws(() => teacherSpec('symbolic').create({ traceSeed: 'x' }), { message: /--trace-seed/ });
  registerTeacher({
    name: 'echo-test',
    description: 'test',
    create: () => ({ name: 'echo-test', complete: async (_, prompt) => prompt }),
  });
  t.is(await (await teacherSpec('echo-test').create({})).complete(puzzles[0], 'P'), 'P');
  t.throws(() => teacherSpec('nobody'), { message: /unknown teacher "nobody" \(known: symbolic, echo-test\)/ });
});
