/* suggest: "did you mean ...?" for words a user mistyped (magic names,
 * option keys, experiment keys, function names): the Levenshtein distance
 * over ASCII case-folded bytes, in one row of at most 33 entries; words
 * longer than 32 bytes are never suggested, and nothing farther than two
 * edits is. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

static size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32)
        return 99;
    size_t row[33];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diagonal + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

const char *suggest_nearest(const char *word, const char *const *words)
{
    const char *best = NULL;
    size_t best_distance = 3; /* farther than two edits is no suggestion */
    for (size_t i = 0; words[i] != NULL; i++) {
        size_t distance = suggest_distance(word, words[i]);
        if (distance < best_distance) {
            best = words[i];
            best_distance = distance;
        }
    }
    return best;
}
