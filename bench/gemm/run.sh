#!/usr/bin/env bash
# bench/gemm/run.sh — build bench_gemm against an actc build and run it.
#
#   bench/gemm/run.sh [--build DIR] [--separate] [--torch] [bench_gemm options...]
#
#   --build DIR   the actc build tree with libactc.a and libactrt.a
#                 (default: $ACTC_BUILD, else <repo>/build)
#   --separate    run each peer in its own process (for --threads > 1, where
#                 OpenBLAS's pthreads and oneDNN's OpenMP threads would
#                 compete in one process); no actc/peer ratios then
#   --torch       also run the PyTorch peer (bench_torch.py, its own process)
#   anything else goes to bench_gemm: --quick, --m, --shapes, --acts, --peers,
#                 --threads, --reps, --min-ms, --csv, --verbose (see --help)
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset here, for this script and
# the processes it starts only: set in the environment of these machines,
# they hold OpenBLAS to its AVX2 kernels.  Never unset them globally.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ACTC_BUILD:-$root/build}
separate=0
torch=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    --separate) separate=1; shift ;;
    --torch) torch=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

if [ ! -f "$build/libactc.a" ] || [ ! -f "$build/libactrt.a" ]; then
  echo "run.sh: no libactc.a / libactrt.a in $build: build actc first (make), or pass --build DIR" >&2
  exit 1
fi
if ! "$root/scripts/install-bench-deps.sh" --check --no-torch; then
  exit 1
fi

make -s -C "$here" ACTC_BUILD="$(cd "$build" && pwd)"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), nproc $(nproc), $(uname -m)"
echo "actc build: $build (libactc.a of $(date -u -r "$build/libactc.a" '+%Y-%m-%d %H:%M UTC')); source tree $root at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' with uncommitted changes')"

if [ $separate -eq 0 ]; then
  echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $here/bench_gemm ${args[*]:-}"
  "$here/bench_gemm" "${args[@]}"
else
  for p in actc openblas dnnl dnnl-packed; do
    echo
    echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $here/bench_gemm --peers $p ${args[*]:-}"
    "$here/bench_gemm" --peers "$p" "${args[@]}"
  done
fi

if [ $torch -eq 1 ]; then
  py=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
  echo
  echo "command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $py $here/bench_torch.py ${args[*]:-}"
  "$py" "$here/bench_torch.py" "${args[@]}"
fi
