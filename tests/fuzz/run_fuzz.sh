#!/bin/sh
# run_fuzz.sh — build the libFuzzer harnesses (clang-19, ASan + UBSan +
# libFuzzer) and run each one for a time or a number of executions, one
# process at a time; print the executions reached and every finding
# (docs/reliability.md).
#
#   tests/fuzz/run_fuzz.sh [-B BUILD] [-t SECONDS | -n RUNS] [-o OUT] [-N] [HARNESS...]
#
#   -B BUILD    build directory (default: build-fuzz); configured with
#               -DCMAKE_C_COMPILER=clang-19 -DACTC_SANITIZE=ON -DACTC_FUZZ=ON
#   -t SECONDS  fuzz each harness for SECONDS of wall time (default 60); after a
#               finding the harness is restarted for the time that is left
#   -n RUNS     instead: exactly RUNS executions per harness, fixed seed (CI);
#               stops at the first finding
#   -o OUT      where corpora, logs and artifacts go (default: BUILD/fuzz-out);
#               the generated corpus is kept between runs and grows
#   -N          do not (re)build
#   HARNESS     front, compile, safetensors, npy, variant, profile (default: all six)
#
# Environment: FUZZ_NICE (default 10), FUZZ_JOBS (build jobs, default 2),
# FUZZ_ARGS (extra libFuzzer flags), FUZZ_CMAKE_ARGS (extra configure flags).
# Exit status: 0 no findings, 1 findings, 2 usage or build error.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build="build-fuzz"
seconds=60
runs=
out=
do_build=1
while getopts B:t:n:o:N opt; do
    case $opt in
    B) build=$OPTARG ;;
    t) seconds=$OPTARG ;;
    n) runs=$OPTARG ;;
    o) out=$OPTARG ;;
    N) do_build= ;;
    *) sed -n '2,22p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
harnesses=${*:-front compile safetensors npy variant profile}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
out=${out:-$build/fuzz-out}
nice_level=${FUZZ_NICE:-10}

for h in $harnesses; do
    case $h in front | compile | safetensors | npy | variant | profile) ;; *) echo "run_fuzz.sh: unknown harness '$h'" >&2; exit 2 ;; esac
done

if [ -n "$do_build" ]; then
    command -v clang-19 >/dev/null || { echo "run_fuzz.sh: clang-19 not found (Debian: clang-19, libclang-rt-19-dev)" >&2; exit 2; }
    # OpenMP for clang-19: its own libomp (libomp-19-dev) if installed, else
    # the libomp of another LLVM (Debian's libomp-dev is LLVM 14's): its omp.h
    # alone in an include directory, so that its other headers stay out
    set --
    printf '#include <omp.h>\nint main(void) { return omp_get_max_threads(); }\n' >"$build.omp.c"
    if ! clang-19 -fopenmp "$build.omp.c" -o "$build.omp" 2>/dev/null; then
        for v in 20 19 18 17 16 15 14; do
            lib=/usr/lib/llvm-$v/lib/libomp.so
            hdr=$(find /usr/lib/llvm-$v/lib/clang -name omp.h 2>/dev/null | head -1)
            if [ -e "$lib" ] && [ -n "$hdr" ]; then
                mkdir -p "$build/omp-include"
                ln -sf "$hdr" "$build/omp-include/omp.h"
                set -- "-DOpenMP_C_FLAGS=-fopenmp=libomp -isystem $build/omp-include" \
                    -DOpenMP_C_LIB_NAMES=omp "-DOpenMP_omp_LIBRARY=$lib"
                break
            fi
        done
    fi
    rm -f "$build.omp.c" "$build.omp"
    # shellcheck disable=SC2086
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang-19 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DACTC_SANITIZE=ON -DACTC_FUZZ=ON "$@" ${FUZZ_CMAKE_ARGS:-} >"$build.configure.log" 2>&1 ||
        { cat "$build.configure.log" >&2; exit 2; }
    targets=
    for h in $harnesses; do targets="$targets fuzz_$h"; done
    # shellcheck disable=SC2086
    nice -n "$nice_level" cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target $targets >"$build.build.log" 2>&1 ||
        { tail -50 "$build.build.log" >&2; exit 2; }
fi

if command -v llvm-symbolizer-19 >/dev/null; then
    ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-19)
    export ASAN_SYMBOLIZER_PATH
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:symbolize=1:handle_abort=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Per harness: max_len, timeout (s), dictionary.
params() {
    case $1 in
    front) echo "4096 10 act.dict" ;;
    compile) echo "4096 30 act.dict" ;;
    safetensors) echo "65536 10 safetensors.dict" ;;
    npy) echo "65536 10 npy.dict" ;;
    variant) echo "1024 10 variant.dict" ;;
    profile) echo "4096 10 profile.dict" ;;
    esac
}

# Executions in a libFuzzer log: the final stats, else the last status line.
execs_in() {
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
    [ -n "$n" ] || n=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$1" | tail -1)
    echo "${n:-0}"
}

summary=
status=0
for h in $harnesses; do
    bin=$build/tests/fuzz/fuzz_$h
    [ -x "$bin" ] || { echo "run_fuzz.sh: $bin not built" >&2; exit 2; }
    # shellcheck disable=SC2046
    set -- $(params "$h")
    max_len=$1 timeout=$2 dict=$3
    dir=$out/$h
    mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/artifacts.old"
    # findings of earlier runs were reported then; keep them aside
    find "$dir/artifacts" -type f -exec mv {} "$dir/artifacts.old/" \;
    rm -f "$dir"/log.[0-9]*.txt
    : >"$dir/log.txt"
    total=0
    start=$(date +%s)
    attempt=0
    while :; do
        attempt=$((attempt + 1))
        if [ -n "$runs" ]; then
            budget="-runs=$((runs - total)) -seed=1"
        else
            left=$((seconds - ($(date +%s) - start)))
            [ "$left" -gt 0 ] || break
            budget="-max_total_time=$left"
        fi
        log=$dir/log.$attempt.txt
        rc=0
        # shellcheck disable=SC2086
        nice -n "$nice_level" "$bin" $budget -max_len="$max_len" -timeout="$timeout" -rss_limit_mb=4096 \
            -dict="$root/tests/fuzz/$dict" -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
            ${FUZZ_ARGS:-} "$dir/corpus" "$root/tests/fuzz/corpus/$h" >"$log" 2>&1 || rc=$?
        cat "$log" >>"$dir/log.txt"
        total=$((total + $(execs_in "$log")))
        [ "$rc" -ne 0 ] || break
        status=1
        echo "== $h: finding (exit $rc), log $log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*contract violated|.*internal error|artifact_prefix|Test unit written)' "$log" | head -8 >&2 || true
        # -n: stop at the first finding; -t: go on for the time left, unless it
        # keeps dying at once (a seed that crashes)
        if [ -n "$runs" ] || [ "$attempt" -ge 50 ]; then break; fi
        [ "$(execs_in "$log")" -gt 0 ] || break
    done
    elapsed=$(($(date +%s) - start))
    cov=$(grep -o 'cov: [0-9]*' "$dir/log.txt" | tail -1 | sed 's/cov: //')
    ncorpus=$(find "$dir/corpus" -type f | wc -l)
    nfind=$(find "$dir/artifacts" -type f | wc -l)
    summary="$summary$(printf '%-12s %12s execs %7ss %10s exec/s  cov %6s  corpus %6s  findings %s' \
        "$h" "$total" "$elapsed" "$((total / (elapsed > 0 ? elapsed : 1)))" "${cov:-?}" "$ncorpus" "$nfind")
"
    [ "$nfind" -eq 0 ] || status=1
    # harnesses may print how far inputs got (fuzz_compile: checked, compiled)
    extra=$(grep -h "^fuzz_$h: [0-9]* inputs" "$dir"/log.[0-9]*.txt 2>/dev/null |
        awk '{i += $2; c += $4; g += $6} END {if (NR) printf "%s inputs, %s checked, %s compiled", i, c, g}')
    [ -z "$extra" ] || summary="$summary             ($extra)
"
done

printf '\n%s' "$summary"
findings=$(for h in $harnesses; do find "$out/$h/artifacts" -type f; done | sort)
if [ -n "$findings" ]; then
    echo "findings (reproduce: $build/tests/fuzz/fuzz_HARNESS FILE):"
    echo "$findings" | sed 's/^/  /'
else
    echo "no findings"
fi
exit $status
