#!/usr/bin/env python3
"""AOT end to end (docs/aot.md): for each example, `actc compile` an object
and a header, build a C driver against the header and libactrt, run it on
the same weights and inputs as `actc run` (the JIT), and require
bitwise-identical outputs.  The headers must compile warning-free as C99 and
C++11 (-Wall -Wextra -pedantic -Werror), and the object must export exactly
the header's functions.  Standard library only.

usage: run_aot.py ACTC BUILD_DIR SOURCE_DIR
"""
import array, json, math, os, platform, random, shutil, struct, subprocess, sys, tempfile

actc, build, src = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp(prefix="actc-aot-")
failures = 0
LIBS = [os.path.join(build, "libactrt.a"), "-fopenmp", "-ljansson", "-lm", "-lpthread"]


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def sh(args, what):
    p = subprocess.run(args, capture_output=True, text=True)
    check(p.returncode == 0, "%s: %s\n%s%s" % (what, " ".join(args), p.stdout, p.stderr))
    return p


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, (shape, values) in tensors.items():
        b = array.array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_npy(path, shape, values):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % shape
    hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + array.array("f", values).tobytes())


def npy_data(path):
    with open(path, "rb") as f:
        d = f.read()
    n = struct.unpack("<H", d[8:10])[0]
    return d[10 + n:]


DRIVER = r'''
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "HEADER"

int main(int argc, char **argv) {
    /* argv: weights, batch, input files (raw f32) then output files */
    static const long long fin[] = {FIN}, fout[] = {FOUT};
    P_model *m;
    if (argc < 3 + P_NUM_INPUTS + P_NUM_OUTPUTS) return 2;
    if (P_create(&m, argv[1]) != 0) { fprintf(stderr, "create: %s\n", P_last_error(NULL)); return 1; }
    long long batch = atoll(argv[2]);
    const float *in[8]; float *out[8];
    for (int i = 0; i < P_NUM_INPUTS; i++) {
        float *p = malloc(sizeof(float) * (size_t)(batch * fin[i]));
        FILE *f = fopen(argv[3 + i], "rb");
        if (!f || fread(p, sizeof(float), (size_t)(batch * fin[i]), f) != (size_t)(batch * fin[i])) return 2;
        fclose(f);
        in[i] = p;
    }
    for (int i = 0; i < P_NUM_OUTPUTS; i++) out[i] = calloc((size_t)(batch * fout[i]), sizeof(float));
    if (P_run_arrays(m, batch, in, out) != 0) { fprintf(stderr, "run: %s\n", P_last_error(m)); return 1; }
    for (int i = 0; i < P_NUM_OUTPUTS; i++) {
        FILE *f = fopen(argv[3 + P_NUM_INPUTS + i], "wb");
        fwrite(out[i], sizeof(float), (size_t)(batch * fout[i]), f);
        fclose(f);
    }
    /* batch 0 succeeds and computes nothing (the outputs keep their values;
     * NULL buffers are allowed); a negative batch is an error */
    out[0][0] = 42.0f;
    if (P_run(m, 0, RUNARGS) != 0 || out[0][0] != 42.0f) { fprintf(stderr, "batch 0: %s\n", P_last_error(m)); return 1; }
    if (P_run(m, 0, NULLARGS) != 0) { fprintf(stderr, "batch 0, NULL buffers: %s\n", P_last_error(m)); return 1; }
    if (P_run(m, -1, RUNARGS) == 0 || !strstr(P_last_error(m), "batch must not be negative, got -1")) {
        fprintf(stderr, "batch -1 accepted: %s\n", P_last_error(m)); return 1;
    }
    printf("variant %s\n", P_variant(m));
    P_destroy(m);
    return 0;
}
'''

EXAMPLES = ["mlp", "ffn", "gates", "geglu_split", "custom_activation", "residual_rmsnorm", "activations"]
built = {}
rnd = random.Random(3)
for ex in EXAMPLES:
    act = os.path.join(src, "examples", ex + ".act")
    obj, hdr = os.path.join(tmp, ex + ".o"), os.path.join(tmp, ex + ".h")
    sh([actc, "compile", act, "-o", obj, "--header", hdr, "--prefix", "net_" + ex], "compile " + ex)
    if failures:
        break
    # exported symbols: exactly the header's functions
    syms = sorted(l.split()[-1] for l in sh(["nm", "-g", "--defined-only", obj], "nm").stdout.splitlines())
    want = sorted("net_%s_%s" % (ex, f) for f in ["create", "create_from_memory", "run", "run_arrays",
                                                  "last_error", "destroy", "set_threads", "workspace_size",
                                                  "variant"])
    check(syms == want, "%s exports %s" % (ex, syms))
    text = open(hdr).read()
    # shapes and tensors from the header's own comment and enum
    ins = [(l.split("_INPUT_")[1].split("_FEATURES")[0], int(l.split("=")[1].strip(" ,"))) for l in text.splitlines() if "_INPUT_" in l and "FEATURES" in l]
    outs = [int(l.split("=")[1].strip(" ,")) for l in text.splitlines() if "_OUTPUT_" in l and "FEATURES" in l]
    tensors = {}
    for l in text.splitlines():
        if l.startswith(" *   ") and "[" in l:
            name = l.split()[1]
            dims = [int(x) for x in l.split("[")[1].split("]")[0].split(",")]
            n = dims[0] * (dims[1] if len(dims) > 1 else 1)
            scale = math.sqrt(3.0 / dims[1]) if len(dims) > 1 else 0.5
            tensors[name] = (dims, [rnd.uniform(-scale, scale) for _ in range(n)])
    w = os.path.join(tmp, ex + ".safetensors")
    write_safetensors(w, tensors)
    batch = 37  # ragged for every row tile, >= 2 tiles of 16 rows (the parallel-for hook)
    infiles, npys = [], []
    for i, (name, n) in enumerate(ins):
        vals = [math.sin(0.37 * q + i) for q in range(batch * n)]
        raw, npy = os.path.join(tmp, "%s_in%d.bin" % (ex, i)), os.path.join(tmp, "%s_in%d.npy" % (ex, i))
        with open(raw, "wb") as f:
            f.write(array.array("f", vals).tobytes())
        write_npy(npy, (batch, n), vals)
        infiles.append(raw)
        npys.append(npy)
    # the JIT's outputs
    jit_out = [os.path.join(tmp, "%s_jit%d.npy" % (ex, i)) for i in range(len(outs))]
    args = [actc, "run", act, "-w", w]
    for p in npys:
        args += ["-i", p]
    for p in jit_out:
        args += ["-o", p]
    sh(args, "actc run " + ex)
    # the AOT driver
    d = DRIVER.replace("HEADER", hdr).replace("P_", "net_%s_" % ex).replace("P_", "").replace("FIN", ", ".join(str(n) for _, n in ins)).replace("FOUT", ", ".join(map(str, outs)))
    d = d.replace("RUNARGS", ", ".join(["in[%d]" % i for i in range(len(ins))] + ["out[%d]" % i for i in range(len(outs))]))
    d = d.replace("NULLARGS", ", ".join(["NULL"] * (len(ins) + len(outs))))
    d = d.replace("NET_%s_" % ex.upper(), "NET_%s_" % ex.upper())
    d = d.replace("net_%s_NUM_INPUTS" % ex, "NET_%s_NUM_INPUTS" % ex.upper()).replace("net_%s_NUM_OUTPUTS" % ex, "NET_%s_NUM_OUTPUTS" % ex.upper())
    dc, exe = os.path.join(tmp, ex + "_driver.c"), os.path.join(tmp, ex + "_driver")
    with open(dc, "w") as f:
        f.write(d)
    if not sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror", dc, obj, *LIBS, "-o", exe],
              "build driver " + ex).returncode == 0:
        continue
    aot_out = [os.path.join(tmp, "%s_aot%d.bin" % (ex, i)) for i in range(len(outs))]
    sh([exe, w, str(batch), *infiles, *aot_out], "run driver " + ex)
    built[ex] = (exe, w, batch, infiles, npys, len(outs), act)
    for i in range(len(outs)):
        if os.path.exists(aot_out[i]) and os.path.exists(jit_out[i]):
            same = open(aot_out[i], "rb").read() == npy_data(jit_out[i])
            check(same, "%s output %d: AOT and JIT outputs differ" % (ex, i))
    # the header in C++
    cpp = os.path.join(tmp, ex + ".cpp")
    with open(cpp, "w") as f:
        f.write('#include "%s"\nint main() { net_%s_model *m = 0; (void)net_%s_create(&m, 0); net_%s_destroy(m); return 0; }\n' % (hdr, ex, ex, ex))
    sh(["g++", "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-c", cpp, "-o", cpp + ".o"], "C++ header " + ex)
    print("ok  ", ex)

# Embedded weights: a self-contained object linked with libc alone (no
# libactrt, no libLLVM), created with a NULL path; outputs bitwise identical
# to the JIT's, serially and through a pthread parallel-for hook.
EMB = r'''
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "HEADER"

typedef struct { @p_task_fn task; void *arg; int64_t lo, hi; } Range;
static void *worker(void *p) { Range *r = p; for (int64_t i = r->lo; i < r->hi; i++) r->task(r->arg, i); return NULL; }
static int calls;
static void pfor(void *user, int64_t n, @p_task_fn task, void *arg) {
    (void)user;
    calls++;
    pthread_t t[2]; Range r[2] = {{task, arg, 0, n / 2}, {task, arg, n / 2, n}};
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, worker, &r[k]);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
}

int main(int argc, char **argv) {
    static const long long fin[] = {FIN}, fout[] = {FOUT};
    if (argc < 2 + @U_NUM_INPUTS + 2 * @U_NUM_OUTPUTS) return 2;
    @p_model *m;
    if (@p_create(&m, NULL) != 0) { fprintf(stderr, "create: %s\n", @p_last_error(NULL)); return 1; }
    long long batch = atoll(argv[1]);
    const float *in[8]; float *out[8];
    for (int i = 0; i < @U_NUM_INPUTS; i++) {
        float *p = malloc(sizeof(float) * (size_t)(batch * fin[i]));
        FILE *f = fopen(argv[2 + i], "rb");
        if (!f || fread(p, sizeof(float), (size_t)(batch * fin[i]), f) != (size_t)(batch * fin[i])) return 2;
        fclose(f);
        in[i] = p;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && @p_set_parallel_for(m, pfor, NULL) != 0) return 3;
        for (int i = 0; i < @U_NUM_OUTPUTS; i++) out[i] = calloc((size_t)(batch * fout[i]), sizeof(float));
        if (@p_run_arrays(m, batch, in, out) != 0) { fprintf(stderr, "run: %s\n", @p_last_error(m)); return 1; }
        for (int i = 0; i < @U_NUM_OUTPUTS; i++) {
            FILE *f = fopen(argv[2 + @U_NUM_INPUTS + pass * @U_NUM_OUTPUTS + i], "wb");
            fwrite(out[i], sizeof(float), (size_t)(batch * fout[i]), f);
            fclose(f);
        }
    }
    if (calls == 0) { fprintf(stderr, "the parallel-for hook was not used\n"); return 4; }
    /* batch 0 with the hook set: success, and no task is handed out */
    int before = calls;
    if (@p_run(m, 0, RUNARGS) != 0 || calls != before) { fprintf(stderr, "batch 0: %s\n", @p_last_error(m)); return 5; }
    if (@p_run(m, -1, RUNARGS) == 0) return 6;
    @p_destroy(m);
    return 0;
}
'''
# (and with compact weights, --weights bf16 / f16: the packed panels are
# embedded as 2-byte values; bitwise `actc run --weights` of the same type)
emb_sizes = {}
for ex, wt in [("ffn", "f32"), ("mlp", "f32"), ("ffn", "bf16"), ("mlp", "f16"), ("ffn", "int8")] if failures == 0 else []:
    act = os.path.join(src, "examples", ex + ".act")
    tag = ex if wt == "f32" else ex + "_" + wt
    obj, hdr = os.path.join(tmp, tag + "_emb.o"), os.path.join(tmp, tag + "_emb.h")
    w = os.path.join(tmp, ex + ".safetensors")
    sh([actc, "compile", act, "-o", obj, "--header", hdr, "--prefix", "emb_" + ex, "--embed-weights", w, "--weights", wt],
       "compile embedded " + tag)
    emb_sizes[tag] = os.path.getsize(obj)
    jit_outs = [os.path.join(tmp, "%s_jit%d.npy" % (ex, i)) for i in range(8)]
    if wt != "f32":  # the JIT's outputs with the same weight type
        ex_in = [os.path.join(tmp, "%s_in%d.npy" % (ex, i)) for i in range(8) if os.path.exists(os.path.join(tmp, "%s_in%d.npy" % (ex, i)))]
        nouts = len([l for l in open(hdr).read().splitlines() if "_OUTPUT_" in l and "FEATURES" in l])
        jit_outs = [os.path.join(tmp, "%s_jit_%s%d.npy" % (ex, wt, i)) for i in range(nouts)]
        args = [actc, "run", act, "-w", w, "--weights", wt, "-q"]
        for pth in ex_in:
            args += ["-i", pth]
        for pth in jit_outs:
            args += ["-o", pth]
        sh(args, "actc run --weights %s %s" % (wt, ex))
    undef = sorted(l.split()[-1] for l in sh(["nm", "-u", obj], "nm -u").stdout.splitlines() if l.split()[0] == "U")
    check(set(undef) <= {"malloc", "free", "getenv", "__tls_get_addr"}, "%s: embedded object needs %s" % (ex, undef))
    text = open(hdr).read()
    ins = [int(l.split("=")[1].strip(" ,")) for l in text.splitlines() if "_INPUT_" in l and "FEATURES" in l]
    outs = [int(l.split("=")[1].strip(" ,")) for l in text.splitlines() if "_OUTPUT_" in l and "FEATURES" in l]
    d = EMB.replace("HEADER", hdr).replace("@U_", "EMB_%s_" % ex.upper()).replace("@p_", "emb_%s_" % ex)
    d = d.replace("FIN", ", ".join(map(str, ins))).replace("FOUT", ", ".join(map(str, outs)))
    d = d.replace("RUNARGS", ", ".join(["in[%d]" % i for i in range(len(ins))] + ["out[%d]" % i for i in range(len(outs))]))
    dc, exe = os.path.join(tmp, tag + "_emb.c"), os.path.join(tmp, tag + "_emb")
    with open(dc, "w") as f:
        f.write(d)
    # libc (and pthread for the test's own hook) only: no libactrt, no LLVM, no OpenMP
    if sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror", dc, obj,
           "-lpthread", "-o", exe], "build embedded driver " + tag).returncode != 0:
        continue
    batch = 37
    infiles = [os.path.join(tmp, "%s_in%d.bin" % (ex, i)) for i in range(len(ins))]
    serial = [os.path.join(tmp, "%s_emb_s%d.bin" % (tag, i)) for i in range(len(outs))]
    par = [os.path.join(tmp, "%s_emb_p%d.bin" % (tag, i)) for i in range(len(outs))]
    sh([exe, str(batch), *infiles, *serial, *par], "run embedded " + tag)
    for i in range(len(outs)):
        jit = npy_data(jit_outs[i])
        check(os.path.exists(serial[i]) and open(serial[i], "rb").read() == jit, "%s embedded (serial) differs from the JIT" % tag)
        check(os.path.exists(par[i]) and open(par[i], "rb").read() == jit, "%s embedded (parallel-for) differs from the JIT" % tag)
    if wt != "f32":  # the x86-64-v2 variant repacks the embedded compact panels at create (no F16C there)
        v2_outs = [os.path.join(tmp, "%s_jit_v2_%d.npy" % (tag, i)) for i in range(len(outs))]
        args = [actc, "run", act, "-w", w, "--weights", wt, "--cpu", "x86-64-v2", "-q"]
        for pth in [os.path.join(tmp, "%s_in%d.npy" % (ex, i)) for i in range(len(ins))]:
            args += ["-i", pth]
        for pth in v2_outs:
            args += ["-o", pth]
        sh(args, "actc run --cpu x86-64-v2 --weights %s %s" % (wt, ex))
        p = subprocess.run([exe, str(batch), *infiles, *serial, *par], env=dict(os.environ, ACTC_CPU_VARIANT="x86-64-v2"),
                           capture_output=True, text=True)
        check(p.returncode == 0, "%s embedded, x86-64-v2: %s" % (tag, p.stderr))
        for i in range(len(outs)):
            check(open(serial[i], "rb").read() == npy_data(v2_outs[i]), "%s embedded x86-64-v2 differs from the JIT" % tag)
    print("ok   %s embedded (%d bytes)" % (tag, emb_sizes[tag]))
if "ffn" in emb_sizes and "ffn_bf16" in emb_sizes:
    check(emb_sizes["ffn_bf16"] < 0.6 * emb_sizes["ffn"], "bf16 weights halve the object: %s" % emb_sizes)

# The embedded runtime's errors: libactrt's checks and messages
# (runtime/run_checks.h), and weights replaced from a file when the program
# also links libactrt (bitwise identical to the JIT), else "needs libactrt".
EMB_ERR = r'''
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "HEADER"
#define EXPECT(c, m) do { if (!(c)) { fprintf(stderr, "line %d: %s\n", __LINE__, m); return 1; } } while (0)
#define ERR_IS(m, s) (strcmp(emb_mlp_last_error(m), s) == 0)
static float x[13 * 64], lg[13 * 10], pr[13 * 10];
int main(int argc, char **argv) {
    emb_mlp_model *m = (emb_mlp_model *)1;
    const float *ins[1] = {x}; float *outs[2] = {lg, pr};
    if (argc < 4) return 2;
    EXPECT(emb_mlp_create(NULL, NULL) == 4 && ERR_IS(NULL, "create: out is NULL"), emb_mlp_last_error(NULL));
    EXPECT(emb_mlp_run(NULL, 1, x, lg, pr) == 4 && ERR_IS(NULL, "run: model is NULL"), emb_mlp_last_error(NULL));
    EXPECT(emb_mlp_create(&m, NULL) == 0 && m && ERR_IS(m, ""), "create");
    lg[0] = 42.0f; /* batch 0: success, nothing computed, NULL buffers allowed; negative: an error */
    EXPECT(emb_mlp_run(m, 0, x, lg, pr) == 0 && lg[0] == 42.0f, emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, 0, NULL, NULL, NULL) == 0, emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, -3, x, lg, pr) == 4 && ERR_IS(m, "batch must not be negative, got -3"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, 2, NULL, lg, pr) == 4 && ERR_IS(m, "input 0 ('x') is NULL"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, 2, x, lg, NULL) == 4 && ERR_IS(m, "output 1 ('probs') is NULL"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run_arrays(m, 2, NULL, outs) == 4 && ERR_IS(m, "inputs array is NULL"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run_arrays(m, 2, ins, NULL) == 4 && ERR_IS(m, "outputs array is NULL"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, INT64_MAX / 8, x, lg, pr) == 4 &&
           ERR_IS(m, "batch 1152921504606846975 is too large: buffer sizes overflow"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_workspace_size(m, 0) == 0 && emb_mlp_workspace_size(m, -1) == -1 &&
           emb_mlp_workspace_size(NULL, 1) == -1 &&
           emb_mlp_workspace_size(m, 3) == 3 * emb_mlp_workspace_size(m, 1), "workspace_size");
    EXPECT(emb_mlp_set_threads(m, -1) == 4 && emb_mlp_set_threads(NULL, 1) == 4 && emb_mlp_set_threads(m, 2) == 0,
           "set_threads");
    EXPECT(emb_mlp_set_parallel_for(NULL, NULL, NULL) == 4, "set_parallel_for");
    EXPECT(emb_mlp_run(m, 13, x, lg, pr) == 0, "a run after the errors");
    emb_mlp_destroy(m);
    emb_mlp_destroy(NULL);
    m = (emb_mlp_model *)1;
#ifdef WITH_ACTRT
    EXPECT(emb_mlp_create(&m, "/nonexistent.safetensors") != 0 && !m &&
           strstr(emb_mlp_last_error(NULL), "/nonexistent.safetensors"), emb_mlp_last_error(NULL));
    EXPECT(emb_mlp_create(&m, argv[1]) == 0 && m, emb_mlp_last_error(NULL));
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(x, sizeof x, 1, f) != 1) return 2;
    fclose(f);
    EXPECT(emb_mlp_run(m, 13, x, lg, pr) == 0, emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, -1, x, lg, pr) == 4 && ERR_IS(m, "batch must not be negative, got -1"), emb_mlp_last_error(m));
    EXPECT(emb_mlp_run(m, 0, NULL, NULL, NULL) == 0, emb_mlp_last_error(m)); /* through libactrt */
    f = fopen(argv[3], "wb");
    fwrite(lg, sizeof lg, 1, f); fwrite(pr, sizeof pr, 1, f); fclose(f);
    emb_mlp_destroy(m);
#else
    EXPECT(emb_mlp_create(&m, argv[1]) == 4 && !m && strstr(emb_mlp_last_error(NULL), "needs libactrt"),
           emb_mlp_last_error(NULL));
#endif
    return 0;
}
'''
if failures == 0:
    ec = os.path.join(tmp, "emb_errors.c")
    with open(ec, "w") as f:
        f.write(EMB_ERR.replace("HEADER", os.path.join(tmp, "mlp_emb.h")))
    cc = [*os.environ.get("CC", "cc").split(), "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    obj, w = os.path.join(tmp, "mlp_emb.o"), os.path.join(tmp, "mlp.safetensors")
    got = os.path.join(tmp, "mlp_emb_loaded.bin")
    for with_rt in (False, True):
        exe = ec + (".actrt" if with_rt else ".libc")
        # the object's references to libactrt are weak: they extract nothing
        # from libactrt.a (nor make an --as-needed libactrt.so needed) unless
        # the program names one
        extra = ["-DWITH_ACTRT", "-Wl,-u,actrt_model_create_loaded", *LIBS] if with_rt else []
        if sh([*cc, ec, obj, *extra, "-o", exe], "build emb_errors.c").returncode == 0:
            sh([exe, w, os.path.join(tmp, "mlp_in0.bin"), got], "embedded errors (%s)" % ("libactrt" if with_rt else "libc"))
    # the program runs the first 13 rows: a row's result does not depend on the batch
    want = npy_data(os.path.join(tmp, "mlp_jit0.npy"))[:13 * 10 * 4] + npy_data(os.path.join(tmp, "mlp_jit1.npy"))[:13 * 10 * 4]
    check(os.path.exists(got) and open(got, "rb").read() == want, "embedded mlp with weights loaded by libactrt differs from the JIT")
    if failures == 0:
        print("ok   embedded errors, weights replaced through libactrt")

# The embedded runtime's allocations fail one by one (the program's own
# malloc, over glibc's __libc_malloc, fails the n-th call while armed): a
# create that picks a variant whose weights are repacked (x86-64-v2) and a
# run return 0 or ACTC_ERR_NOMEM, and leave nothing allocated after
# destroy.  Not under the sanitizers, whose allocator this would replace.
EMB_OOM = r"""
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "HEADER"
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int armed;
static long fail_at, calls;
static void *live[4096];
static int nlive;
static void track(void *p) { if (p && armed && nlive < 4096) live[nlive++] = p; }
static void untrack(void *p) { for (int i = 0; i < nlive; i++) if (live[i] == p) { live[i] = live[--nlive]; return; } }
void *malloc(size_t n) {
    if (armed && calls++ == fail_at) return NULL;
    void *p = __libc_malloc(n);
    track(p);
    return p;
}
void *realloc(void *q, size_t n) {
    if (armed && calls++ == fail_at) return NULL;
    void *p = __libc_realloc(q, n);
    if (p) { untrack(q); track(p); }
    return p;
}
void free(void *p) { untrack(p); __libc_free(p); }
int main(int argc, char **argv) {
    static float x[13 * 64], y0[13 * 10], p0[13 * 10], y[13 * 10], p[13 * 10];
    (void)argc, (void)argv;
    for (int i = 0; i < 13 * 64; i++) x[i] = (float)(i % 7) * 0.25f - 0.75f;
    emb_mlp_model *m;
    if (emb_mlp_create(&m, NULL) || emb_mlp_run(m, 13, x, y0, p0)) return 3;
    emb_mlp_destroy(m);
    long n;
    for (n = 0; n < 1000; n++) {
        calls = 0, fail_at = n, nlive = 0, armed = 1;
        int st = emb_mlp_create(&m, NULL);
        if (st == 0) {
            st = emb_mlp_run(m, 13, x, y, p);
            if (st == 0)
                for (int i = 0; i < 13 * 10; i++)
                    if (y[i] != y0[i] || p[i] != p0[i]) { fprintf(stderr, "n=%ld: results differ\n", n); return 1; }
            emb_mlp_destroy(m);
        }
        armed = 0;
        if (st != 0 && st != 5) { fprintf(stderr, "n=%ld: status %d\n", n, st); return 1; }
        if (nlive) { fprintf(stderr, "n=%ld: %d blocks left\n", n, nlive); return 1; }
        if (st == 0 && calls <= n) break;
    }
    printf("failure points %ld\n", n);
    return n > 0 && n < 1000 ? 0 : 1;
}
"""
if failures == 0 and "-fsanitize" not in os.environ.get("CC", "") and platform.machine() == "x86_64":
    oc, oexe = os.path.join(tmp, "emb_oom.c"), os.path.join(tmp, "emb_oom")
    with open(oc, "w") as f:
        f.write(EMB_OOM.replace("HEADER", os.path.join(tmp, "mlp_emb.h")))
    if sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", oc, os.path.join(tmp, "mlp_emb.o"), "-o", oexe],
          "build emb_oom.c").returncode == 0:
        for v in ("x86-64-v2", "x86-64-v3"):
            r = subprocess.run([oexe], capture_output=True, text=True, env=dict(os.environ, ACTC_CPU_VARIANT=v))
            check(r.returncode == 0, "embedded OOM loop (%s): exit %d %s%s" % (v, r.returncode, r.stdout, r.stderr))
            print("ok   embedded create and run fail cleanly at every allocation (%s: %s)" % (v, r.stdout.strip()))

# Other x86 CPUs: --cpu generic (SSE, no FMA) and x86-64-v3 (AVX2 + FMA)
# objects with embedded weights run here; within 1e-5 (1 + |ref|) of the
# JIT (other vector widths and, for generic, separate multiply and add).
for cpu in ["generic", "x86-64-v3"] if failures == 0 else []:
    ex = "ffn"
    obj, hdr = os.path.join(tmp, "%s_%s.o" % (ex, cpu)), os.path.join(tmp, "%s_%s.h" % (ex, cpu))
    sh([actc, "compile", os.path.join(src, "examples", ex + ".act"), "-o", obj, "--header", hdr, "--prefix",
        "emb_" + ex, "--cpu", cpu, "--embed-weights", os.path.join(tmp, ex + ".safetensors")], "compile --cpu " + cpu)
    d = EMB.replace("HEADER", hdr).replace("@U_", "EMB_FFN_").replace("@p_", "emb_ffn_")
    d = d.replace("FIN", "512").replace("FOUT", "512").replace("RUNARGS", "in[0], out[0]")
    dc, exe = os.path.join(tmp, "%s_%s.c" % (ex, cpu)), os.path.join(tmp, "%s_%s" % (ex, cpu))
    with open(dc, "w") as f:
        f.write(d)
    if sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", dc, obj, "-lpthread", "-o", exe],
          "build --cpu " + cpu).returncode != 0:
        continue
    res = [os.path.join(tmp, "%s_%s_%d.bin" % (ex, cpu, i)) for i in range(2)]
    sh([exe, "37", os.path.join(tmp, "ffn_in0.bin"), *res], "run --cpu " + cpu)
    ref = array.array("f")
    ref.frombytes(npy_data(os.path.join(tmp, "ffn_jit0.npy")))
    for r in res:
        got = array.array("f")
        if os.path.exists(r):
            got.frombytes(open(r, "rb").read())
        worst = max((abs(a - b) / (1 + abs(b)) for a, b in zip(got, ref)), default=1.0) if len(got) == len(ref) else 1.0
        check(worst <= 1e-5, "ffn --cpu %s differs from the JIT by %g" % (cpu, worst))
    print("ok   ffn --cpu %s" % cpu)

# --fast-math: the object (embedded weights) says so in its header and
# computes the same bits as `actc run --fast-math`, and not those of the
# precise tier (the gelu-free ffn's silu is computed differently).
if failures == 0:
    ex = "ffn"
    obj, hdr = os.path.join(tmp, "ffn_fast.o"), os.path.join(tmp, "ffn_fast.h")
    w = os.path.join(tmp, ex + ".safetensors")
    sh([actc, "compile", os.path.join(src, "examples", ex + ".act"), "-o", obj, "--header", hdr, "--prefix",
        "emb_ffn", "--fast-math", "--embed-weights", w], "compile --fast-math")
    check("EMB_FFN_FAST_MATH = 1," in open(hdr).read(), "the --fast-math header does not say FAST_MATH = 1")
    jit_fast = os.path.join(tmp, "ffn_jitfast0.npy")
    sh([actc, "run", os.path.join(src, "examples", ex + ".act"), "-w", w, "-i", os.path.join(tmp, "ffn_in0.npy"),
        "-o", jit_fast, "--fast-math"], "actc run --fast-math")
    d = EMB.replace("HEADER", hdr).replace("@U_", "EMB_FFN_").replace("@p_", "emb_ffn_")
    d = d.replace("FIN", "512").replace("FOUT", "512").replace("RUNARGS", "in[0], out[0]")
    dc, exe = os.path.join(tmp, "ffn_fast.c"), os.path.join(tmp, "ffn_fast")
    with open(dc, "w") as f:
        f.write(d)
    if sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", dc, obj, "-lpthread", "-o", exe],
          "build --fast-math").returncode == 0:
        res = [os.path.join(tmp, "ffn_fast_%d.bin" % i) for i in range(2)]
        sh([exe, "37", os.path.join(tmp, "ffn_in0.bin"), *res], "run --fast-math")
        want = npy_data(jit_fast)
        for r in res:
            check(os.path.exists(r) and open(r, "rb").read() == want, "ffn --fast-math object differs from actc run --fast-math")
        check(want != npy_data(os.path.join(tmp, "ffn_jit0.npy")), "--fast-math gave the precise tier's bits")
        print("ok   ffn --fast-math")

# Cross-compiled: --target aarch64-linux-gnu with embedded weights (NEON, 4
# lanes, from the same generator), linked with the Debian cross toolchain and
# ISA variants (docs/aot.md, "Variants"): the default x86-64 object holds
# x86-64-v2, -v3 and -v4.  Each variant, forced with ACTC_CPU_VARIANT, is
# bitwise the JIT compiled with the same --cpu; under qemu -cpu Nehalem
# (SSE4.2, no XSAVE) and -cpu Haswell (AVX2) create picks v2 and v3 by
# itself; a pinned skylake-avx512 object fails at create there with exit 1
# (no signal), and every ACTC_CPU_VARIANT error names the variants.
qemu_x86 = shutil.which("qemu-x86_64")
if failures == 0 and platform.machine() == "x86_64":
    VARIANTS = ["x86-64-v2", "x86-64-v3", "x86-64-v4"]
    have = {v: True for v in VARIANTS}
    cpuinfo = open("/proc/cpuinfo").read()
    have["x86-64-v4"] = " avx512bw" in cpuinfo and " avx512vl" in cpuinfo
    have["x86-64-v3"] = " avx2" in cpuinfo and " fma" in cpuinfo
    for ex in ("gates", "mlp"):
        exe, w, batch, infiles, npys, nout, act = built[ex]
        for v in VARIANTS:
            if not have[v]:
                print("skip %s %s natively: this CPU cannot run it" % (ex, v))
                continue
            jit = [os.path.join(tmp, "%s_jit_%s_%d.npy" % (ex, v, i)) for i in range(nout)]
            args = [actc, "run", act, "-w", w, "--cpu", v]
            for p in npys:
                args += ["-i", p]
            for p in jit:
                args += ["-o", p]
            sh(args, "actc run --cpu %s %s" % (v, ex))
            res = [os.path.join(tmp, "%s_var_%s_%d.bin" % (ex, v, i)) for i in range(nout)]
            r = subprocess.run([exe, w, str(batch), *infiles, *res], capture_output=True, text=True,
                               env=dict(os.environ, ACTC_CPU_VARIANT=v))
            check(r.returncode == 0 and ("variant %s" % v) in r.stdout, "%s with ACTC_CPU_VARIANT=%s: %s%s" % (ex, v, r.stdout, r.stderr))
            for i in range(nout):
                if os.path.exists(res[i]):
                    check(open(res[i], "rb").read() == npy_data(jit[i]), "%s variant %s output %d differs from the JIT with --cpu %s" % (ex, v, i, v))
            if qemu_x86 and v != "x86-64-v4":
                qcpu = {"x86-64-v2": "Nehalem", "x86-64-v3": "Haswell"}[v]
                qres = [p + ".qemu" for p in res]
                r = subprocess.run([qemu_x86, "-cpu", qcpu, exe, w, str(batch), *infiles, *qres], capture_output=True, text=True)
                check(r.returncode == 0 and ("variant %s" % v) in r.stdout, "%s under qemu -cpu %s: exit %d %s%s" % (ex, qcpu, r.returncode, r.stdout, r.stderr[-400:]))
                for i in range(nout):
                    if os.path.exists(qres[i]):
                        check(open(qres[i], "rb").read() == npy_data(jit[i]), "%s under qemu -cpu %s: output %d differs from the JIT with --cpu %s" % (ex, qcpu, i, v))
        r = subprocess.run([exe, w, str(batch), *infiles, *[os.path.join(tmp, "bogus%d" % i) for i in range(nout)]],
                           capture_output=True, text=True, env=dict(os.environ, ACTC_CPU_VARIANT="bogus"))
        check(r.returncode == 1 and "ACTC_CPU_VARIANT=bogus: no such variant in this object (variants: x86-64-v2, x86-64-v3, x86-64-v4)" in r.stderr,
              "%s ACTC_CPU_VARIANT=bogus: exit %d %s" % (ex, r.returncode, r.stderr))
        print("ok   %s variants (%s)" % (ex, ", ".join(v for v in VARIANTS if have[v])))
    # the variant in the default object is the code of a --cpu build for it,
    # instruction for instruction (addresses and relocations aside)
    import re
    def kernels(obj, model, idx):
        out, keep = [], False
        for l in sh(["objdump", "-d", "--no-show-raw-insn", obj], "objdump").stdout.splitlines():
            m = re.match(r"^[0-9a-f]+ <actc_%s_v(\d+)_k\d+(_body(_epi\d+)?)?>:" % model, l) # thunks and their bodies
            if m:
                keep = int(m.group(1)) == idx
                continue
            if not l.strip() or l.startswith("Disassembly") or re.match(r"^[0-9a-f]+ <", l):
                keep = keep and bool(l.strip()) and not re.match(r"^[0-9a-f]+ <", l)
                continue
            if keep:
                ins = l.split(":", 1)[1] if ":" in l else l
                ins = re.sub(r"\s+", " ", re.sub(r"#.*|<[^>]*>|0x[0-9a-f]+", "", ins)).strip()
                out.append(re.sub(r"^(j\w+|call) [0-9a-f]+$", r"\1", ins)) # branch targets: absolute addresses
        return out
    gates = os.path.join(src, "examples", "gates.act")
    dflt = os.path.join(tmp, "gates_variants.o")
    sh([actc, "compile", gates, "-o", dflt, "--header", dflt + ".h"], "compile gates (default variants)")
    for i, v in enumerate(VARIANTS):
        one = os.path.join(tmp, "gates_%s.o" % v)
        sh([actc, "compile", gates, "-o", one, "--header", one + ".h", "--cpu", v], "compile gates --cpu " + v)
        a, b = kernels(dflt, "gates", i), kernels(one, "gates", 0)
        check(len(a) > 100 and a == b, "gates: variant %s of the default object differs from the --cpu %s build (%d vs %d instructions)" % (v, v, len(a), len(b)))
    print("ok   each variant of the default object is the --cpu build's code")
    if qemu_x86:
        exe, w, batch, infiles, npys, nout, act = built["gates"]
        r = subprocess.run([qemu_x86, "-cpu", "Haswell", exe, w, str(batch), *infiles, *[os.path.join(tmp, "q%d" % i) for i in range(nout)]],
                           capture_output=True, text=True, env=dict(os.environ, ACTC_CPU_VARIANT="x86-64-v4"))
        check(r.returncode == 1 and "ACTC_CPU_VARIANT=x86-64-v4: this CPU lacks avx512f" in r.stderr and "(variants it runs: x86-64-v2, x86-64-v3)" in r.stderr,
              "ACTC_CPU_VARIANT=x86-64-v4 under qemu -cpu Haswell: exit %d %s" % (r.returncode, r.stderr[-400:]))
        # a pinned AVX-512 object on an AVX2 CPU: a create error, exit 1, no signal
        pin_o, pin_h = os.path.join(tmp, "pin.o"), os.path.join(tmp, "pin.h")
        sh([actc, "compile", act, "-o", pin_o, "--header", pin_h, "--prefix", "net_gates", "--cpu", "skylake-avx512"], "compile --cpu skylake-avx512")
        d = open(os.path.join(tmp, "gates_driver.c")).read().replace(os.path.join(tmp, "gates.h"), pin_h)
        pc, pexe = os.path.join(tmp, "pin.c"), os.path.join(tmp, "pin")
        with open(pc, "w") as f:
            f.write(d)
        sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-O1", pc, pin_o, *LIBS, "-o", pexe], "build pinned driver")
        r = subprocess.run([qemu_x86, "-cpu", "Haswell", pexe, w, str(batch), *infiles, *[os.path.join(tmp, "p%d" % i) for i in range(nout)]],
                           capture_output=True, text=True)
        check(r.returncode == 1 and "this object was compiled for skylake-avx512 (needs" in r.stderr and "this CPU lacks avx512f" in r.stderr,
              "pinned skylake-avx512 object under qemu -cpu Haswell: exit %d %s" % (r.returncode, r.stderr[-400:]))
        print("ok   variant errors (qemu -cpu Haswell)")
    else:
        print("skip qemu variant runs: install qemu-user (scripts/install-deps.sh)")
    # code per variant, weights once: sizes of embedded mlp objects
    for cpus in ("x86-64-v2", "x86-64-v3", "x86-64-v4", None):
        so = os.path.join(tmp, "size.o")
        sh([actc, "compile", os.path.join(src, "examples", "mlp.act"), "-o", so, "--header", so + ".h",
            "--embed-weights", os.path.join(tmp, "mlp.safetensors")] + (["--cpu", cpus] if cpus else []), "compile mlp for sizes")
        sec = {l.split()[0]: int(l.split()[1]) for l in sh(["size", "-A", so], "size").stdout.splitlines()[2:] if len(l.split()) >= 2 and l.split()[1].isdigit()}
        print("size mlp embedded, %-27s .text %6d B  .rodata %6d B  object %6d B" % (cpus or "default (v2, v3, v4)", sec.get(".text", 0),
              sec.get(".rodata", 0), os.path.getsize(so)))

# run under qemu-user, when those are installed (scripts/install-deps.sh
# installs them).  Outputs within 1e-5 (1 + |ref|) of the x86 JIT's: the two
# targets order no reduction differently, but fused multiply-adds may round
# differently in the f64 epilogue code.
import shutil
cross_cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
if failures == 0 and cross_cc and qemu and os.path.isdir("/usr/aarch64-linux-gnu"):
    # (and mlp with f16 weights: NEON's conversion, and ffn with int8 weights: the
    # group loop, against the x86 JIT with the same weight type)
    for ex, wt in [("ffn", "f32"), ("mlp", "f32"), ("residual_rmsnorm", "f32"), ("mlp", "f16"), ("ffn", "int8")]:
        act = os.path.join(src, "examples", ex + ".act")
        tag = ex if wt == "f32" else ex + "_" + wt
        obj, hdr = os.path.join(tmp, tag + "_a64.o"), os.path.join(tmp, tag + "_a64.h")
        w = os.path.join(tmp, ex + ".safetensors")
        sh([actc, "compile", act, "-o", obj, "--header", hdr, "--prefix", "emb_" + ex, "--target", "aarch64-linux-gnu",
            "--embed-weights", w, "--weights", wt], "cross compile " + tag)
        jit_name = (lambda i: "%s_jit%d.npy" % (ex, i)) if wt == "f32" else (lambda i: "%s_jit_%s%d.npy" % (ex, wt, i))
        text = open(hdr).read()
        ins = [int(l.split("=")[1].strip(" ,")) for l in text.splitlines() if "_INPUT_" in l and "FEATURES" in l]
        outs = [int(l.split("=")[1].strip(" ,")) for l in text.splitlines() if "_OUTPUT_" in l and "FEATURES" in l]
        d = EMB.replace("HEADER", hdr).replace("@U_", "EMB_%s_" % ex.upper()).replace("@p_", "emb_%s_" % ex)
        d = d.replace("FIN", ", ".join(map(str, ins))).replace("FOUT", ", ".join(map(str, outs)))
        d = d.replace("RUNARGS", ", ".join(["in[%d]" % i for i in range(len(ins))] + ["out[%d]" % i for i in range(len(outs))]))
        dc, exe = os.path.join(tmp, tag + "_a64.c"), os.path.join(tmp, tag + "_a64")
        with open(dc, "w") as f:
            f.write(d)
        if sh([cross_cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror", dc, obj, "-lpthread", "-o", exe],
              "cross build " + ex).returncode != 0:
            continue
        batch = 37
        infiles = [os.path.join(tmp, "%s_in%d.bin" % (ex, i)) for i in range(len(ins))]
        # the armv8-a baseline on an in-order core without the v8.2 extensions
        # and on a server core with them (the object's one variant on both)
        for qcpu in ("cortex-a53", "neoverse-n1"):
            res = [os.path.join(tmp, "%s_a64_%s_%d.bin" % (tag, qcpu, i)) for i in range(2 * len(outs))]
            sh([qemu, "-cpu", qcpu, "-L", "/usr/aarch64-linux-gnu", exe, str(batch), *infiles, *res], "qemu -cpu %s run %s" % (qcpu, ex))
            for i in range(len(outs)):
                ref = array.array("f")
                ref.frombytes(npy_data(os.path.join(tmp, jit_name(i))))
                for k in (i, len(outs) + i):
                    got = array.array("f")
                    if os.path.exists(res[k]):
                        got.frombytes(open(res[k], "rb").read())
                    worst = max((abs(a - b) / (1 + abs(b)) for a, b in zip(got, ref)), default=1.0) if len(got) == len(ref) else 1.0
                    check(worst <= 1e-5, "%s on aarch64 (qemu -cpu %s): output %d differs from the x86 JIT by %g" % (ex, qcpu, i, worst))
        print("ok   %s aarch64 (qemu -cpu cortex-a53, neoverse-n1)" % tag)
else:
    print("skip aarch64: install gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (scripts/install-deps.sh)")

# errors from create: no weights, a missing file; *out stays NULL
ERR = r'''
#include <stdio.h>
#include <string.h>
#include "HEADER"
int main(void) {
    net_mlp_model *m = (net_mlp_model *)1;
    if (net_mlp_create(&m, NULL) == 0 || m != NULL) return 1;
    if (!strstr(net_mlp_last_error(NULL), "needs weights")) { puts(net_mlp_last_error(NULL)); return 2; }
    if (net_mlp_create(&m, "/nonexistent.safetensors") == 0 || m != NULL) return 3;
    if (!strstr(net_mlp_last_error(NULL), "/nonexistent.safetensors")) { puts(net_mlp_last_error(NULL)); return 4; }
    return 0;
}
'''
if failures == 0:
    ec = os.path.join(tmp, "errors.c")
    with open(ec, "w") as f:
        f.write(ERR.replace("HEADER", os.path.join(tmp, "mlp.h")))
    sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", ec, os.path.join(tmp, "mlp.o"), *LIBS,
        "-o", ec + ".exe"], "build errors.c")
    sh([ec + ".exe"], "create errors")

# Several models in one object: a file with two models compiles (no --model)
# into one object and one header, each model under its own name; both run
# from one program, bitwise identical to `actc run --model`, with the weights
# loaded at run time and with one safetensors file embedded for both.
TWO = """const D = 16
model enc(x: f32[batch, D]) -> f32[batch, D] {
    h = swiglu(dense(x, 32, name = "g"), dense(x, 32, name = "u"))
    return dense(h, D, name = "o") + x
}
model head(x: f32[batch, D]) -> (logits: f32[batch, 4], probs: f32[batch, 4]) {
    logits = dense(gelu(dense(x, D, name = "h1")), 4, name = "h2")
    return logits, softmax(logits)
}
"""
TWO_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "HEADER"
int main(int argc, char **argv) {
    enc_model *e; head_model *h;
    const char *w = argc > 4 ? argv[4] : NULL;
    if (enc_create(&e, w) || head_create(&h, w)) { fprintf(stderr, "create: %s\n", enc_last_error(NULL)); return 1; }
    enum { B = 5 };
    static float x[B * ENC_INPUT_X_FEATURES], y[B * ENC_OUTPUT_OUTPUT_FEATURES], lg[B * 4], pr[B * 4];
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(x, sizeof x, 1, f) != 1) return 2;
    fclose(f);
    if (enc_run(e, B, x, y) || head_run(h, B, y, lg, pr)) { fprintf(stderr, "run failed\n"); return 1; }
    f = fopen(argv[2], "wb"); fwrite(y, sizeof y, 1, f); fclose(f);
    f = fopen(argv[3], "wb"); fwrite(lg, sizeof lg, 1, f); fwrite(pr, sizeof pr, 1, f); fclose(f);
    enc_destroy(e); head_destroy(h);
    return 0;
}
"""
if failures == 0:
    two = os.path.join(tmp, "two.act")
    with open(two, "w") as f:
        f.write(TWO)
    wr = random.Random(5)
    shapes = {"g.weight": [32, 16], "g.bias": [32], "u.weight": [32, 16], "u.bias": [32], "o.weight": [16, 32],
              "o.bias": [16], "h1.weight": [16, 16], "h1.bias": [16], "h2.weight": [4, 16], "h2.bias": [4]}
    w2 = os.path.join(tmp, "two.safetensors")
    write_safetensors(w2, {k: (v, [wr.uniform(-0.4, 0.4) for _ in range(v[0] * (v[1] if len(v) > 1 else 1))])
                           for k, v in shapes.items()})
    xv = [math.cos(0.3 * q) for q in range(5 * 16)]
    xraw, xnpy = os.path.join(tmp, "two_x.bin"), os.path.join(tmp, "two_x.npy")
    with open(xraw, "wb") as f:
        f.write(array.array("f", xv).tobytes())
    write_npy(xnpy, (5, 16), xv)
    # the JIT, model by model: enc's output feeds head
    ynpy, lnpy, pnpy = (os.path.join(tmp, n) for n in ("two_y.npy", "two_l.npy", "two_p.npy"))
    sh([actc, "run", two, "--model", "enc", "-w", w2, "-i", xnpy, "-o", ynpy], "actc run --model enc")
    sh([actc, "run", two, "--model", "head", "-w", w2, "-i", ynpy, "-o", "logits=" + lnpy, "-o", "probs=" + pnpy],
       "actc run --model head")
    mc = os.path.join(tmp, "two_main.c")
    for embed in (False, True):
        tag = "embedded" if embed else "loaded"
        obj, hdr = os.path.join(tmp, "two_%s.o" % tag), os.path.join(tmp, "two_%s.h" % tag)
        sh([actc, "compile", two, "-o", obj, "--header", hdr] + (["--embed-weights", w2] if embed else []),
           "compile two models (%s)" % tag)
        syms = sorted(l.split()[-1] for l in sh(["nm", "-g", "--defined-only", obj], "nm").stdout.splitlines())
        fns = ["create", "create_from_memory", "run", "run_arrays", "last_error", "destroy", "set_threads",
               "workspace_size", "variant"] + (["set_parallel_for"] if embed else [])
        check(syms == sorted("%s_%s" % (m, f) for m in ("enc", "head") for f in fns), "two models export %s" % syms)
        with open(mc, "w") as f:
            f.write(TWO_MAIN.replace("HEADER", hdr))
        exe = mc + "." + tag
        libs = ["-lm"] if embed else LIBS
        if sh([*os.environ.get("CC", "cc").split(), "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", mc, obj,
               *libs, "-o", exe], "build two-model driver (%s)" % tag).returncode != 0:
            continue
        yb, lpb = exe + ".y", exe + ".lp"
        sh([exe, xraw, yb, lpb] + ([] if embed else [w2]), "run two models (%s)" % tag)
        if os.path.exists(yb):
            check(open(yb, "rb").read() == npy_data(ynpy), "two models (%s): enc differs from the JIT" % tag)
            check(open(lpb, "rb").read() == npy_data(lnpy) + npy_data(pnpy),
                  "two models (%s): head differs from the JIT" % tag)
    p = subprocess.run([actc, "compile", two, "-o", os.path.join(tmp, "x.o"), "--prefix", "net"],
                       capture_output=True, text=True)
    check(p.returncode == 1 and "choose one with --model" in p.stderr, "--prefix with two models: %s" % p.stderr)
    if failures == 0:
        print("ok   two models in one object (loaded and embedded weights)")
# Activation statistics in an object (compile --stats, linked with libactrt;
# docs/stats.md): the header's mlp_stats_read gives what `actc stats` gives
# on the same rows (dead units, histogram, min and max), mlp_site_stats is
# libactrt's struct, the object exports the two functions; with
# --embed-weights, --stats is an error that says so.
STATS_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "HEADER"
#include "actc/runtime.h"
_Static_assert(sizeof(mlp_site_stats) == sizeof(actrt_site_stats), "the header's struct is libactrt's");
#ifdef MLP_HAS_PFOR
static void pfor(void *user, int64_t n, mlp_task_fn task, void *arg) { /* serial, in reverse: any order */
    (void)user;
    for (int64_t i = n - 1; i >= 0; i--) task(arg, i);
}
#endif
int main(int argc, char **argv) {
    (void)argc;
    mlp_model *m;
    float *x;
    int64_t shape[ACTRT_NPY_MAX_RANK];
    int rank;
    if (mlp_create(&m, strcmp(argv[1], "-") ? argv[1] : NULL) || actrt_npy_read(argv[2], &x, shape, &rank) || rank != 2) return 1;
    if (argc > 3) { /* tasks through a parallel-for hook: one block per task */
#ifdef MLP_HAS_PFOR
        mlp_set_parallel_for(m, pfor, NULL);
#endif
    }
    static float y[1024 * 4];
    if (mlp_run(m, shape[0], x, y)) return 1;
    for (int s = 0; s < MLP_NUM_SITES; s++) {
        int64_t active[64];
        mlp_site_stats st = {.size = sizeof st, .active = active};
        if (mlp_stats_read(m, s, &st) || st.units != 64) return 1;
        printf("site %d samples %lld min %.9g max %.9g dead", s, (long long)st.samples, st.min, st.max);
        for (int j = 0; j < 64; j++)
            if (active[j] == 0) printf(" %d", j);
        printf(" hist");
        for (int b = 0; b < MLP_STATS_BINS + 2; b++) printf(" %lld", (long long)st.hist[b]);
        printf("\n");
    }
    if (mlp_stats_reset(m)) return 1;
    mlp_site_stats st = {.size = sizeof st};
    if (mlp_stats_read(m, 0, &st) || st.samples != 0) return 1;
    actrt_free(x);
    mlp_destroy(m);
    return 0;
}
"""
dd = os.path.join(src, "examples", "dead_units")
p = sh([actc, "stats", os.path.join(dd, "mlp_relu.act"), "-w", os.path.join(dd, "mlp_relu.safetensors"), "-i",
        os.path.join(dd, "data.npy"), "--batch", "1024", "--json", "-"], "actc stats")
rep = json.loads(p.stdout) if p.returncode == 0 else {"sites": [], "samples": 0}
want = ""
for site in rep["sites"]:
    h = site["histogram"]
    want += "site %d samples %d min %.9g max %.9g dead%s hist%s\n" % (
        site["site"], rep["samples"], site["preact"]["min"], site["preact"]["max"],
        "".join(" %d" % j for j in site["dead"]), "".join(" %d" % c for c in h["counts"] + [h["underflow"], h["overflow"]]))
check(len(rep["sites"]) == 2 and len(rep["sites"][1]["dead"]) == 27, "27 dead units in fc2: %s" % rep["sites"][1:])
for embed in (False, True):
    tag = "embedded" if embed else "libactrt"
    sobj, shdr = os.path.join(tmp, "mlp_stats_%s.o" % tag), os.path.join(tmp, "mlp_stats_%s.h" % tag)
    sh([actc, "compile", os.path.join(dd, "mlp_relu.act"), "--stats", "-o", sobj, "--header", shdr] +
       (["--embed-weights", os.path.join(dd, "mlp_relu.safetensors")] if embed else []), "compile --stats (%s)" % tag)
    syms = sorted(l.split()[-1] for l in sh(["nm", "-g", "--defined-only", sobj], "nm").stdout.splitlines())
    check("mlp_stats_read" in syms and "mlp_stats_reset" in syms, "--stats (%s) exports %s" % (tag, syms))
    if embed:
        undef = sorted(l.split()[-1] for l in sh(["nm", "-u", sobj], "nm -u").stdout.splitlines() if l.split()[0] == "U")
        check(set(undef) <= {"malloc", "free", "getenv", "__tls_get_addr"}, "--stats embedded object needs %s" % undef)
    smain = os.path.join(tmp, "stats_main_%s.c" % tag)
    with open(smain, "w") as f:
        f.write(("#define MLP_HAS_PFOR 1\n" if embed else "") + STATS_MAIN.replace("HEADER", shdr))
    sexe = smain + ".exe"
    if sh([*os.environ.get("CC", "cc").split(), "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(src, "include"),
           smain, sobj, *LIBS, "-o", sexe], "build the --stats driver (%s)" % tag).returncode != 0:
        continue
    for extra in ([[], ["pfor"]] if embed else [[]]):
        got = sh([sexe, "-" if embed else os.path.join(dd, "mlp_relu.safetensors"), os.path.join(dd, "data.npy")] + extra,
                 "run the --stats driver (%s)" % tag).stdout
        check(got == want, "AOT statistics (%s %s) differ from actc stats:\n%s---\n%s" % (tag, extra, got, want))
if failures == 0:
    print("ok   --stats objects (libactrt, embedded, serial and through a parallel-for hook) agree with actc stats")
print("aot: %s" % ("all passed" if failures == 0 else "%d failures" % failures))
sys.exit(1 if failures else 0)
