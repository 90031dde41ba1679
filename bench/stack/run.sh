#!/usr/bin/env bash
# bench/stack/run.sh — what a stack of identical layers costs against one
# layer (issue 22's targets): compile time, machine code and scratch per row
# of examples/llama_mlp_stack.act at several depths, AOT for one ISA
# variant, medians of 5 compiles.  Prints a markdown table.
#
#   bench/stack/run.sh [--build DIR] [--cpu NAME] [DEPTH...]   (default: build, x86-64-v3, 1 2 8 32)
#
# Scratch per row: `actc bench`'s scratch line (the JIT's description; the
# AOT object's is the same layout).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
cpu=x86-64-v3
depths=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    *) depths+=("$1"); shift ;;
  esac
done
[ ${#depths[@]} -gt 0 ] || depths=(1 2 8 32)
actc=$build/actc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/stack/run.sh --cpu $cpu ${depths[*]}"
echo
echo "| layers | kernels | compile s (median of 5) | vs 1 layer | .text bytes | vs 1 layer | scratch floats per row | vs 1 layer |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
base_t= base_x= base_s=
for L in "${depths[@]}"; do
  src=$tmp/stack$L.act
  sed "s/const LAYERS = 4/const LAYERS = $L/" "$root/examples/llama_mlp_stack.act" > "$src"
  times=()
  for r in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$actc" compile "$src" -o "$tmp/s$L.o" --header "$tmp/s$L.h" --cpu "$cpu" --prefix s >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  t=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
  text=$(size -A "$tmp/s$L.o" | awk '$1 == ".text" {print $2}')
  kernels=$("$actc" dump "$src" --fused | sed -n '1s/.*: \([0-9]*\) kernels.*/\1/p')
  scratch=$("$actc" bench "$src" --batch 1 --reps 1 | awk '/^scratch:/ {print $2}')
  [ -n "$base_t" ] || { base_t=$t; base_x=$text; base_s=$scratch; }
  printf "| %s | %s | %.3f | %.2f | %s | %.2f | %s | %.2f |\n" "$L" "$kernels" "$t" "$(echo "$t / $base_t" | bc -l)" "$text" \
    "$(echo "$text / $base_x" | bc -l)" "$scratch" "$(echo "$scratch / $base_s" | bc -l)"
done
