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

void credfile_form_add(struct buffer *form, const char *name, const char *value)
{
    buffer_printf(form, "%s%s=", form->size > 0 ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~')
            buffer_append(form, p, 1);
        else
            buffer_printf(form, "%%%02X", *p);
    }
}

void credfile_form_wipe(struct buffer *form)
{
    if (form->data != NULL)
        sodium_memzero(form->data, form->capacity);
    buffer_free(form);
}
