#!/usr/bin/env bash
# examples/digits/run.sh BUILD — the digits demo (make demo, and e2e.digits in
# make test): compile digits.act ahead of time with its trained weights
# embedded, link main.c against the object (libactrt only for reading the
# .npy files), classify the held-out split and compare with PyTorch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
src=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-cc}
"$build/actc" compile "$here/digits.act" -o "$tmp/digits.o" --header "$tmp/digits.h" \
    --embed-weights "$here/digits.safetensors"
$cc -std=c99 -O2 -Wall -Wextra -Werror -I"$tmp" -I"$src/include" "$here/main.c" "$tmp/digits.o" \
    "$build/libactrt.a" -ljansson -fopenmp -lm -o "$tmp/digits"
"$tmp/digits" "$here"
