#!/usr/bin/env bash
# Every example's kernel graph (actc dump --dot) must render with Graphviz
# and show one cluster per kernel.
set -u
actc=$1 dir=$2
if ! command -v dot >/dev/null; then
  echo "dot (Debian package 'graphviz') is not installed: run scripts/install-deps.sh"; exit 1
fi
fail=0 n=0
for f in "$dir"/*.act; do
  n=$((n+1))
  gv=$("$actc" dump --dot "$f") || { echo "FAIL $f: actc dump --dot failed"; fail=$((fail+1)); continue; }
  kernels=$("$actc" dump --fused "$f" | grep -c '^kernel ')
  clusters=$(printf '%s' "$gv" | grep -c 'subgraph cluster_k')
  if [ "$kernels" != "$clusters" ]; then
    echo "FAIL $f: $kernels kernels but $clusters clusters"; fail=$((fail+1)); continue
  fi
  svg=$(printf '%s' "$gv" | dot -Tsvg 2>&1) || { echo "FAIL $f: dot -Tsvg: $svg"; fail=$((fail+1)); continue; }
  printf '%s' "$svg" | grep -q '<svg' || { echo "FAIL $f: no svg output"; fail=$((fail+1)); }
done
echo "dot: $((n-fail))/$n rendered"
[ $fail -eq 0 ] && [ $n -gt 0 ]
