/* credfile: what the platforms' credential loaders share (aws, gcf,
 * openwhisk, azure): secrets wiped before they are freed, token requests'
 * form bodies, environment variables
 * that count only when set and not empty, the user's home folder, and a
 * path shown with the home as "~" (so messages do not spell out the home). */
#ifndef FAASET_CREDFILE_H
#define FAASET_CREDFILE_H

#include "buffer.h"

/* Overwrites S with zeros and frees it (NULL: nothing). */
void credfile_wipe_free(char *s);

/* Appends NAME=VALUE to FORM, an application/x-www-form-urlencoded body
 * (with '&' after the first pair; everything but letters, digits and
 * "-._~" percent-encoded), as OAuth's token endpoints take it. */
void credfile_form_add(struct buffer *form, const char *name, const char *value);

/* Overwrites FORM (it may hold secrets) and frees it. */
void credfile_form_wipe(struct buffer *form);

/* The variable NAME's value, or NULL when it is unset or empty. */
const char *credfile_env(const char *name);

/* $HOME, else the password database's home folder, as a new string; NULL
 * when there is neither (or out of memory). */
char *credfile_home(void);

/* PATH (NULL: NULL) with HOME shown as "~", as a new string. */
char *credfile_shown_path(const char *path, const char *home);

#endif
