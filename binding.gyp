{
  "variables": {
    "ws_warnings": ["-Wall", "-Wextra", "-Wno-psabi", "<!@(node scripts/werror.cjs)"],
    "ws_blas_cflags": ["<!@(node scripts/blas.cjs cflags)"]
  },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "<!@(node scripts/blas.cjs defines)"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags": ["-O3", "<@(ws_warnings)", "<@(ws_blas_cflags)"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "<@(ws_warnings)", "<@(ws_blas_cflags)"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
    },
    "conditions": [
      ["target_arch=='x64'", {
        "cflags": ["-march=x86-64-v3"],
        "cflags_cc": ["-march=x86-64-v3"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "warmstart",
      "sources": ["<!@(node scripts/gyp-sources.cjs)"],
      "libraries": ["<!@(node scripts/blas.cjs libs)"],
      "conditions": [
        ["target_arch=='x64'", {
          "defines": ["WS_CPU_AVX512=1"],
          "dependencies": ["warmstart_cpu_avx512"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "warmstart_cpu_avx512",
          "type": "static_library",
          "sources": ["<!@(node scripts/gyp-sources.cjs kernels)"],
          "defines": ["WS_CPU_ISA=avx512"],
          "cflags": ["-fPIC", "-march=x86-64-v4"],
          "cflags_cc": ["-fPIC", "-march=x86-64-v4"]
        }
      ]
    }]
  ]
}
