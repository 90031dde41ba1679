/*
 * internal.h — entry points of libactc used by the CLI and the tests but not
 * (yet) part of the public API: dumps of intermediate stages.  They follow
 * the public conventions (status codes, boundaries, session-owned strings).
 */
#ifndef ACTC_DRIVER_INTERNAL_H
#define ACTC_DRIVER_INTERNAL_H

#include "actc/actc.h"

/* The parsed program, printed back (actc dump --ast). */
int actc_dump_ast(actc_session *s, const char **out);

typedef enum { ACTC_DUMP_GRAPH, ACTC_DUMP_FUSED, ACTC_DUMP_DOT } actc_dump_kind;

/* Lower the model `model` (NULL: the only one), run the passes (for
 * ACTC_DUMP_GRAPH: up to and including the pass named `stage`, "lowered"
 * for none, NULL for all) and print the graph, the fusion report or the
 * Graphviz dot of the kernel graph. */
int actc_dump(actc_session *s, const char *model, actc_dump_kind kind, const char *stage, const char **out);

#endif
