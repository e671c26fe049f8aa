/* suggest: the known word nearest to a mistyped one (see suggest.c). */
#ifndef FAASET_SUGGEST_H
#define FAASET_SUGGEST_H

/* The known word closest to WORD among WORDS (NULL-terminated), or NULL if
 * none is within two edits. */
const char *suggest_nearest(const char *word, const char *const *words);

#endif
