// Finds OpenBLAS at build time for binding.gyp. `node scripts/blas.cjs defines|libs|cflags`
// prints the flags, or nothing when no BLAS is installed (the engine then uses its own SGEMM).
// WS_NO_BLAS=1 forces the build without BLAS.
const { execSync } = require('child_process');
function pc(args) {
  try {
    return execSync(`pkg-config ${args}`, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}
const what = process.argv[2];
const found = !process.env.WS_NO_BLAS && pc('--exists openblas') !== null;
if (!found) process.exit(0);
if (what === 'defines') console.log('WS_HAVE_BLAS=1');
else if (what === 'libs') console.log(pc('--libs openblas'));
else if (what === 'cflags') console.log(pc('--cflags openblas'));
