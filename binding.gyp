{
  "targets": [
    {
      "target_name": "warmstart",
      "sources": ["<!@(node scripts/gyp-sources.cjs)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "<!@(node scripts/blas.cjs defines)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-O3", "-march=native", "-Wall", "-Wextra", "<!@(node scripts/blas.cjs cflags)", "<!@(node scripts/werror.cjs)"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fexceptions", "-Wall", "-Wextra", "<!@(node scripts/blas.cjs cflags)", "<!@(node scripts/werror.cjs)"],
      "libraries": ["<!@(node scripts/blas.cjs libs)"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
      }
    }
  ]
}
