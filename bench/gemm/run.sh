#!/usr/bin/env bash
# bench/gemm/run.sh — build bench_gemm against an actc build and run it.
#
#   bench/gemm/run.sh [--build DIR] [--separate] [--torch|--no-torch] [--scaling T] [bench_gemm options...]
#
#   --build DIR   the actc build tree with libactc.a and libactrt.a
#                 (default: $ACTC_BUILD, else <repo>/build)
#   --torch       also run the PyTorch peer (torch_peer.py, with /usr/bin/python3)
#                 in its own process right after bench_gemm, and print a
#                 merged table: actc/torch per case, geometric means per M.
#                 On by default when /usr/bin/python3 can import torch
#   --no-torch    do not
#   --separate    run each peer in its own process (for --threads > 1, where
#                 OpenBLAS's pthreads and the OpenMP threads of actc and
#                 oneDNN would compete in one process); no actc/peer ratios then
#   --priority N  run in a session of its own (setsid) whose autogroup has
#                 nice N (e.g. -10; needs root or CAP_SYS_NICE).  With
#                 autogroups (kernel.sched_autogroup_enabled=1) a `nice 19`
#                 job in another session still gets a fair share of the CPUs
#                 against this one, so T threads get ~1 CPU; see the README
#   --scaling T   thread scaling instead of the peer comparison: actc, then
#                 oneDNN (pre-packed weights), each in its own process, each
#                 at 1 and at T threads alternating (bench_gemm --scaling T);
#                 default grid M 256,1024 on the large shapes; then a merged
#                 table of the speedups.  No PyTorch run.
#   anything else goes to bench_gemm (and the grid options to torch_peer.py):
#                 --quick, --m, --shapes, --acts, --peers, --threads, --reps,
#                 --min-ms, --tol, --seed, --csv, --verbose (see --help)
#
# With --csv FILE the harness's CSV is FILE, PyTorch's FILE minus .csv plus
# .torch.csv, and under --scaling one FILE.<peer>.csv per process.
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset here, for this script and
# the processes it starts only: set in the environment of these machines,
# they hold OpenBLAS to its AVX2 kernels.  Never unset them globally.
set -euo pipefail
orig_args=("$@")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ACTC_BUILD:-$root/build}
py=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
separate=0
torch=auto
scaling=0
csvfile=
priority=
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    --separate) separate=1; shift ;;
    --torch) torch=1; shift ;;
    --no-torch) torch=0; shift ;;
    --scaling) scaling=$2; shift 2 ;;
    --priority) priority=$2; shift 2 ;;
    --csv) csvfile=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -n "$priority" ]; then
  if [ -z "${BENCH_GEMM_SESSION:-}" ]; then
    exec env BENCH_GEMM_SESSION=1 setsid --wait "$0" "${orig_args[@]}"
  fi
  if ! echo "$priority" > /proc/self/autogroup 2>/dev/null; then
    echo "run.sh: --priority: cannot set the autogroup's nice to $priority (root or CAP_SYS_NICE needed)" >&2
    exit 1
  fi
fi

unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

if [ ! -f "$build/libactc.a" ] || [ ! -f "$build/libactrt.a" ]; then
  echo "run.sh: no libactc.a / libactrt.a in $build: build actc first (make), or pass --build DIR" >&2
  exit 1
fi
if ! "$root/scripts/install-bench-deps.sh" --check --no-torch; then
  exit 1
fi
if [ "$scaling" != 0 ]; then
  torch=0
elif [ "$torch" = auto ]; then
  if "$py" -c 'import torch' 2>/dev/null; then torch=1; else torch=0; fi
fi
if [ "$torch" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null; then
  echo "run.sh: --torch: $py cannot import torch (scripts/install-bench-deps.sh installs python3-torch)" >&2
  exit 1
fi

make -s -C "$here" ACTC_BUILD="$(cd "$build" && pwd)"

tmp=$(mktemp -d /tmp/bench_gemm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
base=${csvfile:+${csvfile%.csv}}
hcsv=${csvfile:-$tmp/bench_gemm.csv}
tcsv=${base:+$base.torch.csv}
tcsv=${tcsv:-$tmp/torch.csv}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), nproc $(nproc), $(uname -m); load $(cut -d' ' -f1-3 /proc/loadavg); scheduler autogroup of this run: $(cat /proc/self/autogroup 2>/dev/null || echo '-')"
echo "actc build: $build (libactc.a of $(date -u -r "$build/libactc.a" '+%Y-%m-%d %H:%M UTC')); source tree $root at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' with uncommitted changes')"

status=0
if [ "$scaling" != 0 ]; then
  csvs=()
  for p in actc dnnl-packed; do
    c=${base:+$base.$p.csv}
    c=${c:-$tmp/scaling.$p.csv}
    csvs+=("$c")
    echo
    echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $here/bench_gemm --scaling $scaling --peers $p ${args[*]:-} --csv $c"
    "$here/bench_gemm" --scaling "$scaling" --peers "$p" "${args[@]}" --csv "$c" || status=$?
  done
  python3 "$here/merge.py" scaling "${csvs[@]}"
  echo
  echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit $status
fi

if [ $separate -eq 0 ]; then
  echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $here/bench_gemm ${args[*]:-} --csv $hcsv"
  "$here/bench_gemm" "${args[@]}" --csv "$hcsv" || status=$?
else
  for p in actc openblas dnnl dnnl-packed; do
    echo
    echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $here/bench_gemm --peers $p ${args[*]:-}"
    "$here/bench_gemm" --peers "$p" "${args[@]}" || status=$?
  done
fi

if [ "$torch" = 1 ]; then
  echo
  echo "PyTorch peer, in its own process (its own OpenMP and OpenBLAS threads), after bench_gemm:"
  echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $py $here/torch_peer.py ${args[*]:-} --csv $tcsv"
  "$py" "$here/torch_peer.py" "${args[@]}" --csv "$tcsv" || status=$?
  if [ $separate -eq 0 ] && [ -s "$hcsv" ] && [ -s "$tcsv" ]; then
    python3 "$here/merge.py" torch "$hcsv" "$tcsv"
  fi
  echo
  echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
exit $status
