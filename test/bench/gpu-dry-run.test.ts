// bench/gpu/run.sh --dry-run, so that a broken GPU script is caught here and not in a device
// window: the environment report, CMake configure, the build of the CUDA targets (against
// cuBLASLt, or where this nvcc has none the stand-in bench/gpu/stub-cublaslt that CMakeLists.txt
// then links) and the table from a recorded results file with steps missing. It reuses the native
// test build (build-native, which `npm test` builds first, CUDA tests and benchmark included
// where nvcc exists), so the targets are only relinked; without nvcc the build steps are empty.
// Not covered here: nvidia-smi, the addon build (WS_GPU_ADDON=0: cmake-js's variables would
// change build-native's cache), and every step that needs a GPU.
// The two runs share build-native, so they run one after the other.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hasNvcc = spawnSync('bash', ['-c', 'PATH=/usr/local/cuda/bin:$PATH command -v nvcc']).status === 0;

function dryRun(extra: Record<string, string>) {
  const out = mkdtempSync(join(tmpdir(), 'ws-gpu-dry-'));
  const r = spawnSync('bash', ['bench/gpu/run.sh', '--dry-run'], {
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      ...process.env,
      OUT: out,
      WS_GPU_BUILD_DIR: 'build-native',
      WS_GPU_ADDON: '0',
      WS_GPU_RESULTS: 'test/fixtures/gpu/results.jsonl',
      ...extra,
    },
  });
  const stdout = r.stdout ?? '';
  const table = stdout.slice(stdout.lastIndexOf('==== table'));
  return { status: r.status, stdout, stderr: r.stderr ?? '', table, out };
}

test.serial('run.sh --dry-run configures, builds the CUDA targets and prints the table last', (t) => {
  const r = dryRun({});
  t.is(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
  t.regex(r.stdout, /==== environment .*dry run/);
  // The table is the last thing printed, and its own file holds the same.
  t.true(r.stdout.trimEnd().endsWith(readFileSync(join(r.out, 'table.md'), 'utf8').trimEnd()));
  t.regex(r.table, /\| step configure \| ok/);
  if (hasNvcc) {
    for (const target of ['cuda_test_attention', 'cuda_test_sampling', 'bench_cuda'])
      t.regex(r.table, new RegExp(`\\| build ${target} \\| ok`), target);
  }
  t.notRegex(r.table, /FAILED/);
  // The recorded figures: warmstart beside PyTorch and the ratio.
  t.regex(r.table, /attention_fwd causal Qwen2\.5-0\.5B 14\/2 heads d64 T=4096 TFLOP\/s \| 100 \| 200 \| 0\.50 \|/);
  t.regex(r.table, /fused head 8192x151936 peak memory \| 1\.5 GiB \| 6 GiB \| 0\.25 \|/);
  t.regex(r.table, /parity cuda_test_sampling \| FAIL \(4 ok, 1 failed\)/);
  // A model_curve record without figures (the old KeyError) and the missing steps, each named.
  t.regex(r.table, /GPU loss curve follows the CPU one .*\| not run \(no CUDA addon or node\)/);
  t.regex(r.table, /\| step model \| not run \(dry run\)/);
  t.regex(r.table, /train_step warmstart: model: not run \(dry run\)/);
  t.regex(r.table, /attention_bwd qwen15b T=16384 PyTorch.*: torch_peers: not run \(dry run\)/);
});

test.serial('run.sh --dry-run goes on past a target that fails and names it in the table', (t) => {
  const r = dryRun({ WS_GPU_TARGETS: hasNvcc ? 'no_such_target cuda_test_sampling' : 'no_such_target' });
  t.is(r.status, 1, 'a failed build fails the dry run');
  t.regex(r.table, /\| build no_such_target \| FAILED \(/);
  if (hasNvcc) t.regex(r.table, /\| build cuda_test_sampling \| ok/);
  t.regex(r.table, /fused head 8192x151936 time fwd\+bwd \| 30 ms \| 60 ms \| 0\.50 \|/);
});

test('table.py prints a results file with nothing in it, naming every missing step', (t) => {
  const r = spawnSync('python3', ['bench/gpu/table.py', '/dev/null', 'card'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /- model_curve, train_step warmstart: step model left no record/);
  t.regex(r.stdout, /Missing \(41 figures\)/);
});
