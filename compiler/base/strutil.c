/*
 * strutil.c — small string algorithms used by diagnostics.
 */
#include <string.h>

#include "base.h"

/* Levenshtein distance by the two-row method; names are short (<= 64 bytes
 * are compared, longer ones are never suggested). */
int edit_distance(const char *a, const char *b, int cap) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)cap)
        return cap + 1;
    int row[65], next[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        next[0] = (int)i;
        int best = next[0];
        for (size_t j = 1; j <= lb; j++) {
            int sub = row[j - 1] + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = next[j - 1] + 1;
            int m = sub < del ? sub : del;
            next[j] = m < ins ? m : ins;
            if (next[j] < best)
                best = next[j];
        }
        if (best > cap)
            return cap + 1;
        memcpy(row, next, sizeof(int) * (lb + 1));
    }
    return row[lb];
}
