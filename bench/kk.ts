// K&K benchmark: puzzles generated and solved per second by number of people, and symbolic traces
// written per second (with their mean length in characters). The solver (search with
// propagation, all solutions) is set beside the exhaustive 2^n enumeration that the published
// generator uses, timed in the same run.
//
//   node --import tsx bench/kk.ts [--sizes 2-12,16,20,24] [--count 200] [--min-ms 300]
//
// Each figure is the best of 3 timed rounds. Prints markdown rows for bench/RESULTS.md.
import { generatePuzzles, parsePeople, solve, solveBruteForce, symbolicTrace, type KKPuzzle } from '../lib/kk/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizes = opt('sizes', '2-12,16,20,24')
  .split(',')
  .flatMap((part) => parsePeople(part));
const count = Number(opt('count', '200'));
const minMs = Number(opt('min-ms', '300'));
const BRUTE_MAX = 16;

// Best of 3 rounds, each calling f over the puzzles until minMs/3 have passed: items per second.
// (The best round is the one least disturbed by other processes on a shared machine.)
function rate(puzzles: readonly KKPuzzle[], f: (p: KKPuzzle) => unknown): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let done = 0;
    const t0 = performance.now();
    do {
      for (const p of puzzles) f(p);
      done += puzzles.length;
    } while (performance.now() - t0 < minMs / 3);
    best = Math.max(best, (done / (performance.now() - t0)) * 1000);
  }
  return best;
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

// Warm the JIT on every code path before timing anything.
for (const p of generatePuzzles({ people: '2-10', count: 900, seed: 99 })) {
  solve(p.statements);
  solveBruteForce(p.statements);
  symbolicTrace(p, { verbosity: 'long' });
}

console.log(
  `node ${process.version}, ${count} puzzles per size (depth 2, width 2), best of 3 rounds of >= ${Math.round(minMs / 3)} ms each; generation timed on fresh sets of 10 puzzles\n`,
);
console.log(
  '| people | generated/s | solved/s (search) | solved/s (2^n enumeration) | search / enumeration | traces/s (normal) | traces/s (long) | trace chars, mean (terse / normal / long) |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const puzzles = generatePuzzles({ people: n, count, seed: 1 });
  let seed = 2;
  const generated = rate([puzzles[0]], () => generatePuzzles({ people: n, count: 10, seed: seed++ })) * 10;
  const search = rate(puzzles, (p) => solve(p.statements));
  const brute =
    n <= BRUTE_MAX
      ? rate(puzzles.slice(0, Math.max(1, Math.floor(count / 2 ** Math.max(0, n - 10)))), (p) =>
          solveBruteForce(p.statements),
        )
      : NaN;
  const normal = rate(puzzles, (p) => symbolicTrace(p));
  const long = rate(puzzles, (p) => symbolicTrace(p, { verbosity: 'long' }));
  const chars = (['terse', 'normal', 'long'] as const).map((verbosity) =>
    Math.round(puzzles.reduce((sum, p) => sum + symbolicTrace(p, { verbosity }).length, 0) / puzzles.length),
  );
  console.log(
    `| ${n} | ${fmt(generated)} | ${fmt(search)} | ${Number.isNaN(brute) ? '—' : fmt(brute)} | ${Number.isNaN(brute) ? '—' : `${fmt(search / brute)}×`} | ${fmt(normal)} | ${fmt(long)} | ${chars.join(' / ')} |`,
  );
}
