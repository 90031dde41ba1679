#!/bin/sh
# examples/host/run.sh — build and run the host example end to end, and check
# that the host program, `actc run` (JIT) and `actc run --reference` (the
# double-precision interpreter) agree on examples/ffn.act.
#
#   usage: examples/host/run.sh [BUILD_DIR]      (default: the repository's build/)
#
# BUILD_DIR holds libactc.a, libactrt.a and the actc binary (`make` builds
# them).  A relative BUILD_DIR is taken from the current directory.
# Environment: CC (default cc), PYTHON (default /usr/bin/python3, needs only
# the standard library; numpy enables the .npy comparisons), LLVM_LIBDIR
# (default: llvm-config-19 --libdir, else /usr/lib/llvm-19/lib).
#
# Steps:
#   1. cc -std=c99 -Wall -Wextra -pedantic -Werror main.c -> host
#   2. make_weights.py -> W.safetensors (seeded, stdlib only)
#   3. host examples/ffn.act W.safetensors           (batch of 4, x[i][j] = sin(i + j))
#   4. with numpy: X.npy (the same batch), then
#        actc run examples/ffn.act -w W.safetensors -i X.npy -o Y.npy
#        actc run examples/ffn.act -w W.safetensors -i X.npy -o R.npy --reference
#      and compare Y, R, an independent numpy float64 computation and the
#      values host printed; print the max abs differences.
# Exits non-zero on any failure.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -z "${LLVM_LIBDIR:-}" ]; then
    LLVM_LIBDIR=$(llvm-config-19 --libdir 2>/dev/null || echo /usr/lib/llvm-19/lib)
fi

fail() { echo "run.sh: FAIL: $*" >&2; exit 1; }
run() { echo "+ $*"; "$@"; } # show a command, then run it

for f in libactc.a libactrt.a actc; do
    [ -e "$BUILD/$f" ] || fail "$BUILD/$f not found (build first: make, or cmake --build $BUILD)"
done
[ -x "$PYTHON" ] || command -v "$PYTHON" >/dev/null 2>&1 || fail "no python at $PYTHON (set PYTHON=...)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/actc-host.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MODEL=$ROOT/examples/ffn.act

echo "== 1. build the host program against $BUILD"
run $CC -std=c99 -Wall -Wextra -pedantic -Werror -I"$ROOT/include" "$HERE/main.c" \
    "$BUILD/libactc.a" "$BUILD/libactrt.a" \
    -L"$LLVM_LIBDIR" -lLLVM -ljansson -lm -lpthread -fopenmp -o "$TMP/host" || fail "the host example does not build"

echo "== 2. generate the weights"
run "$PYTHON" "$HERE/make_weights.py" "$TMP/W.safetensors" || fail "make_weights.py exited with $?"

echo "== 3. host examples/ffn.act W.safetensors"
rc=0
echo "+ $TMP/host $MODEL $TMP/W.safetensors"
"$TMP/host" "$MODEL" "$TMP/W.safetensors" >"$TMP/host.out" || rc=$?
cat "$TMP/host.out"
[ "$rc" -eq 0 ] || fail "host exited with status $rc"
grep -q '^  output 0: output *f32\[4, 512\]$' "$TMP/host.out" || fail "host did not report output 'output' f32[4, 512]"
grep -q '^  input  0: x *f32\[4, 512\]$' "$TMP/host.out" || fail "host did not report input 'x' f32[4, 512]"

echo "== 4. actc run (JIT) vs actc run --reference"
if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "numpy is not available for $PYTHON: skipping the actc run comparison"
    echo "PASS (host only)"
    exit 0
fi
"$PYTHON" - "$TMP/X.npy" <<'EOF' || fail "cannot write X.npy"
import sys
import numpy as np
i = np.arange(4)[:, None]
j = np.arange(512)[None, :]
np.save(sys.argv[1], np.sin(i + j).astype(np.float32))  # what host feeds its model
EOF
ACTC=$BUILD/actc
run "$ACTC" run "$MODEL" -w "$TMP/W.safetensors" -i "$TMP/X.npy" -o "$TMP/Y.npy" || fail "actc run exited with $?"
run "$ACTC" run "$MODEL" -w "$TMP/W.safetensors" -i "$TMP/X.npy" -o "$TMP/R.npy" --reference ||
    fail "actc run --reference exited with $?"

"$PYTHON" - "$TMP" <<'EOF' || fail "the outputs disagree (see above)"
import json, re, struct, sys
import numpy as np

tmp = sys.argv[1]
y = np.load(tmp + "/Y.npy")      # JIT
ref = np.load(tmp + "/R.npy")    # double-precision reference interpreter, rounded to f32
x = np.load(tmp + "/X.npy").astype(np.float64)
ok = True

def check(what, got, want, tol):
    global ok
    d = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    good = d <= tol
    ok &= good
    print("%-34s max abs difference %.3g  (tolerance %.3g) %s" % (what, d, tol, "ok" if good else "FAIL"))

for name, a in (("Y.npy", y), ("R.npy", ref)):
    if a.dtype != np.float32 or a.shape != (4, 512) or not a.flags["C_CONTIGUOUS"]:
        print("%s: expected f32 [4, 512] in C order, got %s %s" % (name, a.dtype, a.shape))
        sys.exit(1)

# An independent computation: the weights straight from the safetensors file.
with open(tmp + "/W.safetensors", "rb") as f:
    raw = f.read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
def tensor(name):
    t = header[name]
    b, e = t["data_offsets"]
    return np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(t["shape"]).astype(np.float64)
g = x @ tensor("gate_proj.weight").T
u = x @ tensor("up_proj.weight").T
want = (g / (1.0 + np.exp(-g)) * u) @ tensor("down_proj.weight").T    # my_swish(a) * b, beta = 1

scale = max(1.0, float(np.max(np.abs(want))))
tol = 1e-5 * scale
check("JIT vs reference (actc run)", y, ref, tol)
check("reference vs numpy float64", ref, want, tol)
check("JIT vs numpy float64", y, want, tol)

# The values host printed (%.6f, the first 6 of each row) are the JIT's too.
rows = [l for l in open(tmp + "/host.out") if re.match(r"^  \[\d+\]", l)]
printed = np.array([[float(v) for v in l.split("]", 1)[1].split() if v != "..."] for l in rows])
if printed.shape != (4, 6):
    print("host printed %s values, expected 4 rows of 6" % (printed.shape,))
    sys.exit(1)
check("host (printed) vs actc run", printed, y[:, :6], 5e-7 + 1e-6)
sys.exit(0 if ok else 1)
EOF
echo "PASS"
