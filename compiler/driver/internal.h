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

#endif
