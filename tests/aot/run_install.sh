#!/usr/bin/env bash
# The installed package (docs/aot.md): install into a temporary prefix, then
# build examples/aot twice against it — CMake with find_package(actc) +
# actc_add_model, and the plain Makefile with pkg-config — and run both;
# and once more with the weights embedded by the installed actc.
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
# 3. the installed actc carries the embedded runtime: --embed-weights, the
# object linked with libc alone, app.c creating from the embedded weights
mkdir -p "$tmp/emb"
"$tmp/prefix/bin/actc" compile "$src/examples/ffn.act" -o "$tmp/emb/ffn.o" --header "$tmp/emb/ffn.h" \
    --embed-weights "$tmp/ffn.safetensors"
sed 's/ffn_create(&m, argv\[1\])/ffn_create(\&m, NULL)/' "$src/examples/aot/app.c" > "$tmp/emb/app.c"
grep -q 'ffn_create(&m, NULL)' "$tmp/emb/app.c" || { echo "FAIL: app.c no longer calls ffn_create(&m, argv[1])"; exit 1; }
${CC:-cc} -std=c99 -I"$tmp/emb" "$tmp/emb/app.c" "$tmp/emb/ffn.o" -lm -o "$tmp/emb/app"
c=$("$tmp/emb/app" "$tmp/ffn.safetensors")
echo "cmake:    $a"
echo "makefile: $b"
echo "embedded: $c"
[ "$a" = "$b" ] || { echo "FAIL: the two builds disagree"; exit 1; }
[ "$a" = "$c" ] || { echo "FAIL: the embedded-weights object disagrees"; exit 1; }
case $a in ffn:*) ;; *) echo "FAIL: unexpected output"; exit 1 ;; esac
echo "install: ok"
