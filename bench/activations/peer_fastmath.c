/* peer_fastmath.c — the same scalar definitions as peer_libm.c, built with
 * -O3 -ffast-math -march=native: with -ffast-math
 * glibc's <math.h> declares expf, tanhf, erfcf, log1pf, expm1f ... as
 * `simd`, so gcc may vectorise a loop by calling libmvec's AVX-512 variants
 * (_ZGVeN16v_expf ...).  run.sh lists, from objdump, which loops did. */
#define PEER_NAME(act) fastmath_##act
#define PEER_TABLE fastmath_loops
#include "act_scalar.h"
