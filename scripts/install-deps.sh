#!/usr/bin/env bash
# Install, on Debian 12, every package actc needs to build, test and run its demo.
# Idempotent: only missing packages are installed. Run as root (or with sudo available).
# Usage: scripts/install-deps.sh [--check]   (--check: report what is missing, install nothing)
set -euo pipefail

# Build and test dependencies (issue 2 onwards).
PKGS=(
  build-essential cmake pkg-config make
  flex bison
  llvm-19-dev clang-19 libclang-rt-19-dev
  libcriterion-dev
  libjansson-dev
  libmpfr-dev
  graphviz librsvg2-bin
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  zlib1g-dev libzstd-dev libxml2-dev libedit-dev libffi-dev libncurses-dev
  python3
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [ $check_only -eq 1 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run 'sudo scripts/install-deps.sh' to install them" >&2
  exit 1
fi

if [ ! -r /etc/debian_version ]; then
  echo "install-deps: this script supports Debian 12 only; install these packages yourself: ${missing[*]}" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
