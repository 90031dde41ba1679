/*
 * examples/aot/app.c — a host program that uses an actc AOT object through
 * its generated header (docs/aot.md): the SwiGLU feed-forward block of
 * examples/ffn.act, weights from a safetensors file given on the command
 * line.  Built two ways: CMake with find_package(actc) + actc_add_model
 * (CMakeLists.txt), and a plain Makefile with pkg-config (Makefile).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ffn.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WEIGHTS.safetensors\n", argv[0]);
        return 2;
    }
    ffn_model *m;
    if (ffn_create(&m, argv[1]) != 0) {
        fprintf(stderr, "ffn_create: %s\n", ffn_last_error(NULL));
        return 1;
    }
    enum { BATCH = 4, D = FFN_INPUT_X_FEATURES, OUT = FFN_OUTPUT_OUTPUT_FEATURES };
    static float x[BATCH * D], y[BATCH * OUT];
    for (int i = 0; i < BATCH * D; i++)
        x[i] = sinf((float)i * 0.01f);
    if (ffn_run(m, BATCH, x, y) != 0) {
        fprintf(stderr, "ffn_run: %s\n", ffn_last_error(m));
        ffn_destroy(m);
        return 1;
    }
    double sum = 0;
    for (int i = 0; i < BATCH * OUT; i++)
        sum += y[i];
    printf("ffn: %d rows, y[0] = %.6f, sum = %.6f\n", BATCH, y[0], sum);
    ffn_destroy(m);
    return 0;
}
