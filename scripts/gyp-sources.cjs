// Prints the C++ sources of the CPU addon for binding.gyp: every .cc under the native folders
// that hold no CUDA and no tests.
const fs = require('fs');
const path = require('path');
const dirs = ['native/core', 'native/cpu', 'native/io', 'native/model', 'native/napi'];
const root = path.join(__dirname, '..');
const out = [];
for (const d of dirs) {
  const abs = path.join(root, d);
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) if (f.endsWith('.cc')) out.push(`${d}/${f}`);
}
console.log(out.join(' '));
