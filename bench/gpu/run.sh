#!/usr/bin/env bash
# The one prepared script for a GPU session (issue 7). From the repository root:
#   bash bench/gpu/run.sh            (carry .device when node is not installed on the machine)
# 1. prints nvidia-smi, nvcc --version and whether node, cmake and cuBLAS(Lt) are there;
# 2. builds the CUDA kernels, the parity tests, the benchmark and the CUDA addon for this card;
# 3. runs the CUDA-vs-CPU parity tests (native/tests/cuda/test_*.cu);
# 4. runs the model graph on the GPU through the CUDA addon (model.mjs: the loss curve must follow
#    the CPU one; a Qwen2.5-0.5B-shaped training step);
# 5. runs the kernel microbenchmarks beside PyTorch on the same card (bench_cuda.cu, torch_peers.py);
# 6. prints one table last. Logs go to $OUT (or /tmp/ws-gpu) when set. Budget: under 8 minutes.
# On the device tool: run(command="bash bench/gpu/run.sh", carry=[".device"], timeout_s=540), where
# .device/node.xz (git-ignored) is made here by bench/gpu/pack-node.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOG=${OUT:-/tmp/ws-gpu}
mkdir -p "$LOG"
RES=$LOG/results.jsonl
: > "$RES"
START=$(date +%s)
note() { echo "$1" | tee -a "$LOG/summary.txt"; }
record() { echo "$1" >> "$RES"; }

echo "==== environment ($(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
nvidia-smi || echo "nvidia-smi: not found"
nvcc --version || echo "nvcc: not found"

# node: installed, or unpacked from .device/node.xz (carried from the development machine:
# a tar.xz of bin/node, the N-API headers and node-addon-api).
if ! command -v node >/dev/null 2>&1 && [ -f .device/node.xz ]; then
  mkdir -p /tmp/node && tar -xJf .device/node.xz -C /tmp/node && export PATH=/tmp/node/bin:$PATH
fi
NODE_INC=""; NAPI_INC=""
if command -v node >/dev/null 2>&1; then
  echo "node: $(command -v node) $(node --version)"
  for d in /tmp/node/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node; do
    [ -f "$d/node_api.h" ] && { NODE_INC=$d; break; }
  done
  for d in "$ROOT/node_modules/node-addon-api" /tmp/node/node-addon-api; do
    [ -f "$d/napi.h" ] && { NAPI_INC=$d; break; }
  done
else
  echo "node: not found (the CUDA addon is not built; kernels, tests and benchmarks still run)"
fi
echo "cmake: $(command -v cmake || echo 'not found') $(cmake --version 2>/dev/null | head -1)"

# cuBLASLt: the toolkit's, else the pip wheel's (nvidia-cublas) that PyTorch ships.
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}
EXTRA=()
if ls "$CUDA_HOME"/lib64/libcublasLt.so* "$CUDA_HOME"/targets/*/lib/libcublasLt.so* >/dev/null 2>&1; then
  echo "cuBLASLt: in $CUDA_HOME"
else
  PIP_CUBLAS=$(python3 - 2>/dev/null <<'PY'
import glob, os, site
for d in site.getsitepackages():
    for lib in sorted(glob.glob(os.path.join(d, "nvidia", "**", "libcublasLt.so*"), recursive=True)):
        print(os.path.dirname(os.path.dirname(lib)))
        raise SystemExit
PY
)
  LIB=$(ls "$PIP_CUBLAS"/lib/libcublasLt.so* 2>/dev/null | head -1)
  if [ -n "$LIB" ] && [ -f "$PIP_CUBLAS/include/cublasLt.h" ]; then
    echo "cuBLASLt: pip wheel at $PIP_CUBLAS"
    EXTRA=(-DCUDA_cublasLt_LIBRARY="$LIB" -DCUDA_cublas_LIBRARY="$(ls "$PIP_CUBLAS"/lib/libcublas.so* | head -1)"
           -DCMAKE_CUDA_FLAGS="-I$PIP_CUBLAS/include" -DCMAKE_CXX_FLAGS="-I$PIP_CUBLAS/include")
    export LD_LIBRARY_PATH=$PIP_CUBLAS/lib:${LD_LIBRARY_PATH:-}
  else
    echo "cuBLASLt: not found (no toolkit copy, no pip wheel)"
  fi
fi

echo "==== build"
CC_CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
ARCH=${CC_CAP:-90}
CMAKE_ARGS=(-S . -B build-cuda/cmake -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH" "${EXTRA[@]}")
if [ -n "$NODE_INC" ] && [ -n "$NAPI_INC" ]; then
  # The same target `npm run build:cuda` builds through cmake-js, configured by hand here.
  CMAKE_ARGS+=(-DCMAKE_JS_VERSION=run.sh -DCMAKE_JS_INC="$NODE_INC" -DWS_NAPI_INC="$NAPI_INC" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/build-cuda/Release")
fi
cmake "${CMAKE_ARGS[@]}" > "$LOG/cmake.log" 2>&1 || { tail -30 "$LOG/cmake.log"; note "cmake configure FAILED"; }
grep warmstart "$LOG/cmake.log"
TARGETS=$(cd build-cuda/cmake 2>/dev/null && cmake --build . --target help 2>/dev/null | grep -oE '(cuda_test_[a-z_]+|bench_cuda|warmstart_cuda)' | sort -u | tr '\n' ' ')
echo "targets: $TARGETS"
BUILD_OK=1
[ -n "$TARGETS" ] || { BUILD_OK=0; echo "no CUDA targets configured (cuBLASLt missing?): nothing to build or test"; }
if [ $BUILD_OK = 1 ] && ! timeout 300 cmake --build build-cuda/cmake -j"$(nproc)" --target $TARGETS > "$LOG/build.log" 2>&1; then
  BUILD_OK=0
  grep -E "error|Error" "$LOG/build.log" | head -40
fi
note "build: $([ $BUILD_OK = 1 ] && echo ok || echo FAILED) after $(( $(date +%s) - START )) s"
if [ -f build-cuda/Release/warmstart_cuda.node ] && command -v node >/dev/null 2>&1; then
  node -e "const a=require('./build-cuda/Release/warmstart_cuda.node'); console.log('addon gpuInfo', JSON.stringify(a.cuda.gpuInfo()))" 2>&1 | tee -a "$LOG/summary.txt"
fi

echo "==== parity tests"
for t in build-cuda/cmake/cuda_test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if timeout 120 "$t" > "$LOG/$name.log" 2>&1; then status=pass; else status=FAIL; fi
  passed=$(grep -c '^ok ' "$LOG/$name.log"); failed=$(grep -c '^FAIL ' "$LOG/$name.log")
  echo "--- $name: $status ($passed ok, $failed failed)"; grep -E '^(FAIL|  )' "$LOG/$name.log" | head -20
  record "{\"bench\":\"parity\",\"test\":\"$name\",\"status\":\"$status\",\"ok\":$passed,\"failed\":$failed}"
done

echo "==== model graph on the GPU (bench/gpu/model.mjs: GPU-vs-CPU loss curve, Qwen2.5-0.5B step)"
if [ -f build-cuda/Release/warmstart_cuda.node ] && command -v node >/dev/null 2>&1; then
  timeout 150 node bench/gpu/model.mjs curve step 2> "$LOG/model.err" | tee -a "$RES" \
    || echo "model.mjs: $(tail -5 "$LOG/model.err")"
  tail -25 "$LOG/model.err"
else
  echo "model.mjs skipped: no CUDA addon or no node"
  record '{"bench":"model_curve","impl":"warmstart","status":"not run (no CUDA addon or node)"}'
fi

echo "==== microbenchmarks"
if [ -x build-cuda/cmake/bench_cuda ]; then
  timeout 120 build-cuda/cmake/bench_cuda 2> "$LOG/bench_cuda.err" | tee -a "$RES" || echo "bench_cuda failed: $(tail -3 "$LOG/bench_cuda.err")"
fi
PYTHONUNBUFFERED=1 timeout 200 python3 bench/gpu/torch_peers.py attention head step 2> "$LOG/torch.err" | tee -a "$RES" \
  || echo "torch peers failed: $(tail -5 "$LOG/torch.err")"

echo "==== table ($(( $(date +%s) - START )) s)"
python3 bench/gpu/table.py "$RES" "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)" | tee "$LOG/table.md"
