#!/usr/bin/env bash
# make demo: the main job on a real trained model, then a tour.
#  1. examples/digits: a digit classifier trained with PyTorch: its fusion
#     report, AOT compile with embedded weights, a C host program that
#     classifies the held-out split, its accuracy against PyTorch's and the
#     latency.
#  2. every example checks; the SwiGLU feed-forward block JIT-compiled from C
#     (the host program of docs/api.md) and benchmarked; a model with mistakes.
set -euo pipefail
build=${1:-build}
actc="$build/actc"
echo "== examples/digits: a handwritten-digit classifier trained with PyTorch (examples/digits/README.md)"
echo "== actc dump --fused examples/digits/digits.act"
"$actc" dump --fused examples/digits/digits.act
echo
echo "== actc compile digits.act --embed-weights digits.safetensors; cc main.c digits.o; ./digits"
examples/digits/run.sh "$build"
echo
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
