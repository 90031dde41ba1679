#!/usr/bin/env bash
# The installed package (docs/aot.md): install into a temporary prefix, then
# build examples/aot twice against it — CMake with find_package(actc) +
# actc_add_model, and the plain Makefile with pkg-config — and run both.
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
python3 "$src/examples/host/make_weights.py" "$tmp/ffn.safetensors" > /dev/null
# 1. CMake
cmake -S "$src/examples/aot" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" > /dev/null
cmake --build "$tmp/cmake" > /dev/null
a=$("$tmp/cmake/app" "$tmp/ffn.safetensors")
# 2. Makefile + pkg-config, in a copy of the example (make writes next to it)
mkdir -p "$tmp/mk/aot" && cp "$src/examples/aot/app.c" "$src/examples/aot/Makefile" "$tmp/mk/aot/"
cp "$src/examples/ffn.act" "$tmp/mk/"
PATH="$tmp/prefix/bin:$PATH" PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" make -s -C "$tmp/mk/aot" > /dev/null
b=$("$tmp/mk/aot/app" "$tmp/ffn.safetensors")  # linked with libactrt.so, found through the rpath
echo "cmake:    $a"
echo "makefile: $b"
[ "$a" = "$b" ] || { echo "FAIL: the two builds disagree"; exit 1; }
case $a in ffn:*) ;; *) echo "FAIL: unexpected output"; exit 1 ;; esac
echo "install: ok"
