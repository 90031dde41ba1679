#!/usr/bin/env bash
# Install, on Debian 12, the peers that bench/gemm and bench/activations
# measure actc against:
#   OpenBLAS (cblas_sgemm, pthreads build), oneDNN 2.x (dnnl.h C API), SLEEF
#   3.5 (sleef.h, bench/activations) and, optionally, PyTorch CPU
#   (python3-torch) for bench/gemm/bench_torch.py.
# Benchmarks only: nothing in the build or the tests needs these.
# Idempotent: only missing packages are installed. Run as root (or with sudo).
# Usage: scripts/install-bench-deps.sh [--check] [--no-torch]
#   --check     report what is missing, install nothing (exit 1 if anything is)
#   --no-torch  leave out python3-torch (large: ~1 GB with its dependencies)
set -euo pipefail

check_only=0
with_torch=1
for a in "$@"; do
  case "$a" in
    --check) check_only=1 ;;
    --no-torch) with_torch=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-bench-deps: unknown option '$a'" >&2; exit 1 ;;
  esac
done

# libopenblas-dev brings cblas.h and libopenblas.so; libopenblas0-pthread is
# named so that the pthreads variant (not the OpenMP or serial one) is the
# one the bench links.  libdnnl-dev is oneDNN 2.6 with its OpenMP runtime.
# libsleef-dev is SLEEF 3.5.1 (sleef.h, libsleef.so) for bench/activations.
PKGS=(build-essential pkg-config libopenblas-dev libopenblas0-pthread libdnnl-dev libsleef-dev)
[ $with_torch -eq 1 ] && PKGS+=(python3 python3-torch python3-numpy)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-bench-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ $check_only -eq 1 ]; then
  echo "install-bench-deps: missing packages: ${missing[*]}" >&2
  echo "install-bench-deps: run 'sudo scripts/install-bench-deps.sh' to install them" >&2
  exit 1
fi

if [ ! -r /etc/debian_version ]; then
  echo "install-bench-deps: this script supports Debian 12 only; install these yourself: ${missing[*]}" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-bench-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-bench-deps: done"
