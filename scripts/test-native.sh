#!/usr/bin/env bash
# Builds and runs the C++ tests with CMake. Where nvcc exists, the same build compiles every
# CUDA kernel (native/cuda/*.cu), so a broken .cu file fails the tests even without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# Compiler warnings are errors in CI (-Wall -Wextra for C++ and for the host code of every .cu).
werror=$([ -n "${CI:-}" ] && echo ON || echo OFF)
cmake -S . -B build-native -DCMAKE_BUILD_TYPE=Release -DWARMSTART_WERROR="$werror" > build-native.log 2>&1 || { cat build-native.log; exit 1; }
cmake --build build-native -j"$jobs" >> build-native.log 2>&1 || { tail -n 80 build-native.log; exit 1; }
rm -f build-native.log
ctest --test-dir build-native --output-on-failure
