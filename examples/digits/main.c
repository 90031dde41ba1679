/*
 * examples/digits/main.c — classify the held-out digits with the AOT-compiled
 * model (digits.o + digits.h from `actc compile digits.act --embed-weights`,
 * so the weights are inside the object) and compare with PyTorch.
 *
 *   usage: digits DIR     DIR holds test_x.npy, test_y.npy, torch_pred.npy
 *                         and torch_logits.npy (written by train.py)
 *
 * Prints the accuracy, whether every prediction equals PyTorch's, the
 * largest logit difference from PyTorch, and the latency of a whole-split
 * batch and of single samples (medians).  Exit status 0 only if every
 * prediction agrees with PyTorch's.  The .npy files are read with
 * libactrt's actrt_npy_read (the labels are int64, read exactly as f32);
 * the model itself needs only libc.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actc/runtime.h"
#include "digits.h"

enum { PIXELS = DIGITS_INPUT_X_FEATURES, CLASSES = DIGITS_OUTPUT_LOGITS_FEATURES };

/* Read DIR/NAME as f32 with `rows` rows of `cols` values (cols 0: rank 1). */
static float *load(const char *dir, const char *name, int64_t *rows, int64_t cols) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    float *data;
    int64_t shape[ACTRT_NPY_MAX_RANK];
    int rank;
    if (actrt_npy_read(path, &data, shape, &rank) != 0) {
        fprintf(stderr, "digits: %s\n", actrt_last_error(NULL));
        return NULL;
    }
    int want = cols ? 2 : 1;
    if (rank != want || (cols && shape[1] != cols) || (*rows >= 0 && shape[0] != *rows)) {
        fprintf(stderr, "digits: %s: expected a rank-%d array%s\n", path, want,
                cols ? " with 64 or 10 columns, one row per sample" : " with one value per sample");
        actrt_free(data);
        return NULL;
    }
    *rows = shape[0];
    return data;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int argmax(const float *v) {
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
        if (v[c] > v[best])
            best = c;
    return best;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int64_t n = -1;
    float *x = load(argv[1], "test_x.npy", &n, PIXELS);
    float *label = x ? load(argv[1], "test_y.npy", &n, 0) : NULL;
    float *ref_pred = label ? load(argv[1], "torch_pred.npy", &n, 0) : NULL;
    float *ref_logits = ref_pred ? load(argv[1], "torch_logits.npy", &n, CLASSES) : NULL;
    digits_model *m = NULL;
    float *logits = NULL, *probs = NULL;
    int status = 1;
    if (!ref_logits)
        goto out;
    if (digits_create(&m, NULL) != 0) { /* NULL: the weights embedded in digits.o */
        fprintf(stderr, "digits: %s\n", digits_last_error(NULL));
        goto out;
    }
    logits = malloc((size_t)n * CLASSES * sizeof *logits);
    probs = malloc((size_t)n * CLASSES * sizeof *probs);
    if (!logits || !probs) {
        fprintf(stderr, "digits: out of memory\n");
        goto out;
    }
    if (digits_run(m, n, x, logits, probs) != 0) {
        fprintf(stderr, "digits: %s\n", digits_last_error(m));
        goto out;
    }

    int64_t correct = 0, ref_correct = 0, agree = 0;
    double max_diff = 0, max_psum_err = 0;
    for (int64_t i = 0; i < n; i++) {
        int p = argmax(logits + i * CLASSES);
        correct += p == (int)label[i];
        ref_correct += (int)ref_pred[i] == (int)label[i];
        if (p == (int)ref_pred[i])
            agree++;
        else
            fprintf(stderr, "digits: sample %lld: actc predicts %d, PyTorch %d\n", (long long)i, p,
                    (int)ref_pred[i]);
        double psum = 0;
        for (int c = 0; c < CLASSES; c++) {
            double d = fabs((double)logits[i * CLASSES + c] - ref_logits[i * CLASSES + c]);
            max_diff = d > max_diff ? d : max_diff;
            psum += probs[i * CLASSES + c];
        }
        max_psum_err = fabs(psum - 1) > max_psum_err ? fabs(psum - 1) : max_psum_err;
    }
    printf("held-out digits: %lld samples (variant %s)\n", (long long)n, digits_variant(m));
    printf("accuracy   actc %.2f%% (%lld/%lld)   PyTorch %.2f%% (%lld/%lld)\n", 100.0 * correct / n,
           (long long)correct, (long long)n, 100.0 * ref_correct / n, (long long)ref_correct, (long long)n);
    printf("predictions equal to PyTorch's on %lld of %lld samples%s\n", (long long)agree, (long long)n,
           agree == n ? " (all)" : "");
    printf("largest |logit - PyTorch logit| = %.2g; largest |sum(probs) - 1| = %.2g\n", max_diff, max_psum_err);

    /* Latency: medians of 51 timed runs after a warm-up, whole split and one sample. */
    enum { REPS = 51 };
    double whole[REPS], single[REPS];
    for (int r = -3; r < REPS; r++) {
        double t0 = now();
        digits_run(m, n, x, logits, probs);
        double t1 = now();
        for (int64_t i = 0; i < n; i++)
            digits_run(m, 1, x + i * PIXELS, logits + i * CLASSES, probs + i * CLASSES);
        double t2 = now();
        if (r >= 0) {
            whole[r] = t1 - t0;
            single[r] = (t2 - t1) / (double)n;
        }
    }
    qsort(whole, REPS, sizeof *whole, cmp_double);
    qsort(single, REPS, sizeof *single, cmp_double);
    printf("latency    batch of %lld: %.1f us (%.3f us per sample)   batch of 1: %.3f us per sample\n",
           (long long)n, 1e6 * whole[REPS / 2], 1e6 * whole[REPS / 2] / (double)n, 1e6 * single[REPS / 2]);
    /* Logits agree with PyTorch's f32 ones to 1e-4: both sum at most 96
     * products in f32 in different orders (about 1e-6 relative here, 5.7e-6
     * measured on logits up to ~20); the activations are within a few ULP. */
    if (max_diff > 1e-4)
        fprintf(stderr, "digits: logits differ from PyTorch's by %.2g (bound 1e-4)\n", max_diff);
    status = agree == n && correct == ref_correct && max_diff <= 1e-4 ? 0 : 1;
out:
    free(logits);
    free(probs);
    digits_destroy(m);
    actrt_free(x);
    actrt_free(label);
    actrt_free(ref_pred);
    actrt_free(ref_logits);
    return status;
}
