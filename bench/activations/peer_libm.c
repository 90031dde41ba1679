/* peer_libm.c — the naive scalar peer: act_scalar.h over glibc's libm,
 * built with plain -O2 (no -ffast-math, no -march): one libm call per
 * element and transcendental. */
#define PEER_NAME(act) libm_##act
#define PEER_TABLE libm_loops
#include "act_scalar.h"
