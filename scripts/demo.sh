#!/usr/bin/env bash
# make demo: the main job on the shipped examples.  Until code generation
# lands (issues 4-7) the job is the front end and the fusion planner: check
# every example, then show how the SwiGLU feed-forward block and the LLaMA
# MLP block fuse into kernels, and what a model with mistakes looks like.
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
echo "== a model with mistakes (diagnostics as clang prints them)"
"$actc" check examples/errors/typo.act || echo "(exit status $? — as expected)"
