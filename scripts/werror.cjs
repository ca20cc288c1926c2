// For binding.gyp: prints -Werror when $CI is set (warnings fail the CI build, as
// scripts/test-native.sh makes them fail the CMake build), nothing otherwise.
if (process.env.CI) console.log('-Werror');
