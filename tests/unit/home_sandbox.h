/* home_sandbox: a HOME of the test's own for the C tests of credential
 * loaders. It makes a private folder under /tmp, points HOME at it (the
 * process's own environment, so nothing of the user's is read or written),
 * clears the variables a loader reads, writes files into it and removes it
 * with all it holds at the end. */
#ifndef FAASET_HOME_SANDBOX_H
#define FAASET_HOME_SANDBOX_H

/* Makes /tmp/PREFIX-XXXXXX and sets HOME to it; returns its path (valid
 * until home_sandbox_remove), or exits with a message when it cannot. */
const char *home_sandbox_start(const char *prefix);

/* Unsets each of VARIABLES (NULL-terminated). */
void home_sandbox_unset(const char *const *variables);

/* Writes TEXT to RELATIVE under the home (its folder must exist), or exits with a message when it cannot. */
void home_sandbox_write(const char *relative, const char *text);

/* Removes the home and everything in it. */
void home_sandbox_remove(void);

#endif
