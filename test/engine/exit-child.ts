// Run by exit.test.ts: starts native work that would run for minutes, then calls process.exit()
// (argv[2] says which work, argv[3] the exit code). Prints the time of the exit call on stdout.
import { cpu } from '../../lib/engine/addon.js';
import { loadModel } from '../../lib/engine/model.js';

const [what, code] = [process.argv[2], Number(process.argv[3])];
const exitSoon = (ms: number) =>
  setTimeout(() => {
    process.stdout.write(`exit ${Date.now()}\n`);
    process.exit(code);
  }, ms);

if (what === 'generate' || what === 'generate-streaming') {
  const m = await loadModel(new URL('../fixtures/qwen2/tied', import.meta.url).pathname);
  let tokens = 0;
  const onTokens = what === 'generate-streaming' ? () => void tokens++ : undefined;
  void m.generate([[1, 2]], { maxNewTokens: 1 << 20, onTokens }).catch(() => {});
  exitSoon(1500);
} else if (what === 'matmul') {
  // one long op with no cancel point: the exit hook gives it kExitGrace, then ends the process
  const n = 8192; // 1.1 TFLOP: seconds even with OpenBLAS on a fast CPU, past the 1 s grace
  const [out, x, w] = [new Float32Array(n * n), new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1)];
  void cpu()
    .kernels.matmulForwardAsync(out, x, w, null, n, n, n)
    .catch(() => {});
  exitSoon(300);
}
