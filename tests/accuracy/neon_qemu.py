#!/usr/bin/env python3
"""The precise tier's activations as AArch64 (NEON) code, sampled under
qemu-aarch64 (docs/accuracy.md §3.1): one model returning every activation
of ACTS of the same input, compiled with `actc compile --target
aarch64-linux-gnu --embed-weights` (an empty weights file: the object links
with libc alone), a C driver cross-compiled and run under qemu on N random
f32 bit patterns (every exponent, sign, NaN, inf) plus the edge values, and
each output measured against the double reference by `actc-accuracy
--check` (the same bounds as test_vmath: 1 ULP for sigmoid and tanh, 4 for
the activations).

usage: neon_qemu.py ACTC ACCURACY_TOOL [--samples N] [--cpu QEMU_CPU] [--keep DIR]
Exit status: 0 all within their bounds, 1 a bound exceeded or a step failed,
77 (skipped) without aarch64-linux-gnu-gcc, qemu-aarch64 or the AArch64 libc.
"""
import array
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ACTS = ["sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "quick_gelu", "mish", "elu", "selu", "softplus",
        "logsigmoid", "softsign", "tanhshrink", "hardswish"]
EDGES = [0.0, -0.0, 2 ** -149, -2 ** -149, 2 ** -126, 1.0, -1.0, 3.4028234663852886e38, -3.4028234663852886e38,
         float("inf"), float("-inf"), float("nan"), 88.72, -88.72, 103.97, -103.97, -11.15, -13.0, 20.0, -20.0,
         0.5, -0.5, 3.0, -3.0, 9.0, -9.0, 1e-8, -1e-8]
W = 1024  # features per row

DRIVER = r'''
#include <stdio.h>
#include <stdlib.h>
#include "neon.h"

int main(int argc, char **argv) {
    if (argc != 3 + NEON_NUM_OUTPUTS) return 2;
    long long batch = atoll(argv[1]);
    size_t n = (size_t)batch * 1024;
    float *x = malloc(n * sizeof(float));
    FILE *f = fopen(argv[2], "rb");
    if (!x || !f || fread(x, sizeof(float), n, f) != n) return 2;
    fclose(f);
    float *out[NEON_NUM_OUTPUTS];
    for (int i = 0; i < NEON_NUM_OUTPUTS; i++)
        if (!(out[i] = malloc(n * sizeof(float)))) return 2;
    neon_model *m;
    if (neon_create(&m, NULL) != 0) { fprintf(stderr, "create: %s\n", neon_last_error(NULL)); return 1; }
    const float *in[1] = {x};
    if (neon_run_arrays(m, batch, in, out) != 0) { fprintf(stderr, "run: %s\n", neon_last_error(m)); return 1; }
    for (int i = 0; i < NEON_NUM_OUTPUTS; i++) {
        FILE *o = fopen(argv[3 + i], "wb");
        if (!o || fwrite(out[i], sizeof(float), n, o) != n) return 2;
        fclose(o);
    }
    neon_destroy(m);
    return 0;
}
'''


def main(argv):
    args, samples, qcpu, keep = [], 1 << 18, "neoverse-n1", None
    it = iter(argv)
    for a in it:
        if a == "--samples":
            samples = int(next(it))
        elif a == "--cpu":
            qcpu = next(it)
        elif a == "--keep":
            keep = next(it)
        else:
            args.append(a)
    if len(args) != 2:
        print(__doc__)
        return 2
    actc, tool = args
    cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if not cc or not qemu or not os.path.isdir("/usr/aarch64-linux-gnu"):
        print("skip: install gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (scripts/install-deps.sh)")
        return 77
    tmp = keep or tempfile.mkdtemp(prefix="actc-neon-")
    os.makedirs(tmp, exist_ok=True)
    p = lambda name: os.path.join(tmp, name)
    lines = ["# tests/accuracy/neon_qemu.py: every activation of the same input",
             "model neon(x: f32[batch, %d]) -> (%s) {" % (W, ", ".join("y_%s: f32[batch, %d]" % (a, W) for a in ACTS))]
    lines += ["    y_%s = %s(x)" % (a, a) for a in ACTS]
    lines += ["    return " + ", ".join("y_" + a for a in ACTS), "}", ""]
    with open(p("neon.act"), "w") as f:
        f.write("\n".join(lines))
    with open(p("empty.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 2) + b"{}")

    def run(cmd, what):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: %s exited %d:\n%s%s" % (what, r.returncode, r.stdout, r.stderr))
        return r
    if run([actc, "compile", p("neon.act"), "-o", p("neon.o"), "--header", p("neon.h"), "--prefix", "neon",
            "--target", "aarch64-linux-gnu", "--embed-weights", p("empty.safetensors")], "actc compile").returncode:
        return 1
    with open(p("driver.c"), "w") as f:
        f.write(DRIVER)
    if run([cc, "-std=c99", "-O1", "-I", tmp, p("driver.c"), p("neon.o"), "-lpthread", "-o", p("driver")],
           "cross build").returncode:
        return 1
    rows = (samples + W - 1) // W
    rng = random.Random(20261203)
    xs = array.array("f", EDGES)
    bits = array.array("I", (rng.getrandbits(32) for _ in range(rows * W - len(EDGES))))
    xs.frombytes(bits.tobytes())
    with open(p("x.bin"), "wb") as f:
        f.write(xs.tobytes())
    outs = [p("y_%s.bin" % a) for a in ACTS]
    if run([qemu, "-cpu", qcpu, "-L", "/usr/aarch64-linux-gnu", p("driver"), str(rows), p("x.bin"), *outs],
           "qemu-aarch64 -cpu " + qcpu).returncode:
        return 1
    bad = 0
    print("| function | ISA | max ULP | where | mean ULP | special mismatches | bound |\n|---|---|---|---|---|---|---|")
    for a, o in zip(ACTS, outs):
        r = subprocess.run([tool, "--check", a, p("x.bin"), o, "--label", "neon"], capture_output=True, text=True)
        print("\n".join(l for l in r.stdout.splitlines() if l.startswith("| " + a)) or r.stdout + r.stderr)
        bad += r.returncode != 0
    print("neon (qemu -cpu %s): %d activations, %d samples each, %s" % (qcpu, len(ACTS), rows * W,
                                                                     "all within their bounds" if not bad else "%d FAILED" % bad))
    if not bad and not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
