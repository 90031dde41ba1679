/*
 * params.c — the kernel parameters of a target (KernelParams, docs/codegen.md
 * "Kernel parameters", docs/tuning.md): where each matmul kind's register
 * tile, K block, row block and prefetch distance come from.
 *
 *   1. explicit (--kernel-params, the tuner's candidates, tests): parsed and
 *      checked here, an error when malformed;
 *   2. a profile (`actc tune` output: JSON, read with jansson), given with
 *      --profile or, for the JIT on the host, found in the cache directory;
 *      a profile that is missing, corrupt, stale (another CPU, actc or LLVM
 *      version) or edited by hand is a warning naming the file and the
 *      fallback, never an error;
 *   3. the built-in table of the CPU kinds measured (below), else
 *   4. the analytical choice from the register count, the vector width and
 *      the L1 data cache (as BLIS derives its blocking).
 * No parameter changes any output's order of additions, so every choice
 * gives bitwise the same results (tests/unit/test_jit.c "params").
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actc/actc.h"
#include "codegen.h"

/* The matmul kinds, by their kernels.def names. */
static const struct {
    KernelKind kind;
    const char *key;   /* in --kernel-params */
    int nacc;          /* projections: accumulator sets of the tile */
} kinds[] = {{K_DENSE, "dense", 1}, {K_GATED, "gated", 2}};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

/* ---- the built-in table ---- */

/* One row: the CPUs (LLVM names) it applies to at a vector width, the
 * parameters of dense and gated kernels, and what they rest on.  Entries
 * marked "measured" are `actc tune` choices on that machine kind (the
 * figures are in docs/performance.md); the others are the analytical
 * choice written out so that an object is reproducible from the table. */
typedef struct TableRow {
    const char *cpus; /* space-separated LLVM CPU names */
    int vlen;
    KernelParams dense, gated;
    const char *why;
} TableRow;

static const TableRow table[] = {
    {"sapphirerapids emeraldrapids graniterapids rocketlake icelake-server icelake-client tigerlake alderlake",
     16,
     {8, 3, 128, 64, 256},
     {6, 2, 0, 0, 0},
     "Intel AVX-512 (Sapphire Rapids class), measured by actc tune 2026-12-03"},
    /* the AVX-512 variant of portable objects runs on Intel and AMD alike:
     * the measured Intel choice (its K block, 24 KiB of panel, fits the
     * 32 KiB L1 of Zen 4 and Zen 5 too); not measured on AMD */
    {"x86-64-v4",
     16,
     {8, 3, 128, 64, 256},
     {6, 2, 0, 0, 0},
     "the Intel AVX-512 entry, measured 2026-12-03 (not measured on AMD)"},
    /* the AVX2 variant: `actc tune --cpu x86-64-v3` on the Intel Xeon */
    {"x86-64-v3",
     8,
     {4, 3, 256, 32, 0},
     {6, 1, 0, 0, 0},
     "AVX2 code on an Intel Xeon (Sapphire Rapids class), measured by actc tune --cpu x86-64-v3 2026-12-03"},
};

/* ---- checking and printing ---- */

static bool kind_ok(const KernelParams *p, int nacc, int nregs, char *err, size_t errlen, const char *key) {
    (void)nregs;
    if (p->mr < 1 || p->mr > 16 || p->nr < 1 || p->nr > 8) {
        snprintf(err, errlen, "%s: tile %dx%d out of range (rows 1..16, vectors 1..8)", key, p->mr, p->nr);
        return false;
    }
    if (p->mr * p->nr * nacc > 64) {
        snprintf(err, errlen, "%s: tile %dx%d needs %d accumulators (at most 64)", key, p->mr, p->nr,
                 p->mr * p->nr * nacc);
        return false;
    }
    if (p->kc < 0 || p->kc > 1 << 20 || p->mc < 0 || p->mc > 1 << 24 || p->pf < 0 || p->pf > 1 << 16) {
        snprintf(err, errlen, "%s: kc, mc or pf out of range (kc 0..%d, mc 0..%d, pf 0..%d)", key, 1 << 20, 1 << 24,
                 1 << 16);
        return false;
    }
    return true;
}

static void format_one(StrBuf *sb, const char *key, const KernelParams *p) {
    sb_printf(sb, "%s=%dx%d,kc=%d,mc=%d,pf=%d", key, p->mr, p->nr, p->kc, p->mc, p->pf);
}

const char *params_format(Arena *a, const Target *t) {
    StrBuf sb;
    sb_init(&sb, a);
    for (int i = 0; i < NKINDS; i++) {
        if (i)
            sb_putc(&sb, ';');
        format_one(&sb, kinds[i].key, &t->kp[kinds[i].kind]);
    }
    return sb_str(&sb);
}

const char *params_from_text(Arena *a, const Target *t) {
    switch (t->kp_from) {
    case PARAMS_EXPLICIT: return "explicit (--kernel-params)";
    case PARAMS_PROFILE: return arena_printf(a, "profile %s", t->kp_entry);
    case PARAMS_TABLE: return arena_printf(a, "built-in table: %s", t->kp_entry);
    case PARAMS_ANALYTICAL: break;
    }
    return arena_printf(a, "analytical (%s)", t->kp_entry ? t->kp_entry : "registers, vector width, L1");
}

static long parse_int(const char **p, bool *ok) {
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno || v < 0 || v > 1 << 24)
        *ok = false;
    *p = end;
    return v;
}

/* "dense=8x3,kc=128,mc=0,pf=0;gated=6x2,kc=96" — a kind not named keeps
 * what kp holds; within a kind, kc/mc/pf not named keep theirs. */
int params_parse(const char *spec, int nregs, KernelParams kp[K_COUNT], char *err, size_t errlen) {
    const char *p = spec;
    while (*p) {
        int k = -1;
        for (int i = 0; i < NKINDS; i++) {
            size_t n = strlen(kinds[i].key);
            if (strncmp(p, kinds[i].key, n) == 0 && p[n] == '=')
                k = i, p += n + 1;
        }
        if (k < 0) {
            snprintf(err, errlen, "kernel parameters '%s': expected 'dense=' or 'gated=' at '%.20s'", spec, p);
            return ACTC_ERR_ARG;
        }
        KernelParams q = kp[kinds[k].kind];
        bool ok = true;
        q.mr = (int)parse_int(&p, &ok);
        if (*p == 'x')
            p++;
        else
            ok = false;
        if (ok)
            q.nr = (int)parse_int(&p, &ok);
        while (ok && *p == ',') {
            p++;
            int *field = strncmp(p, "kc=", 3) == 0 ? &q.kc : strncmp(p, "mc=", 3) == 0 ? &q.mc
                                                     : strncmp(p, "pf=", 3) == 0     ? &q.pf
                                                                                    : NULL;
            if (!field) {
                ok = false;
                break;
            }
            p += 3;
            *field = (int)parse_int(&p, &ok);
        }
        if (!ok || (*p && *p != ';')) {
            snprintf(err, errlen, "kernel parameters '%s': expected KIND=ROWSxVECTORS[,kc=N][,mc=N][,pf=N] at '%.20s'",
                     spec, p);
            return ACTC_ERR_ARG;
        }
        char why[160];
        if (!kind_ok(&q, kinds[k].nacc, nregs, why, sizeof why, kinds[k].key)) {
            snprintf(err, errlen, "kernel parameters '%s': %s", spec, why);
            return ACTC_ERR_ARG;
        }
        kp[kinds[k].kind] = q;
        if (*p == ';')
            p++;
    }
    return ACTC_OK;
}

/* ---- the analytical choice and the table ---- */

/* The L1 data cache the blocking is sized for: the host's for host code,
 * else 32 KiB (every x86-64 core since Core 2, and the AArch64 cores
 * actc is tested on, have at least that). */
static long l1_bytes(const Target *t) {
    long l1 = 0;
#ifdef _SC_LEVEL1_DCACHE_SIZE
    if (t->is_host && t->host_cpu)
        l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
#endif
    return l1 >= 16384 && l1 <= (1 << 22) ? l1 : 32768;
}

/* Analytical: the tile with the most accumulators that leaves room for
 * its weight vectors and one broadcast, the fewest weight loads per FMA
 * among equals (taller tiles); the K block whose nr * vlen panel columns
 * of every projection fill half of L1, so that every row tile re-reads it
 * from L1 (the other half: the rows of x and the partial sums). */
static KernelParams analytical(const Target *t, int nacc) {
    KernelParams best = {1, 1, 0, 0, 0};
    int best_acc = 0;
    for (int nr = 1; nr <= 4; nr++)
        for (int mr = 1; mr <= 8; mr++) {
            int acc = mr * nr * nacc;
            if (acc + nr * nacc + 1 > t->nregs)
                continue;
            if (acc > best_acc || (acc == best_acc && mr > best.mr))
                best = (KernelParams){mr, nr, 0, 0, 0}, best_acc = acc;
        }
    long panel_bytes = (long)best.nr * t->vlen * 4 * nacc;
    long kc = l1_bytes(t) / 2 / panel_bytes / 16 * 16;
    best.kc = kc < 32 ? 32 : (int)kc;
    return best;
}

static bool in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
        p += *p == ' ';
    }
    return false;
}

void params_default(Target *t) {
    memset(t->kp, 0, sizeof t->kp);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].vlen == t->vlen && t->cpu && in_list(table[i].cpus, t->cpu)) {
            t->kp[K_DENSE] = table[i].dense;
            t->kp[K_GATED] = table[i].gated;
            t->kp_from = PARAMS_TABLE;
            t->kp_entry = table[i].why;
            return;
        }
    for (int i = 0; i < NKINDS; i++)
        t->kp[kinds[i].kind] = analytical(t, kinds[i].nacc);
    t->kp_from = PARAMS_ANALYTICAL;
    t->kp_entry = t->vlen == 16   ? "32 registers of 16 lanes; not measured on this CPU kind"
                  : t->vlen == 8  ? "16 registers of 8 lanes; not measured"
                  : t->vlen == 4  ? "4-lane vectors; not measured"
                                  : "scalar code; not measured";
}

/* ---- profiles ---- */

const char *params_llvm_version(Arena *a) {
    unsigned ma, mi, pa;
    LLVMGetVersion(&ma, &mi, &pa);
    return arena_printf(a, "%u.%u.%u", ma, mi, pa);
}

/* FNV-1a over the profile's key and parameters: a profile whose values
 * were edited by hand no longer matches its checksum. */
static unsigned long long checksum(const char *cpu, long long vlen, const char *actc, const char *llvm,
                                   const char *params) {
    unsigned long long h = 1469598103934665603ull;
    const char *parts[4] = {cpu, actc, llvm, params};
    for (int i = 0; i < 4; i++) {
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ (unsigned long long)(vlen + i)) * 1099511628211ull;
    }
    return h;
}

const char *params_cache_path(Arena *a, const Target *t) {
    const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (base && *base)
        return arena_printf(a, "%s/actc/profile-%s-%d.json", base, t->cpu, t->vlen);
    if (home && *home)
        return arena_printf(a, "%s/.cache/actc/profile-%s-%d.json", home, t->cpu, t->vlen);
    return NULL;
}

/* The profile's parameters into kp (1), or a reason in why (0), or -1 when
 * memory ran out (jansson allocates through the funnel: runtime/alloc.c).
 * Reads only; the caller decides what a failure means. */
static int read_profile(const char *path, const Target *t, bool by_width, KernelParams kp[K_COUNT],
                         bool *other_width, char *why, size_t whylen) {
    *other_width = false;
    /* nothing between json_load_file and json_decref may throw (no arena) */
    char llvm_here[32];
    unsigned ma, mi, pa;
    LLVMGetVersion(&ma, &mi, &pa);
    snprintf(llvm_here, sizeof llvm_here, "%u.%u.%u", ma, mi, pa);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_out_of_memory) /* (not the text: it may quote the file) */
            return -1;
        if (je.line <= 0 && strstr(je.text, "unable to open"))
            snprintf(why, whylen, "cannot be read (%s)", je.text);
        else
            snprintf(why, whylen, "is not valid JSON (line %d: %s)", je.line, je.text);
        return 0;
    }
    int ok = 0;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *cpu = json_string_value(json_object_get(root, "cpu"));
    const char *actc = json_string_value(json_object_get(root, "actc"));
    const char *llvm = json_string_value(json_object_get(root, "llvm"));
    const char *params = json_string_value(json_object_get(root, "params"));
    const char *sum = json_string_value(json_object_get(root, "checksum"));
    json_t *jv = json_object_get(root, "vlen");
    if (!fmt || strcmp(fmt, "actc-profile-1") != 0) {
        snprintf(why, whylen, "is not an actc profile (no \"format\": \"actc-profile-1\")");
    } else if (!cpu || !actc || !llvm || !params || !sum || !json_is_integer(jv)) {
        snprintf(why, whylen, "lacks one of cpu, vlen, actc, llvm, params, checksum");
    } else if (by_width && json_integer_value(jv) != t->vlen) {
        *other_width = true;
        snprintf(why, whylen, "is for %lld lanes", (long long)json_integer_value(jv));
    } else if ((!by_width && strcmp(cpu, t->cpu) != 0) || json_integer_value(jv) != t->vlen) {
        snprintf(why, whylen, "was tuned for %s with %lld lanes, not %s with %d", cpu,
                 (long long)json_integer_value(jv), t->cpu, t->vlen);
    } else if (strcmp(actc, actc_version()) != 0 || strcmp(llvm, llvm_here) != 0) {
        snprintf(why, whylen, "is stale: tuned with actc %s and LLVM %s, this is actc %s with LLVM %s (run actc tune again)",
                 actc, llvm, actc_version(), llvm_here);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%016llx", checksum(cpu, t->vlen, actc, llvm, params));
        if (strcmp(buf, sum) != 0) {
            snprintf(why, whylen, "was edited by hand (its checksum does not match; run actc tune again)");
        } else {
            char err[256];
            ok = params_parse(params, t->nregs, kp, err, sizeof err) == ACTC_OK;
            if (!ok)
                snprintf(why, whylen, "has invalid parameters: %s", err);
        }
    }
    json_decref(root);
    return ok;
}

int params_apply(Target *t, const char *spec, const char *profile, ParamsMode mode, Arena *a, const char **warning,
                 bool *applied, char *err, size_t errlen) {
    *warning = NULL;
    *applied = false;
    if (spec) {
        KernelParams kp[K_COUNT];
        memcpy(kp, t->kp, sizeof kp);
        int st = params_parse(spec, t->nregs, kp, err, errlen);
        if (st)
            return st;
        memcpy(t->kp, kp, sizeof kp);
        t->kp_from = PARAMS_EXPLICIT;
        t->kp_entry = NULL;
        *applied = true;
        return ACTC_OK;
    }
    const char *path = profile ? profile : mode == PARAMS_HOST ? params_cache_path(a, t) : NULL;
    if (!path)
        return ACTC_OK;
    if (!profile && access(path, F_OK) != 0)
        return ACTC_OK; /* no profile in the cache: the built-in choice, silently */
    KernelParams kp[K_COUNT];
    memcpy(kp, t->kp, sizeof kp);
    char why[512];
    bool other_width;
    int got = read_profile(path, t, mode == PARAMS_BY_WIDTH, kp, &other_width, why, sizeof why);
    if (got < 0) {
        snprintf(err, errlen, "out of memory");
        return ACTC_ERR_NOMEM;
    }
    if (!got) {
        if (other_width)
            return ACTC_OK; /* a variant of another width: not this profile's */
        *warning = arena_printf(a, "tuning profile '%s' %s; using the %s parameters", path, why,
                                t->kp_from == PARAMS_TABLE ? "built-in table's" : "analytical");
        return ACTC_OK;
    }
    size_t n = strlen(path) + 1;
    char *own = mem_alloc(n);
    if (!own) {
        snprintf(err, errlen, "out of memory");
        return ACTC_ERR_NOMEM;
    }
    memcpy(own, path, n);
    mem_free(t->kp_owned);
    t->kp_owned = own;
    memcpy(t->kp, kp, sizeof kp);
    t->kp_from = PARAMS_PROFILE;
    t->kp_entry = own;
    *applied = true;
    return ACTC_OK;
}

int params_write_profile(const char *path, const Target *t, Arena *a, const char *extra_json, char *err,
                         size_t errlen) {
    /* everything that may throw (arena) before the first JSON object */
    const char *params = params_format(a, t), *llvm = params_llvm_version(a);
    const char *tmp = arena_printf(a, "%s.tmp%ld", path, (long)getpid());
    char sum[32];
    snprintf(sum, sizeof sum, "%016llx", checksum(t->cpu, t->vlen, actc_version(), llvm, params));
    json_t *root = json_object();
    json_t *extra = extra_json ? json_loads(extra_json, 0, NULL) : NULL;
    int st = ACTC_OK;
    if (!root || json_object_set_new(root, "format", json_string("actc-profile-1")) ||
        json_object_set_new(root, "cpu", json_string(t->cpu)) ||
        json_object_set_new(root, "vlen", json_integer(t->vlen)) ||
        json_object_set_new(root, "actc", json_string(actc_version())) ||
        json_object_set_new(root, "llvm", json_string(llvm)) ||
        json_object_set_new(root, "params", json_string(params)) ||
        json_object_set_new(root, "checksum", json_string(sum)) ||
        (extra && json_object_set(root, "measured", extra))) {
        snprintf(err, errlen, "out of memory");
        st = ACTC_ERR_NOMEM;
    } else {
        /* write a sibling and rename it: a reader never sees half a file */
        if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || rename(tmp, path) != 0) {
            snprintf(err, errlen, "cannot write the profile '%s': %s", path, strerror(errno));
            remove(tmp);
            st = ACTC_ERR_IO;
        }
    }
    json_decref(extra);
    json_decref(root);
    return st;
}
