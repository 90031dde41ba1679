#!/usr/bin/env python3
"""The exhaustive sweeps' state files as a markdown table (docs/accuracy.md §5).

    tests/accuracy/exhaustive/summary.py DIR:LABEL,LABEL,... [DIR:LABEL ...]

Each DIR holds state.p32.NAME files (accuracy_main.c's State: the next input
as a u64, then three AccStat of 64 bytes, host byte order); LABELs name the
ISAs of its first columns (the default sweep: avx512,avx2,scalar; --isa
runs: one).  Rows: function, ISA, reached, max ULP, where, mean ULP,
special mismatches."""
import glob, os, struct, sys

def stats(path, nisa):
    b = open(path, "rb").read()
    nxt = struct.unpack_from("<Q", b, 0)[0]
    out = []
    for i in range(nisa):
        o = 8 + 64 * i
        mx, = struct.unpack_from("<d", b, o)
        wx, = struct.unpack_from("<f", b, o + 8)
        sm, = struct.unpack_from("<d", b, o + 32)
        n, sp = struct.unpack_from("<QQ", b, o + 40)
        out.append((mx, wx, sm / n if n else 0.0, sp))
    return min(nxt, 1 << 32) / float(1 << 32), out

print("| function | ISA | reached | max ULP | where | mean ULP | special mismatches |")
print("|---|---|--:|--:|---|--:|--:|")
for arg in sys.argv[1:]:
    d, labels = arg.rsplit(":", 1)
    labels = labels.split(",")
    for path in sorted(glob.glob(os.path.join(d, "state.p32.*"))):
        name = os.path.basename(path)[len("state.p32."):]
        reached, st = stats(path, len(labels))
        for lab, (mx, wx, mean, sp) in zip(labels, st):
            print("| %s | %s | %.1f%% | %.3f | x = %.9g | %.4f | %d |" % (name, lab, 100 * reached, mx, wx, mean, sp))
