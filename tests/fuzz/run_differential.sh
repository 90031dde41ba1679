#!/usr/bin/env bash
# tests/fuzz/run_differential.sh BUILD TOTAL [STATE] — the differential
# generator of docs/reliability.md: random well-typed models (test_jit's
# seeded generator: widths 1..514, dense, gates, user activations, row ops,
# several outputs, batch 1..67) JIT-compiled and compared with the
# double-precision interpreter, in chunks of 1000 seeds starting after the
# last seed recorded in STATE (default BUILD/differential.state), until
# TOTAL seeds are done.  Resumable; stops at the first failing chunk, whose
# output names the seed and prints the model.
set -euo pipefail
build=$1 total=$2 state=${3:-$1/differential.state}
done_seeds=$(cat "$state" 2>/dev/null || echo 0)
while [ "$done_seeds" -lt "$total" ]; do
    n=$(( total - done_seeds < 1000 ? total - done_seeds : 1000 ))
    first=$(( 1000000 + done_seeds + 1 ))     # above the 1..200 of make test
    if ! ACTC_JIT_FIRST_SEED=$first ACTC_JIT_MODELS=$n "$build/tests/test_jit" --filter 'jit/random*' \
            > "$state.chunk.log" 2>&1; then
        cat "$state.chunk.log"   # names the seed, its error and the model
        exit 1
    fi
    tail -2 "$state.chunk.log"
    done_seeds=$(( done_seeds + n ))
    echo "$done_seeds" > "$state"
    echo "differential: $done_seeds of $total models agree with the interpreter"
done
