#!/usr/bin/env bash
# Registers, spills and static shared memory of the CUDA kernels, from `nvcc -Xptxas -v`, for
# sm_80 and sm_90a, as a markdown table (bench/RESULTS.md records it; no GPU needed).
#   bash bench/gpu/ptxas-report.sh [native/cuda/FILE.cu ...]   (default: the attention kernels)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(native/cuda/attention_forward.cu native/cuda/attention_backward.cu native/cuda/attention_decode.cu)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "nvcc $(nvcc --version | grep -o 'release [0-9.]*'), -O3"
echo
echo "| kernel | arch | registers | spill stores / loads (bytes) | stack frame | static smem |"
echo "| --- | --- | --- | --- | --- | --- |"
for f in "${files[@]}"; do
  for arch in 80 90a; do
    nvcc -std=c++17 -O3 --expt-relaxed-constexpr -Inative -gencode=arch=compute_$arch,code=sm_$arch -Xptxas -v \
      -c "$f" -o "$tmp/x.o" 2>&1 | python3 -c '
import re, subprocess, sys
name = None
for line in sys.stdin:
    m = re.search(r"Compiling entry function .(\S+). for .(sm_\w+)", line)
    if m:
        name = subprocess.run(["c++filt"], input=m.group(1), capture_output=True, text=True).stdout.strip()
        name = re.sub(r"^void ", "", re.sub(r"\(.*", "", re.sub(r"ws::cuda::\(anonymous namespace\)::", "", name)))
        arch, frame, spill, smem = m.group(2), "?", "?", "0"
        continue
    m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m:
        frame, spill = m.group(1), m.group(2) + " / " + m.group(3)
    m = re.search(r"Used (\d+) registers.*?(?:(\d+) bytes smem)?,", line)
    if m and name:
        sm = re.search(r"(\d+) bytes smem", line)
        print(f"| {name} | {arch} | {m.group(1)} | {spill} | {frame} | {sm.group(1) if sm else 0} |")
        name = None
'
  done
done
