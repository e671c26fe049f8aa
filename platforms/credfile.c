/* credfile: see credfile.h. */
#include "credfile.h"

#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void credfile_wipe_free(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

const char *credfile_env(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

char *credfile_home(void)
{
    const char *home = credfile_env("HOME");
    if (home != NULL)
        return strdup(home);
    struct passwd pw, *found = NULL;
    char buffer[4096];
    if (getpwuid_r(getuid(), &pw, buffer, sizeof buffer, &found) == 0 && found != NULL && pw.pw_dir != NULL &&
        pw.pw_dir[0] != '\0')
        return strdup(pw.pw_dir);
    return NULL;
}

char *credfile_shown_path(const char *path, const char *home)
{
    if (path == NULL)
        return NULL;
    size_t n = home != NULL ? strlen(home) : 0;
    char *shown = NULL;
    if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/')
        return asprintf(&shown, "~%s", path + n) < 0 ? NULL : shown;
    return strdup(path);
}
