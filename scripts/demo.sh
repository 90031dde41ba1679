#!/usr/bin/env bash
# make demo: the main job on the shipped examples: check every example, show
# how the SwiGLU feed-forward block and the LLaMA MLP block fuse into
# kernels, JIT-compile the feed-forward block and run it (the host program
# of docs/api.md on generated weights, then actc bench), and show what a
# model with mistakes looks like.  (The AOT digits demo is issue 10.)
set -euo pipefail
build=${1:-build}
actc="$build/actc"
echo "== actc $("$actc" --version | cut -d' ' -f2): checking every example"
for f in examples/*.act; do
  "$actc" check "$f"
  echo "ok   $f"
done
for f in examples/ffn.act examples/residual_rmsnorm.act; do
  echo
  echo "== actc dump --fused $f"
  "$actc" dump --fused "$f"
done
echo
echo "== the host program of docs/api.md: JIT-compile examples/ffn.act and run it"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 examples/host/make_weights.py "$tmp/ffn.safetensors" > /dev/null
cc -std=c99 -O2 -Iinclude examples/host/main.c "$build/libactc.a" "$build/libactrt.a" \
   -L/usr/lib/llvm-19/lib -lLLVM -ljansson -lm -lpthread -fopenmp -o "$tmp/host"
"$tmp/host" examples/ffn.act "$tmp/ffn.safetensors"
echo
echo "== actc bench examples/ffn.act --batch 64 -w ffn.safetensors"
"$actc" bench examples/ffn.act --batch 64 -w "$tmp/ffn.safetensors"
echo
echo "== a model with mistakes (diagnostics as clang prints them)"
"$actc" check examples/errors/typo.act || echo "(exit status $? — as expected)"
