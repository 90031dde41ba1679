/*
 * examples/host/main.c — a host program that uses actc's public API end to
 * end: compile a .act model in process (libactc: compiler + LLVM JIT), bind
 * its weights from a safetensors file and run it (libactrt: the runtime).
 *
 *     usage: host MODEL.act WEIGHTS.safetensors [BATCH]
 *
 * It runs the model on a deterministic batch (BATCH rows, default 4 or the
 * model's fixed batch; input k holds x[i][j] = sin(i + j + k)), prints the
 * model's inputs and outputs with their shapes and the first values of
 * every output row.
 *
 * Life cycle (docs/api.md):
 *     actc_session_new -> actc_check_file -> actc_jit_compile
 *       -> actrt_model_create(&m, actc_jit_desc(j)) -> actrt_model_load_weights
 *       -> actrt_model_run (as often as you like, from any thread)
 *       -> actrt_model_free -> actc_jit_free -> actc_session_free
 *
 * Build (from the repository root, after `make`):
 *     cc -std=c99 -Wall -Wextra -pedantic -Iinclude examples/host/main.c \
 *        build/libactc.a build/libactrt.a \
 *        -L/usr/lib/llvm-19/lib -lLLVM -ljansson -lm -lpthread -fopenmp -o host
 *
 * Plain C99: the public headers need nothing newer.  Exit status follows
 * the actc command line: 0 ok, 2 an internal error (a bug in actc),
 * 1 anything else (bad model, weights or arguments, I/O, out of memory).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "actc/actc.h"    /* libactc: sessions, checking, diagnostics, JIT */
#include "actc/runtime.h" /* libactrt: models, weights, running */

/* How many values of each output row to print. */
#define SHOW 6

/* Map an actc_status to an exit status, as `actc` does. */
static int exit_status(int st) {
    if (st == ACTC_OK)
        return 0;
    return st == ACTC_ERR_INTERNAL ? 2 : 1;
}

int main(int argc, char **argv) {
    const char *model_path, *weights_path;
    long batch = 0; /* 0: not given on the command line */
    actc_session *session = NULL; /* libactc: the compilation */
    actc_jit_model *jit = NULL;   /* libactc: the code, loaded in this process */
    actrt_model *model = NULL;    /* libactrt: code + packed weights + scratch */
    float **inputs = NULL, **outputs = NULL;
    int ninputs = 0, noutputs = 0;
    int st, i, rc = 1;
    long r;
    int64_t n;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.act WEIGHTS.safetensors [BATCH]\n", argv[0]);
        return 1;
    }
    model_path = argv[1];
    weights_path = argv[2];
    if (argc == 4) {
        char *end;
        batch = strtol(argv[3], &end, 10);
        if (*end != '\0' || batch <= 0 || batch > 1000000) {
            fprintf(stderr, "host: error: BATCH must be a positive integer, got '%s'\n", argv[3]);
            return 1;
        }
    }
    printf("actc %s\n", actc_version());
    fflush(stdout); /* keep stdout and stderr in order when both go to a pipe */

    /* 1. A session holds one compilation.  It fails only for lack of memory,
     *    and then there is no session to ask for a message. */
    st = actc_session_new(&session);
    if (st != ACTC_OK) {
        fprintf(stderr, "host: error: cannot create a session: %s\n", actc_status_string(st));
        return exit_status(st);
    }

    /* 2. Parse and check the model.  User errors (ACTC_ERR_SYNTAX,
     *    ACTC_ERR_CHECK) come with clang-style diagnostics; every failure has
     *    a one-line message in actc_last_error().  Warnings may be present
     *    even on success, so render whenever there is anything to show. */
    st = actc_check_file(session, model_path);
    if (actc_diag_count(session) > 0) {
        const char *text = actc_diag_render(session, ACTC_DIAG_TEXT); /* owned by the session */
        if (text)
            fputs(text, stderr);
    }
    if (st != ACTC_OK) {
        /* the message names the file: "examples/x.act: 3 errors" */
        fprintf(stderr, "host: error: %s (%s)\n", actc_last_error(session), actc_status_string(st));
        rc = exit_status(st);
        goto done;
    }

    /* 3. Compile and JIT the model.  NULL model: the file's only model (pass
     *    its name when the file defines several); NULL options: code for this
     *    machine's CPU.  The jit model must outlive every runtime model made
     *    from its description. */
    st = actc_jit_compile(session, NULL, NULL, &jit);
    if (st != ACTC_OK) {
        fprintf(stderr, "host: error: cannot compile %s: %s (%s)\n", model_path, actc_last_error(session),
                actc_status_string(st));
        rc = exit_status(st);
        goto done;
    }

    /* 4. A runtime model from the compiled description.  On failure there is
     *    no model yet: actrt_last_error(NULL) holds this thread's message. */
    st = actrt_model_create(&model, actc_jit_desc(jit));
    if (st != ACTC_OK) {
        fprintf(stderr, "host: error: cannot create the model: %s\n", actrt_last_error(NULL));
        rc = exit_status(st);
        goto done;
    }

    /* 5. Bind the weights by their PyTorch names.  Several paths make a
     *    sharded checkpoint; the last argument is a name prefix (e.g.
     *    "model.layers.0.mlp.") or NULL.  Extra tensors are ignored; a missing
     *    or mis-shaped tensor is an error naming it and the model line that
     *    declared it. */
    {
        const char *paths[] = {weights_path};
        st = actrt_model_load_weights(model, paths, 1, NULL);
    }
    if (st != ACTC_OK) {
        fprintf(stderr, "host: error: cannot load weights: %s\n", actrt_last_error(model));
        rc = exit_status(st);
        goto done;
    }

    /* 6. The batch: a model declared with a constant batch (x: f32[8, 512])
     *    runs exactly that many rows; one with a symbolic batch (f32[batch,
     *    512]) runs any number.  The description says which. */
    if (batch == 0)
        batch = actc_jit_desc(jit)->fixed_batch > 0 ? (long)actc_jit_desc(jit)->fixed_batch : 4;

    /* 7. Ask the model for its shape: every input and output is
     *    f32[batch, features], in declaration order. */
    ninputs = actrt_model_num_inputs(model);
    noutputs = actrt_model_num_outputs(model);
    printf("model: %d input%s, %d output%s, %lld bytes of scratch for %ld rows\n", ninputs, ninputs == 1 ? "" : "s",
           noutputs, noutputs == 1 ? "" : "s", (long long)actrt_model_workspace_size(model, (int64_t)batch), batch);
    for (i = 0; i < ninputs; i++) {
        const char *name = actrt_model_input(model, i, &n);
        printf("  input  %d: %-8s f32[%ld, %lld]\n", i, name, batch, (long long)n);
    }
    for (i = 0; i < noutputs; i++) {
        const char *name = actrt_model_output(model, i, &n);
        printf("  output %d: %-8s f32[%ld, %lld]\n", i, name, batch, (long long)n);
    }

    /* 8. Buffers: one row-major f32 array per input and output.  Input k
     *    holds x[i][j] = sin(i + j + k), so every run sees the same data. */
    inputs = calloc((size_t)ninputs + 1, sizeof *inputs);
    outputs = calloc((size_t)noutputs + 1, sizeof *outputs);
    if (!inputs || !outputs) {
        fprintf(stderr, "host: error: out of memory\n");
        goto done;
    }
    for (i = 0; i < ninputs; i++) {
        int64_t j;
        actrt_model_input(model, i, &n);
        inputs[i] = malloc(sizeof(float) * (size_t)(batch * n));
        if (!inputs[i]) {
            fprintf(stderr, "host: error: out of memory\n");
            goto done;
        }
        for (r = 0; r < batch; r++)
            for (j = 0; j < n; j++)
                inputs[i][r * n + j] = (float)sin((double)(r + j + i));
    }
    for (i = 0; i < noutputs; i++) {
        actrt_model_output(model, i, &n);
        outputs[i] = malloc(sizeof(float) * (size_t)(batch * n));
        if (!outputs[i]) {
            fprintf(stderr, "host: error: out of memory\n");
            goto done;
        }
    }

    /* 9. Run.  actrt_model_run may be called from several threads at once on
     *    one model; after a thread's first run at a given batch size it
     *    allocates nothing. */
    st = actrt_model_run(model, (int64_t)batch, (const float *const *)inputs, outputs);
    if (st != ACTC_OK) {
        fprintf(stderr, "host: error: run failed: %s\n", actrt_last_error(model));
        rc = exit_status(st);
        goto done;
    }

    /* 10. Print the first values of every output row. */
    for (i = 0; i < noutputs; i++) {
        const char *name = actrt_model_output(model, i, &n);
        printf("%s:\n", name);
        for (r = 0; r < batch; r++) {
            int64_t j;
            printf("  [%ld]", r);
            for (j = 0; j < n && j < SHOW; j++)
                printf(" % .6f", outputs[i][r * n + j]);
            printf("%s\n", n > SHOW ? " ..." : "");
        }
    }
    rc = 0;

done:
    /* 11. Free in reverse order of creation: buffers, then every runtime
     *     model, then the JIT model (its code and description), then the
     *     session.  All the free functions accept NULL. */
    for (i = 0; inputs && i < ninputs; i++)
        free(inputs[i]);
    for (i = 0; outputs && i < noutputs; i++)
        free(outputs[i]);
    free(inputs);
    free(outputs);
    actrt_model_free(model);
    actc_jit_free(jit);
    actc_session_free(session);
    return rc;
}
