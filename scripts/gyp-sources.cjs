// Prints C++ sources of the CPU addon for binding.gyp: `node scripts/gyp-sources.cjs` every .cc
// under the native folders that hold no CUDA and no tests; `... kernels` only the kernel files
// of native/cpu/ that are compiled once more for AVX-512 (native/cpu/isa.h): all but the two
// that are compiled once (dispatch.cc, sgemm_backend.cc). CMakeLists.txt applies the same rule.
const fs = require('fs');
const path = require('path');
const dirs = ['native/core', 'native/cpu', 'native/io', 'native/model', 'native/napi'];
const compiledOnce = ['native/cpu/dispatch.cc', 'native/cpu/sgemm_backend.cc'];
const root = path.join(__dirname, '..');
const out = [];
for (const d of process.argv[2] === 'kernels' ? ['native/cpu'] : dirs) {
  const abs = path.join(root, d);
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) if (f.endsWith('.cc')) out.push(`${d}/${f}`);
}
console.log((process.argv[2] === 'kernels' ? out.filter((f) => !compiledOnce.includes(f)) : out).join(' '));
