/* install: kernelspec writing (see install.h). Files are replaced
 * atomically (fsutil), so a kernelspec is never half written. */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embedded.h"
#include "fsutil.h"
#include "spawn.h"

static int install_write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fsutil_write_atomic(path, data, size, 0644);
}

/* sys.prefix of PYTHON, into OUT. */
static int install_python_prefix(const char *python, char *out, size_t out_size)
{
    char command[4200];
    snprintf(command, sizeof command, "'%s' -c 'import sys; print(sys.prefix)'", python);
    FILE *pipe = popen(command, "r");
    if (pipe == NULL)
        return -1;
    int ok = fgets(out, (int)out_size, pipe) != NULL;
    if (pclose(pipe) != 0 || !ok)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int install_kernels_dir(const struct install_options *options, const char *python, char *out,
                               size_t out_size, char *err, size_t err_size)
{
    if (options->scope == INSTALL_PREFIX) {
        snprintf(out, out_size, "%s/share/jupyter/kernels", options->prefix);
    } else if (options->scope == INSTALL_SYS_PREFIX) {
        char prefix[2048];
        if (strchr(python, '\'') != NULL || install_python_prefix(python, prefix, sizeof prefix) < 0) {
            snprintf(err, err_size, "cannot ask %s for its sys.prefix; use --prefix DIR instead", python);
            return -1;
        }
        snprintf(out, out_size, "%s/share/jupyter/kernels", prefix);
    } else {
        const char *data_dir = getenv("JUPYTER_DATA_DIR");
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (data_dir != NULL && *data_dir)
            snprintf(out, out_size, "%s/kernels", data_dir);
        else if (xdg != NULL && *xdg)
            snprintf(out, out_size, "%s/jupyter/kernels", xdg);
        else if (home != NULL && *home)
            snprintf(out, out_size, "%s/.local/share/jupyter/kernels", home);
        else {
            snprintf(err, err_size, "HOME is not set; use --prefix DIR");
            return -1;
        }
    }
    return 0;
}

static int install_valid_name(const char *name)
{
    if (*name == '\0')
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '.' || *c == '_'))
            return 0;
    return 1;
}

static json_t *install_kernel_json(const struct install_options *options, const char *self, const char *python)
{
    return json_pack("{s:[s, s, s, s, s, s, s, s], s:s, s:s, s:s, s:{s:b}}", "argv", self, "kernel", "-f",
                     "{connection_file}", "--python", python, "--interrupt-mode", options->interrupt_mode,
                     "display_name", options->display_name, "language", "python", "interrupt_mode",
                     options->interrupt_mode, "metadata", "debugger", 0);
}

int install_kernelspec(const struct install_options *options, char *err, size_t err_size)
{
    if (!install_valid_name(options->name)) {
        snprintf(err, err_size, "kernel name '%s' may only use ASCII letters, digits, '-', '.' and '_'", options->name);
        return -1;
    }
    char self[4096], python[4096], kernels[4096], dir[8192];
    ssize_t self_len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (self_len < 0) {
        snprintf(err, err_size, "cannot find this program's own path: %s", strerror(errno));
        return -1;
    }
    self[self_len] = '\0';
    const char *wanted = options->python ? options->python : "python3";
    char found[4096];
    /* Absolute, but not through symlinks: /usr/bin/python3 must survive a Python upgrade. */
    if (spawn_resolve(wanted, found, sizeof found) < 0 ||
        (found[0] == '/' ? snprintf(python, sizeof python, "%s", found) < 0 : realpath(found, python) == NULL)) {
        snprintf(err, err_size, "cannot find the Python interpreter '%s'; pass --python PATH", wanted);
        return -1;
    }
    if (install_kernels_dir(options, python, kernels, sizeof kernels, err, err_size) < 0)
        return -1;
    snprintf(dir, sizeof dir, "%s/%s", kernels, options->name);
    if (fsutil_mkdirs(dir, 0755) < 0) {
        snprintf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    json_t *spec = install_kernel_json(options, self, python);
    char *text = spec ? json_dumps(spec, JSON_INDENT(2)) : NULL;
    json_decref(spec);
    int rc = text ? install_write_file(dir, "kernel.json", text, strlen(text)) : -1;
    free(text);
    static const char *const logos[] = {"kernelspec/logo-32x32.png", "kernelspec/logo-64x64.png"};
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        const struct embedded_file *logo = embedded_find(logos[i]);
        rc = install_write_file(dir, strrchr(logos[i], '/') + 1, logo->data, logo->size);
    }
    if (rc < 0) {
        snprintf(err, err_size, "cannot write the kernelspec in %s: %s", dir, strerror(errno));
        return -1;
    }
    printf("Installed kernelspec %s in %s\n  cells run with %s\n", options->name, dir, python);
    return 0;
}
