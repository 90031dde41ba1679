/*
 * fuzz_profile.c — tuning profiles (params.c, docs/tuning.md) over hostile
 * files: the input is written to a file and applied to the host target as
 * the JIT would (PARAMS_HOST) and as an AOT variant (PARAMS_BY_WIDTH).  A
 * profile either applies with parameters params_parse accepts or leaves
 * the target's parameters as they were with a warning; never a crash, an
 * error status or a read out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"

static Target host;
static KernelParams builtin[K_COUNT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    char err[512];
    if (!ready) {
        if (target_init(&host, NULL, NULL, NULL, 0, err, sizeof err) != ACTC_OK)
            abort();
        memcpy(builtin, host.kp, sizeof builtin);
        ready = 1;
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/actc-fuzz-profile-%ld.json", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    for (int mode = 0; mode < 2; mode++) {
        Arena a = {0};
        memcpy(host.kp, builtin, sizeof builtin);
        host.kp_from = PARAMS_TABLE;
        const char *warning = NULL;
        bool applied = false;
        int st = params_apply(&host, NULL, path, mode ? PARAMS_BY_WIDTH : PARAMS_HOST, &a, &warning, &applied, err,
                              sizeof err);
        if (st != ACTC_OK)
            abort(); /* a profile is never an error */
        if (!applied && memcmp(host.kp, builtin, sizeof builtin) != 0)
            abort(); /* not applied, yet changed */
        if (applied && warning)
            abort();
        for (int k = K_DENSE; k <= K_GATED && applied; k++)
            if (host.kp[k].mr < 1 || host.kp[k].mr > 16 || host.kp[k].nr < 1 || host.kp[k].nr > 8)
                abort();
        if (warning && !strstr(warning, path))
            abort(); /* the warning names the file */
        arena_free(&a);
    }
    remove(path);
    return 0;
}
