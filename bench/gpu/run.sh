#!/usr/bin/env bash
# The one prepared script for a GPU session. From the repository root:
#   bash bench/gpu/run.sh              on a machine with a GPU (carry .device where node is missing)
#   bash bench/gpu/run.sh --dry-run    anywhere: every step that needs no GPU
# 1. environment: nvidia-smi, nvcc, node (from .device/node.xz when carried), cmake, cuBLASLt;
# 2. builds the CUDA kernels, parity tests, benchmark and CUDA addon in one keep-going pass on all
#    cores, then each target that did not come out on its own, so one broken target costs only
#    itself (build-<target>.log names its first error);
# 3. runs the CUDA-vs-CPU parity tests (native/tests/cuda/test_*.cu);
# 4. runs the model graph through the CUDA addon (model.mjs: GPU-vs-CPU loss curve; a
#    Qwen2.5-0.5B-shaped training step);
# 5. runs the kernel microbenchmarks beside PyTorch on the same card (bench_cuda.cu,
#    torch_peers.py; attention at 16 heads x d128, Qwen2.5-0.5B's and Qwen2.5-1.5B's shapes);
# 6. runs compute-sanitizer memcheck and racecheck on the attention and fused-head tests, each
#    capped at 30 s (and by what the budget leaves), where the tool is there;
# 7. prints one table last (table.py): whatever ran, and each missing figure with the step and why.
# Every step is capped so that the whole stays under 8 minutes (WS_GPU_BUDGET_S, default 470 s).
# --dry-run does 1, 2 (against the real cuBLASLt, or where this nvcc has none the stand-in that
# CMakeLists.txt then links, bench/gpu/stub-cublaslt) and 7 on the recorded results in
# WS_GPU_RESULTS (if given) with the GPU steps marked not run; it fails (exit 1) when configure
# or a target's build fails.
# Other settings: WS_GPU_BUILD_DIR (build-cuda/cmake), WS_GPU_TARGETS (a space-separated subset of
# the targets), WS_CUDA_ARCH (default: the card's compute capability, else 90), WS_GPU_ADDON=0
# (skip the addon), WS_GPU_BUDGET_S, OUT (logs; default /tmp/ws-gpu).
# Device tool: run(command="bash bench/gpu/run.sh", carry=[".device"], timeout_s=540), where
# .device/node.xz (git-ignored) is made here by bench/gpu/pack-node.sh.
set -uo pipefail
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *)
    echo "usage: bash bench/gpu/run.sh [--dry-run]" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOG=${OUT:-/tmp/ws-gpu}
mkdir -p "$LOG"
RES=$LOG/results.jsonl
: > "$RES"
: > "$LOG/summary.txt"
START=$(date +%s)
BUDGET=${WS_GPU_BUDGET_S:-470}
BUILD=${WS_GPU_BUILD_DIR:-build-cuda/cmake}
JOBS=$(nproc 2>/dev/null || echo 2)
note() { echo "$1" | tee -a "$LOG/summary.txt"; }
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
# step NAME STATUS [WHY]: one line of results.jsonl that table.py lists (and names when missing).
step() { echo "{\"bench\":\"step\",\"step\":\"$1\",\"status\":\"$2\",\"why\":$(json_str "${3:-}")}" >> "$RES"; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
# cap N: N seconds, or what the budget leaves after 15 s for the table (at least 1).
cap() {
  local l=$(($(left) - 15))
  [ "$l" -lt "$1" ] && echo $((l > 1 ? l : 1)) || echo "$1"
}
have_time() { [ "$(left)" -gt "${1:-30}" ]; }

echo "==== environment ($(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $([ $DRY = 1 ] && echo dry run || echo GPU run))"
# The toolkit at /usr/local/cuda unless CUDA_HOME says otherwise (nvcc on PATH may be absent or
# another toolkit's, which would pair a pip cuBLAS with the wrong headers).
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
[ -d "$CUDA_HOME/bin" ] && export PATH=$CUDA_HOME/bin:$PATH
if [ $DRY = 0 ]; then nvidia-smi || echo "nvidia-smi: not found"; fi
nvcc --version | tail -2 || echo "nvcc: not found under $CUDA_HOME/bin or on PATH"

# node: .device/node.xz (bin/node, the N-API headers and node-addon-api, from pack-node.sh) is
# unpacked whenever it is there: node_modules does not travel, so its headers are needed even
# where a node is installed. Python's tarfile where xz is missing.
NODE_DIR=${TMPDIR:-/tmp}/ws-node
if [ -f .device/node.xz ]; then
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  if command -v xz >/dev/null 2>&1; then
    tar -xJf .device/node.xz -C "$NODE_DIR"
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' .device/node.xz "$NODE_DIR"
  fi || echo "node.xz: could not unpack"
  [ -x "$NODE_DIR/bin/node" ] && export PATH=$NODE_DIR/bin:$PATH
fi
NODE_INC=""
NAPI_INC=""
if command -v node >/dev/null 2>&1; then
  echo "node: $(command -v node) $(node --version)"
  for d in "$NODE_DIR/include/node" "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node; do
    [ -f "$d/node_api.h" ] && {
      NODE_INC=$d
      break
    }
  done
  for d in "$ROOT/node_modules/node-addon-api" "$NODE_DIR/node-addon-api"; do
    [ -f "$d/napi.h" ] && {
      NAPI_INC=$d
      break
    }
  done
  echo "N-API headers: ${NODE_INC:-not found}; node-addon-api: ${NAPI_INC:-not found}"
else
  echo "node: not found (the CUDA addon is not built; kernels, tests and benchmarks still run)"
fi
echo "cmake: $(command -v cmake || echo 'not found') $(cmake --version 2>/dev/null | head -1)"

# cuBLASLt: WS_CUBLASLT_DIR (a folder with include/cublasLt.h and lib/libcublasLt.so*), else the
# toolkit's, else a pip wheel's (nvidia-cublas, which PyTorch ships), found through whichever
# python3 runs here (venvs and user sites included).
EXTRA=()
CUBLAS_DIR=${WS_CUBLASLT_DIR:-}
if [ -z "$CUBLAS_DIR" ] && ! ls "$CUDA_HOME"/lib64/libcublasLt.so* "$CUDA_HOME"/targets/*/lib/libcublasLt.so* >/dev/null 2>&1; then
  CUBLAS_DIR=$(python3 - 2>/dev/null << 'PY'
import glob, os, site, sys
roots = []
try:
    import nvidia.cublas as m  # the wheel's own package: its folder, wherever it is installed
    roots += [os.path.dirname(p) for p in m.__path__]
except Exception:
    pass
try:
    import nvidia
    roots += list(nvidia.__path__)
except Exception:
    pass
for p in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
    roots.append(os.path.join(p, "nvidia"))
for r in roots:
    for lib in sorted(glob.glob(os.path.join(r, "**", "libcublasLt.so*"), recursive=True)):
        d = os.path.dirname(os.path.dirname(lib))
        if os.path.isfile(os.path.join(d, "include", "cublasLt.h")):
            print(d)
            raise SystemExit
PY
  )
fi
if [ -n "$CUBLAS_DIR" ]; then
  LIB=$(ls "$CUBLAS_DIR"/lib/libcublasLt.so* 2> /dev/null | head -1)
  if [ -n "$LIB" ] && [ -f "$CUBLAS_DIR/include/cublasLt.h" ]; then
    echo "cuBLASLt: $LIB"
    BLAS=$(ls "$CUBLAS_DIR"/lib/libcublas.so* 2> /dev/null | head -1)
    EXTRA=(-DCUDA_cublasLt_LIBRARY="$LIB" -DCUDA_cublas_LIBRARY="${BLAS:-$LIB}"
      -DCMAKE_CUDA_FLAGS="-I$CUBLAS_DIR/include" -DCMAKE_CXX_FLAGS="-I$CUBLAS_DIR/include")
    export LD_LIBRARY_PATH=$CUBLAS_DIR/lib:${LD_LIBRARY_PATH:-}
  else
    echo "cuBLASLt: $CUBLAS_DIR has no include/cublasLt.h and lib/libcublasLt.so*"
  fi
elif ls "$CUDA_HOME"/lib64/libcublasLt.so* "$CUDA_HOME"/targets/*/lib/libcublasLt.so* > /dev/null 2>&1; then
  echo "cuBLASLt: in $CUDA_HOME"
else
  echo "cuBLASLt: not found (no WS_CUBLASLT_DIR, toolkit copy or pip wheel)"
fi
step environment ok "$(nvcc --version 2> /dev/null | grep -o 'release [0-9.]*' || echo 'no nvcc'), node $(node --version 2> /dev/null || echo none)"

echo "==== build ($BUILD)"
CC_CAP=""
[ $DRY = 0 ] && CC_CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d '.')
# The card's architecture; in a dry run WS_CUDA_ARCH or CMakeLists.txt's default (80 and 90).
ARCH=${WS_CUDA_ARCH:-$CC_CAP}
[ $DRY = 0 ] && ARCH=${ARCH:-90}
CMAKE_ARGS=(-S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${EXTRA[@]}")
[ -n "$ARCH" ] && CMAKE_ARGS+=(-DCMAKE_CUDA_ARCHITECTURES="$ARCH")
if [ -n "$NODE_INC" ] && [ -n "$NAPI_INC" ] && [ "${WS_GPU_ADDON:-1}" != 0 ]; then
  # The same target `npm run build:cuda` builds through cmake-js, configured by hand here.
  CMAKE_ARGS+=(-DCMAKE_JS_VERSION=run.sh -DCMAKE_JS_INC="$NODE_INC" -DWS_NAPI_INC="$NAPI_INC" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/build-cuda/Release")
fi
TARGETS=""
if timeout "$(cap 120)" cmake "${CMAKE_ARGS[@]}" > "$LOG/cmake.log" 2>&1; then
  grep warmstart "$LOG/cmake.log"
  ALL=$(cmake --build "$BUILD" --target help 2> /dev/null | grep -oE '(cuda_test_[a-z_]+|bench_cuda|warmstart_cuda)' | sort -u | tr '\n' ' ' | sed 's/ $//')
  TARGETS=${WS_GPU_TARGETS:-$ALL}
  step configure ok "CUDA arch ${ARCH:-default}; targets: ${ALL:-none}"
else
  tail -30 "$LOG/cmake.log"
  step configure FAILED "$(grep -m1 -E 'Error|error' "$LOG/cmake.log" || echo 'see cmake.log')"
fi
echo "targets: ${TARGETS:-none}"
[ -n "$TARGETS" ] || note "no CUDA targets configured (cuBLASLt missing?): nothing to build or test"
# Where each target's output lands (a failed target must not pass for its stale output).
output_of() {
  case $1 in
    warmstart_cuda) echo "$ROOT/build-cuda/Release/warmstart_cuda.node" ;;
    *) echo "$BUILD/$1" ;;
  esac
}
if [ -n "$TARGETS" ]; then
  for t in $TARGETS; do rm -f "$(output_of "$t")"; done
  # One pass on all cores that goes on past failures (make -k / ninja -k 0) ...
  KEEP=(-k)
  grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$BUILD/CMakeCache.txt" 2> /dev/null && KEEP=(-k 0)
  # shellcheck disable=SC2086
  timeout "$(cap 300)" cmake --build "$BUILD" -j"$JOBS" --target $TARGETS -- "${KEEP[@]}" > "$LOG/build.log" 2>&1
  # ... then each target that did not come out, on its own, for its own log and status.
  for t in $TARGETS; do
    if [ -e "$(output_of "$t")" ]; then
      echo "{\"bench\":\"build\",\"target\":\"$t\",\"status\":\"ok\"}" >> "$RES"
      continue
    fi
    if have_time 60; then
      timeout "$(cap 120)" cmake --build "$BUILD" -j"$JOBS" --target "$t" > "$LOG/build-$t.log" 2>&1
    else
      echo "not retried: the time budget is spent" > "$LOG/build-$t.log"
    fi
    if [ -e "$(output_of "$t")" ]; then
      echo "{\"bench\":\"build\",\"target\":\"$t\",\"status\":\"ok\"}" >> "$RES"
    else
      err=$(grep -m1 -E 'error|Error|No rule|unknown target|not retried' "$LOG/build-$t.log" | cut -c1-200)
      echo "--- build $t FAILED: $err"
      echo "{\"bench\":\"build\",\"target\":\"$t\",\"status\":\"FAILED\",\"why\":$(json_str "${err:-see build-$t.log}")}" >> "$RES"
    fi
  done
fi
note "build: $(grep -c '"status":"ok"' <(grep '"bench":"build"' "$RES")) of $(echo $TARGETS | wc -w) targets after $(($(date +%s) - START)) s"

NODE_OK=0
if [ -f build-cuda/Release/warmstart_cuda.node ] && command -v node > /dev/null 2>&1; then NODE_OK=1; fi
if [ $DRY = 1 ]; then
  # The GPU steps are not run; the table comes from a recorded results file.
  for s in parity sanitizer model bench_cuda torch_peers; do step $s "not run" "dry run"; done
  if [ -n "${WS_GPU_RESULTS:-}" ]; then cat "$WS_GPU_RESULTS" >> "$RES" || note "cannot read $WS_GPU_RESULTS"; fi
else
  if [ $NODE_OK = 1 ]; then
    node -e "const a=require('./build-cuda/Release/warmstart_cuda.node'); console.log('addon gpuInfo', JSON.stringify(a.cuda.gpuInfo()))" 2>&1 | tee -a "$LOG/summary.txt"
  fi

  echo "==== parity tests"
  ran=0
  for t in "$BUILD"/cuda_test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    ran=1
    if ! have_time 60; then
      echo "{\"bench\":\"parity\",\"test\":\"$name\",\"status\":\"not run\",\"why\":\"time budget spent\"}" >> "$RES"
      continue
    fi
    if timeout "$(cap 120)" "$t" > "$LOG/$name.log" 2>&1; then status=pass; else status=FAIL; fi
    passed=$(grep -c '^ok ' "$LOG/$name.log")
    failed=$(grep -c '^FAIL ' "$LOG/$name.log")
    echo "--- $name: $status ($passed ok, $failed failed)"
    grep -E '^(FAIL|  )' "$LOG/$name.log" | head -20
    echo "{\"bench\":\"parity\",\"test\":\"$name\",\"status\":\"$status\",\"ok\":$passed,\"failed\":$failed}" >> "$RES"
  done
  [ $ran = 1 ] && step parity ran || step parity "not run" "no parity test was built"

  echo "==== model graph on the GPU (bench/gpu/model.mjs: GPU-vs-CPU loss curve, Qwen2.5-0.5B step)"
  if [ $NODE_OK = 0 ]; then
    step model "not run" "$(command -v node > /dev/null && echo 'the CUDA addon was not built' || echo 'no node')"
  elif ! have_time 60; then
    step model "not run" "time budget spent"
  else
    timeout "$(cap 150)" node bench/gpu/model.mjs curve recompute step 2> "$LOG/model.err" | tee -a "$RES"
    rc=${PIPESTATUS[0]}
    tail -25 "$LOG/model.err"
    step model "$([ "$rc" = 0 ] && echo ran || echo "exit $rc")" "$(tail -1 "$LOG/model.err" | cut -c1-200)"
  fi

  echo "==== microbenchmarks"
  if [ ! -x "$BUILD/bench_cuda" ]; then
    step bench_cuda "not run" "not built"
  elif ! have_time 40; then
    step bench_cuda "not run" "time budget spent"
  else
    timeout "$(cap 120)" "$BUILD/bench_cuda" 2> "$LOG/bench_cuda.err" | tee -a "$RES"
    rc=${PIPESTATUS[0]}
    step bench_cuda "$([ "$rc" = 0 ] && echo ran || echo "exit $rc")" "$(tail -1 "$LOG/bench_cuda.err" | cut -c1-200)"
  fi
  if ! have_time 30; then
    step torch_peers "not run" "time budget spent"
  else
    PYTHONUNBUFFERED=1 timeout "$(cap 200)" python3 bench/gpu/torch_peers.py attention head step 2> "$LOG/torch.err" | tee -a "$RES"
    rc=${PIPESTATUS[0]}
    step torch_peers "$([ "$rc" = 0 ] && echo ran || echo "exit $rc")" "$(tail -1 "$LOG/torch.err" | cut -c1-200)"
  fi
  echo "==== compute-sanitizer (memcheck, racecheck; each capped)"
  SAN=$(command -v compute-sanitizer || echo "$CUDA_HOME/compute-sanitizer/compute-sanitizer")
  if [ ! -x "$SAN" ]; then
    step sanitizer "not run" "compute-sanitizer not found"
  else
    step sanitizer ran "$SAN"
    for tool in memcheck racecheck; do
      for name in cuda_test_attention cuda_test_head; do
        t=$BUILD/$name
        if [ ! -x "$t" ]; then
          why="not built"
        elif ! have_time 45; then
          why="time budget spent"
        else
          timeout "$(cap 30)" "$SAN" --tool $tool --error-exitcode 3 "$t" > "$LOG/$tool-$name.log" 2>&1
          rc=$?
          summary=$(grep -m1 'ERROR SUMMARY\|RACECHECK SUMMARY' "$LOG/$tool-$name.log")
          case $rc in
            0) status=clean ;;
            3) status=ERRORS ;;
            124) status="timed out" ;;
            *) status="exit $rc" ;;
          esac
          echo "--- $tool $name: $status $summary"
          echo "{\"bench\":\"sanitizer\",\"tool\":\"$tool\",\"test\":\"$name\",\"status\":\"$status\",\"why\":$(json_str "$summary")}" >> "$RES"
          continue
        fi
        echo "{\"bench\":\"sanitizer\",\"tool\":\"$tool\",\"test\":\"$name\",\"status\":\"not run\",\"why\":\"$why\"}" >> "$RES"
      done
    done
  fi

fi

echo "==== table ($(($(date +%s) - START)) s)"
CARD=$([ $DRY = 1 ] && echo "no GPU (dry run; recorded figures: ${WS_GPU_RESULTS:-none})" || nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)
python3 bench/gpu/table.py "$RES" "$CARD" | tee "$LOG/table.md" || exit 1
if [ $DRY = 1 ] && grep -q '"status":"FAILED"' "$RES"; then exit 1; fi
exit 0
