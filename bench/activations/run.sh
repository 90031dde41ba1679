#!/usr/bin/env bash
# bench/activations/run.sh — build bench_act against an actc build, run it and
# keep the result in bench/results/<date>-activations.{md,csv} (UTC date).
#
#   bench/activations/run.sh [--build DIR] [--priority N] [--out PREFIX] [bench_act options...]
#
#   --build DIR   the actc build tree with libactc.a and libactrt.a
#                 (default: $ACTC_BUILD, else <repo>/build)
#   --priority N  run in a session of its own (setsid) whose autogroup has
#                 nice N (e.g. -10; needs root or CAP_SYS_NICE), as
#                 bench/gemm/run.sh does: with autogroups a `nice 19` job in
#                 another session still takes a fair share of the CPUs
#   --out PREFIX  write PREFIX.md and PREFIX.csv instead (default
#                 bench/results/<date>-activations, or ...-activations-quick
#                 under --quick)
#   anything else goes to bench_act: --quick, --sizes, --acts, --impls,
#                 --reps, --min-ms, --sample, --gross, --seed, --verbose
#                 (bench/activations/bench_act --help)
#
# The .md file is bench_act's output (markdown: the machine, one table per
# size) followed by the list of the gcc-fastmath loops that gcc vectorised
# (`make vec-report`: objdump of peer_fastmath.o).  A full run (1 Mi and
# 64 Mi floats, 9 activations, 6 implementations) takes about 5 minutes.
set -euo pipefail
orig_args=("$@")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ACTC_BUILD:-$root/build}
priority=
out=
quick=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    --priority) priority=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --csv) echo "run.sh: the CSV is <--out>.csv; use --out PREFIX" >&2; exit 1 ;;
    --quick) quick=1; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -n "$priority" ]; then
  if [ -z "${BENCH_ACT_SESSION:-}" ]; then
    exec env BENCH_ACT_SESSION=1 setsid --wait "$0" "${orig_args[@]}"
  fi
  if ! echo "$priority" > /proc/self/autogroup 2>/dev/null; then
    echo "run.sh: --priority: cannot set the autogroup's nice to $priority (root or CAP_SYS_NICE needed)" >&2
    exit 1
  fi
fi

if [ ! -f "$build/libactc.a" ] || [ ! -f "$build/libactrt.a" ]; then
  echo "run.sh: no libactc.a / libactrt.a in $build: build actc first (make), or pass --build DIR" >&2
  exit 1
fi
if ! "$root/scripts/install-bench-deps.sh" --check --no-torch; then
  exit 1
fi
build=$(cd "$build" && pwd)
# the source tree of that build (CMakeCache.txt): its headers, its revision
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[ -n "$src" ] && [ -d "$src/include/actc" ] || src=$root
make -B -s -C "$here" BUILD="$build" ACTC_INCLUDE="$src/include"   # -B: the headers may differ between builds

if [ -z "$out" ]; then
  out=$root/bench/results/$(date -u +%Y-%m-%d)-activations
  [ $quick -eq 1 ] && out=$out-quick
fi
mkdir -p "$(dirname "$out")"

if rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
  git -C "$src" diff --quiet 2>/dev/null || rev="$rev with uncommitted changes"
else
  rev="not a git checkout"
fi
note_build="actc build: $build (libactc.a of $(date -u -r "$build/libactc.a" '+%Y-%m-%d %H:%M UTC')); source tree $src ($rev)"
note_sched="scheduler: autogroup of this run: $(cat /proc/self/autogroup 2>/dev/null || echo '-')"

status=0
"$here/bench_act" "${args[@]}" --note "$note_build" --note "$note_sched" --csv "$out.csv" | tee "$out.md" \
  || status=$?
{
  echo
  echo "## gcc-fastmath: the math calls of each loop (objdump of peer_fastmath.o)"
  echo
  echo "_ZGVeN16v_* are libmvec's 16-lane AVX-512 functions (the main loop), _ZGVdN8v_* its"
  echo "8-lane AVX2 ones (one step of the remainder), plain names scalar calls (the last < 8 elements)."
  echo
  echo '```'
  make -s -C "$here" BUILD="$build" ACTC_INCLUDE="$src/include" vec-report
  echo '```'
} | tee -a "$out.md"
echo
echo "run.sh: wrote $out.md and $out.csv" >&2
exit $status
