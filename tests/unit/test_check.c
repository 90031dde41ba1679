#include <criterion/criterion.h>
Test(dummy, ok) { cr_assert(1); }
