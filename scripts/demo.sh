#!/usr/bin/env bash
# make demo: the main job on the shipped examples.  Until code generation
# lands (issues 4-7) the job is the front end: check every example and show
# the checked program of the SwiGLU feed-forward block.
set -euo pipefail
build=${1:-build}
actc="$build/actc"
echo "== actc $("$actc" --version | cut -d' ' -f2): checking every example"
for f in examples/*.act; do
  "$actc" check "$f"
  echo "ok   $f"
done
echo
echo "== actc dump --ast examples/ffn.act"
"$actc" dump --ast examples/ffn.act
echo
echo "== a model with mistakes (diagnostics as clang prints them)"
"$actc" check examples/errors/typo.act || echo "(exit status $? — as expected)"
