/* cloud_options: the options of a cloud function, from a `%%cloud_function
 * key=value ...` line (every value a string) or from the `@cloud_function`
 * decorator (JSON values), checked in one place. Every error names the key
 * and says what is allowed; an unknown key suggests the nearest known one. */
#ifndef FAASET_CLOUD_OPTIONS_H
#define FAASET_CLOUD_OPTIONS_H

#include <jansson.h>
#include <stddef.h>

#define CLOUD_MAX_PLATFORMS 8
#define CLOUD_MEMORY_MIN 128
#define CLOUD_MEMORY_MAX 10240
#define CLOUD_TIMEOUT_MIN 1
#define CLOUD_TIMEOUT_MAX 900
#define CLOUD_MAX_INSTANCES_MAX 1000

struct cloud_options {
    char platforms[CLOUD_MAX_PLATFORMS][16];
    int platform_count;
    int memory_mb;               /* default 128 */
    int timeout_s;               /* default 30 */
    int max_instances;           /* the most instances at once (gcf), 0 = the platform's default */
    int allow_unauthenticated;   /* gcf: 1 anyone may call it, -1 only callers with a token, 0 as it is */
    char arch[8];                /* "x86_64" (default) or "arm64"; `architecture=` is the same option */
    char runtime[16];            /* default "python3.12" */
    char name[65];               /* "" = the def's name */
    char remote[180];            /* the platform's name for it (a name or an ARN), "" = name */
    char *image;                 /* a container image URI to deploy instead of the package, or NULL */
    int containerize;            /* build the function's image and push it (containerize=True, or image_base=) */
    char *image_base;            /* the image to build on, or NULL: the platform's default */
    char *registry;              /* where to push it (HOST[/NAMESPACE]), or NULL: the platform's setting */
    char *role;                  /* the execution role to create it with (aws), or NULL: the platform's */
    int deploy;                  /* 0: link to an existing function */
    int force;                   /* deploy even if nothing changed */
    char run[8];                 /* "cloud" (default), "local" or "none" */
    json_t *env;                 /* {"KEY": "value"} */
    char *requirements;          /* requirements.txt text (a list joined by lines), or NULL when it names nothing */
    char *requirements_file;     /* requirements_file=: the path given (the define reads it into requirements) */
};

/* Parses RAW (an object). DEFAULT_PLATFORM applies when none is given.
 * Returns 0, or -1 with ERR; OUT must be freed with cloud_options_free either way. */
int cloud_options_parse(const json_t *raw, const char *default_platform, struct cloud_options *out, char *err,
                        size_t err_size);
void cloud_options_free(struct cloud_options *options);

/* Splits a magic line's arguments ("memory=256 env=A=1;B=2 name=\"x\"") into
 * {"memory": "256", ...}. Returns NULL with ERR on a token without '=' or an
 * unclosed quote. */
json_t *cloud_options_from_line(const char *line, char *err, size_t err_size);

/* 1 when TEXT (requirements.txt) has a line that is not blank or a comment. */
int cloud_options_names_requirements(const char *text);

/* The option keys, for completion and help, NULL-terminated. */
extern const char *const cloud_option_keys[];

#endif
