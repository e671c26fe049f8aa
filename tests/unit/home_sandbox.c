/* home_sandbox: see home_sandbox.h. Removal walks the folder with nftw,
 * deepest first, so no shell is involved. */
#include "home_sandbox.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char home[256];

const char *home_sandbox_start(const char *prefix)
{
    snprintf(home, sizeof home, "/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(home) == NULL || setenv("HOME", home, 1) != 0) {
        perror("home_sandbox: cannot make the test's home under /tmp");
        exit(1);
    }
    return home;
}

void home_sandbox_unset(const char *const *variables)
{
    for (size_t i = 0; variables[i] != NULL; i++)
        unsetenv(variables[i]);
}

void home_sandbox_write(const char *relative, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", home, relative);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "home_sandbox: cannot write %s\n", path);
        exit(1);
    }
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *where)
{
    (void)info;
    (void)type;
    (void)where;
    remove(path);
    return 0;
}

void home_sandbox_remove(void)
{
    if (home[0] != '\0')
        nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    home[0] = '\0';
}
