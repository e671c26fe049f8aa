/* credfile: what the platforms' credential loaders share (aws, gcf,
 * openwhisk): secrets wiped before they are freed, environment variables
 * that count only when set and not empty, the user's home folder, and a
 * path shown with the home as "~" (so messages do not spell out the home). */
#ifndef FAASET_CREDFILE_H
#define FAASET_CREDFILE_H

/* Overwrites S with zeros and frees it (NULL: nothing). */
void credfile_wipe_free(char *s);

/* The variable NAME's value, or NULL when it is unset or empty. */
const char *credfile_env(const char *name);

/* $HOME, else the password database's home folder, as a new string; NULL
 * when there is neither (or out of memory). */
char *credfile_home(void);

/* PATH (NULL: NULL) with HOME shown as "~", as a new string. */
char *credfile_shown_path(const char *path, const char *home);

#endif
