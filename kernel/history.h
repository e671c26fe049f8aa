/* history: the notebook's input history, kept across kernel restarts.
 * Records live in one JSON Lines file, by default
 * $XDG_DATA_HOME/faaset/history.jsonl (FAASET_HISTORY overrides), mode 0600;
 * each is {"session":S,"line":N,"input":...,"output":...} appended with one
 * write() under an exclusive lock, so kernels sharing the file never
 * interleave. A kernel takes the next session number at start. Queries
 * answer Jupyter's history_request: tail, range and search (glob pattern,
 * unique, n), as [session, line, input] or [session, line, [input, output]]. */
#ifndef FAASET_HISTORY_H
#define FAASET_HISTORY_H

#include <jansson.h>
#include <stddef.h>

struct history;

/* Opens (creating if needed) the history file. A history that cannot be
 * opened is reported in ERR and the kernel keeps going without one (NULL). */
struct history *history_open(char *err, size_t err_size);
void history_close(struct history *history);

int history_session(const struct history *history);

/* Appends one cell of the current session. OUTPUT may be NULL. */
void history_append(struct history *history, int line, const char *input, const char *output);

/* Answers a history_request's content with the reply's "history" list. */
json_t *history_query(struct history *history, const json_t *request);

#endif
