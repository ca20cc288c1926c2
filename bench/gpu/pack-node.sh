#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs to build and load the CUDA addon on a GPU machine that has no
# node: .device/node.xz = tar.xz of bin/node, the N-API headers (include/node) and node-addon-api.
# .device/ is git-ignored; pass it to the device tool with carry: [".device"].
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node_bin=$(command -v node)
inc=$(dirname "$(dirname "$node_bin")")/include/node
mkdir -p "$tmp/bin" "$tmp/include/node" .device
cp "$node_bin" "$tmp/bin/node"
cp "$inc"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} "$tmp/include/node/"
cp -r node_modules/node-addon-api "$tmp/"
tar -C "$tmp" -cJf .device/node.xz bin include node-addon-api
ls -la .device/node.xz
