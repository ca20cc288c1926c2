#!/usr/bin/env bash
# The style gates CI runs (.ci/run): Prettier for TypeScript/JavaScript, clang-format for C++ and
# CUDA, ESLint (eslint.config.js), no import cycle between the folders of lib/, and every citation
# of the architecture notes (docs/) naming a section that exists.
# `bash scripts/lint.sh --fix` rewrites the files instead of checking them.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[ "${1:-}" = "--fix" ] && fix=1

js=('lib/**/*.ts' 'test/**/*.ts' 'bench/**/*.{ts,mjs}' 'bin/*.js' 'scripts/*.{cjs,js,mjs}' 'eslint.config.js')
if [ $fix = 1 ]; then npx prettier --log-level warn --write "${js[@]}"; else npx prettier --log-level warn --check "${js[@]}"; fi

if ! command -v clang-format >/dev/null; then
  echo "lint: clang-format is not installed (Debian: apt-get install clang-format)" >&2
  exit 1
fi
mapfile -t cpp < <(git ls-files --cached --others --exclude-standard -- 'native/*' 'bench/*' | grep -E '\.(cc|h|cu|cuh)$')
if [ $fix = 1 ]; then clang-format -i "${cpp[@]}"; else clang-format --dry-run -Werror "${cpp[@]}"; fi
if [ $fix = 1 ]; then npx eslint --fix lib test bench bin scripts eslint.config.js; else npx eslint lib test bench bin scripts eslint.config.js; fi
node scripts/check-folder-cycles.mjs
node scripts/check-doc-refs.mjs
echo "lint: clean (${#cpp[@]} C++/CUDA files, Prettier and ESLint on TypeScript)"
