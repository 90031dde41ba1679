/*
 * stats.c — `actc stats` (docs/stats.md): every row of the inputs through
 * a statistics build of the model in batches, then per site a table row,
 * the JSON report (§4) and the guide's advice (§5); --plot hands the report
 * to stats_plot.c.  The counting itself is in the kernels (cg_stats.c) and
 * the merging in libactrt (runtime/stats.c): this file reads the counters
 * through the public API only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actc/actc.h"
#include "actc/runtime.h"
#include "driver/cli.h"
#include "driver/internal.h"
#include "driver/stats_plot.h"

static const char *kind_word(int kind) {
    return kind == ACTRT_SITE_DEAD ? "dead" : kind == ACTRT_SITE_SATURATING ? "saturated" : "never positive";
}

static bool is_gate(const char *op) {
    return !strcmp(op, "glu") || !strcmp(op, "reglu") || !strcmp(op, "geglu") || !strcmp(op, "geglu_tanh") ||
           !strcmp(op, "swiglu");
}

/* JSON has no infinities and no NaN: "inf", "-inf", "nan" (docs/stats.md §4). */
static json_t *real_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static json_t *index_list(const int64_t *counts, int64_t units, bool (*pick)(int64_t c, int64_t samples),
                          int64_t samples, int64_t *n) {
    json_t *a = json_array();
    *n = 0;
    for (int64_t j = 0; j < units; j++)
        if (pick(counts[j], samples)) {
            json_array_append_new(a, json_integer(j));
            ++*n;
        }
    return a;
}

static bool never(int64_t c, int64_t samples) { return (void)samples, c == 0; }
/* saturated on at least 99% of the samples: 100 c >= 99 samples, in integers */
static bool mostly(int64_t c, int64_t samples) { return samples > 0 && 100 * c >= 99 * samples; }

/* The site's object of the report, and its advice appended to `advice`. */
static json_t *site_json(const actrt_site_desc *sd, int i, const actrt_site_stats *s, const int64_t *active,
                         const int64_t *sat, json_t *advice) {
    json_t *o = json_object();
    json_object_set_new(o, "site", json_integer(i));
    json_object_set_new(o, "op", json_string(sd->op));
    json_object_set_new(o, "line", json_integer(sd->line));
    json_t *calls = json_array();
    for (const char *p = sd->call_lines; *p;) {
        json_array_append_new(calls, json_integer(strtol(p, (char **)&p, 10)));
        if (*p == ',')
            p++;
    }
    json_object_set_new(o, "call_lines", calls);
    json_object_set_new(o, "layer", json_string(sd->layer));
    json_object_set_new(o, "units", json_integer(sd->units));
    int64_t units = sd->units, n;
    double frac = 0;
    const char *key = sd->kind == ACTRT_SITE_DEAD ? "dead" : sd->kind == ACTRT_SITE_SATURATING ? "saturated"
                                                                                              : "never_positive";
    json_t *set = sd->kind == ACTRT_SITE_SATURATING ? index_list(sat, units, mostly, s->samples, &n)
                                                    : index_list(active, units, never, s->samples, &n);
    frac = units ? (double)n / (double)units : 0;
    json_object_set_new(o, key, set);
    json_object_set_new(o, sd->kind == ACTRT_SITE_DEAD         ? "dead_fraction"
                           : sd->kind == ACTRT_SITE_SATURATING ? "saturated_fraction"
                                                               : "never_positive_fraction",
                        json_real(frac));
    double act = 0;
    for (int64_t j = 0; j < units; j++)
        act += (double)active[j];
    json_object_set_new(o, "mean_active_fraction",
                        real_or_null(s->samples && units ? act / ((double)s->samples * (double)units) : NAN));
    json_t *pre = json_object();
    json_object_set_new(pre, "min", real_or_null(s->min));
    json_object_set_new(pre, "max", real_or_null(s->max));
    json_object_set_new(pre, "mean", real_or_null(s->mean));
    json_object_set_new(pre, "std", real_or_null(s->std));
    json_object_set_new(o, "preact", pre);
    json_t *h = json_object(), *edges = json_array(), *counts = json_array();
    for (int b = 0; b <= ACTRT_STATS_BINS; b++)
        json_array_append_new(edges, json_real(actrt_stats_edge(b)));
    for (int b = 0; b < ACTRT_STATS_BINS; b++)
        json_array_append_new(counts, json_integer(s->hist[b]));
    json_object_set_new(h, "edges", edges);
    json_object_set_new(h, "counts", counts);
    json_object_set_new(h, "underflow", json_integer(s->hist[ACTRT_STATS_BINS]));
    json_object_set_new(h, "overflow", json_integer(s->hist[ACTRT_STATS_BINS + 1]));
    json_object_set_new(o, "histogram", h);
    /* the guide's rules (docs/stats.md §5) */
    char msg[512];
    const char *rule = "fine";
    if (sd->kind == ACTRT_SITE_DEAD && frac > 0.10) {
        rule = "dead > 10%";
        snprintf(msg, sizeof msg,
                 "site %d (%s, %s, line %d): %lld of %lld units (%.1f%%) are dead, never active on %lld samples: "
                 "consider leaky_relu or prelu, or a lower learning rate",
                 i, sd->op, sd->layer, sd->line, (long long)n, (long long)units, 100 * frac, (long long)s->samples);
    } else if (sd->kind == ACTRT_SITE_SATURATING && frac > 0.10) {
        rule = "saturated > 10%";
        snprintf(msg, sizeof msg,
                 "site %d (%s, %s, line %d): %lld of %lld units (%.1f%%) are saturated on 99%% of the samples: "
                 "consider a non-saturating activation, or normalisation before it",
                 i, sd->op, sd->layer, sd->line, (long long)n, (long long)units, 100 * frac);
    } else if (sd->kind == ACTRT_SITE_NEVER_POSITIVE && is_gate(sd->op) && frac > 0.5) {
        rule = "gate never positive > 50%";
        snprintf(msg, sizeof msg,
                 "site %d (%s, %s, line %d): the gate's activated operand is never positive on %lld of %lld units "
                 "(%.1f%%): most of the gate passes little",
                 i, sd->op, sd->layer, sd->line, (long long)n, (long long)units, 100 * frac);
    } else {
        snprintf(msg, sizeof msg, "site %d (%s, %s, line %d): fine (%lld of %lld units %s)", i, sd->op, sd->layer,
                 sd->line, (long long)n, (long long)units, kind_word(sd->kind));
    }
    json_t *a = json_object();
    json_object_set_new(a, "site", json_integer(i));
    json_object_set_new(a, "rule", json_string(rule));
    json_object_set_new(a, "figure", json_real(frac));
    json_object_set_new(a, "message", json_string(msg));
    json_array_append_new(advice, a);
    return o;
}

static double curve(void *ud, int site, double x) {
    const actrt_model *m = ud;
    const actrt_site_desc *sd = actrt_model_site(m, site);
    return sd ? actc_activation_value(sd->op, x) : NAN;
}

/* A report's number back (its "inf", "-inf", "nan" strings included). */
static double number(const json_t *v) {
    const char *t = json_string_value(v);
    if (t)
        return !strcmp(t, "inf") ? INFINITY : !strcmp(t, "-inf") ? -INFINITY : NAN;
    return json_number_value(v);
}

static void print_table(const json_t *rep, FILE *f) {
    const json_t *sites = json_object_get(rep, "sites");
    fprintf(f, "model %s: %lld samples, %zu activation sites\n", json_string_value(json_object_get(rep, "model")),
            (long long)json_integer_value(json_object_get(rep, "samples")), json_array_size(sites));
    fprintf(f, "%4s  %-12s %-16s %5s %6s  %-26s %7s  %s\n", "site", "op", "layer", "line", "units", "dead / saturated",
            "active", "pre-activation min .. max, mean +- std");
    for (size_t i = 0; i < json_array_size(sites); i++) {
        const json_t *s = json_array_get(sites, i), *pre = json_object_get(s, "preact");
        const char *kinds[3][2] = {{"dead", "dead_fraction"},
                                   {"saturated", "saturated_fraction"},
                                   {"never_positive", "never_positive_fraction"}};
        char what[64] = "";
        for (int k = 0; k < 3; k++)
            if (json_object_get(s, kinds[k][0]))
                snprintf(what, sizeof what, "%zu %s (%.1f%%)", json_array_size(json_object_get(s, kinds[k][0])),
                         k == 2 ? "never positive" : kinds[k][0],
                         100 * json_real_value(json_object_get(s, kinds[k][1])));
        fprintf(f, "%4lld  %-12s %-16s %5lld %6lld  %-26s %7.3f  %.4g .. %.4g, %.4g +- %.4g\n",
                (long long)json_integer_value(json_object_get(s, "site")), json_string_value(json_object_get(s, "op")),
                json_string_value(json_object_get(s, "layer")), (long long)json_integer_value(json_object_get(s, "line")),
                (long long)json_integer_value(json_object_get(s, "units")), what,
                number(json_object_get(s, "mean_active_fraction")), number(json_object_get(pre, "min")),
                number(json_object_get(pre, "max")), number(json_object_get(pre, "mean")),
                number(json_object_get(pre, "std")));
    }
    const json_t *adv = json_object_get(rep, "advice");
    for (size_t i = 0; i < json_array_size(adv); i++)
        fprintf(f, "  %s\n", json_string_value(json_object_get(json_array_get(adv, i), "message")));
}

int cli_stats(actrt_model *m, const actrt_desc *d, float *const *in, int64_t rows, int64_t batch, const char *json_path,
              const char *plot_dir) {
    if (d->nsites == 0) {
        fprintf(stderr, "actc: error: model '%s' has no activation to count (docs/stats.md §1)\n", d->name);
        return 1;
    }
    int64_t step = d->fixed_batch > 0 ? d->fixed_batch : batch < rows ? batch : rows; /* no buffer beyond the rows */
    if (d->fixed_batch > 0 && rows % d->fixed_batch) {
        fprintf(stderr, "actc: error: model '%s' has a constant batch of %lld: the inputs' %lld rows are not a multiple of it\n",
                d->name, (long long)d->fixed_batch, (long long)rows);
        return 1;
    }
    float **out = calloc((size_t)d->noutputs + 1, sizeof(float *));
    const float **ins = calloc((size_t)d->ninputs + 1, sizeof(float *));
    int rc = 1;
    for (int i = 0; out && i < d->noutputs; i++)
        if (!(out[i] = malloc(sizeof(float) * (size_t)(step * d->outputs[i].n) + 1)))
            goto oom;
    if (!out || !ins)
        goto oom;
    for (int64_t r0 = 0; r0 < rows; r0 += step) {
        int64_t n = r0 + step <= rows ? step : rows - r0;
        for (int i = 0; i < d->ninputs; i++)
            ins[i] = in[i] + r0 * d->inputs[i].n;
        int st = actrt_model_run(m, n, ins, out);
        if (st) {
            fprintf(stderr, "actc: error: rows %lld..%lld: %s\n", (long long)r0, (long long)(r0 + n - 1),
                    actrt_last_error(m));
            rc = st == ACTC_ERR_INTERNAL ? 2 : 1;
            goto done;
        }
    }
    json_t *rep = json_object(), *sites = json_array(), *advice = json_array();
    json_object_set_new(rep, "model", json_string(d->name));
    json_object_set_new(rep, "samples", json_integer(rows));
    int64_t units_max = 1;
    for (int i = 0; i < d->nsites; i++)
        units_max = d->sites[i].units > units_max ? d->sites[i].units : units_max;
    int64_t *active = calloc((size_t)units_max, sizeof(int64_t)), *sat = calloc((size_t)units_max, sizeof(int64_t));
    if (!active || !sat) {
        free(active), free(sat), json_decref(rep), json_decref(sites), json_decref(advice);
        goto oom;
    }
    for (int i = 0; i < d->nsites; i++) {
        actrt_site_stats s = {.size = sizeof s, .active = active, .saturated = sat};
        if (actrt_model_stats_read(m, i, &s) != ACTC_OK) { /* a site no kernel computes: left out, said so */
            fprintf(stderr, "actc: warning: %s\n", actrt_last_error(m));
            continue;
        }
        json_array_append_new(sites, site_json(&d->sites[i], i, &s, active, sat, advice));
    }
    free(active), free(sat);
    json_object_set_new(rep, "sites", sites);
    json_object_set_new(rep, "advice", advice);
    rc = 0;
    bool to_stdout = json_path && !strcmp(json_path, "-");
    if (!to_stdout)
        print_table(rep, stdout);
    if (json_path) {
        int w = to_stdout ? json_dumpf(rep, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17))
                          : json_dump_file(rep, json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
        if (to_stdout)
            fputc('\n', stdout);
        if (w) {
            fprintf(stderr, "actc: error: cannot write the statistics to '%s'\n", json_path);
            rc = 1;
        }
    }
    if (plot_dir && rc == 0) {
        char err[512];
        if (stats_plot_write(rep, plot_dir, curve, m, err, sizeof err)) {
            fprintf(stderr, "actc: error: %s\n", err);
            rc = 1;
        }
    }
    json_decref(rep);
    goto done;
oom:
    fprintf(stderr, "actc: error: out of memory\n");
done:
    for (int i = 0; out && i < d->noutputs; i++)
        free(out[i]);
    free(out);
    free(ins);
    return rc;
}
