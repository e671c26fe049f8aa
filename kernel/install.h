/* install: `faaset install` writes the kernelspec (kernel.json and the
 * logos, all embedded in the binary) where Jupyter looks for kernels:
 * the user's data dir (--user, the default), the Python's sys.prefix
 * (--sys-prefix) or PREFIX/share/jupyter (--prefix). kernel.json names this
 * binary by its absolute path and the Python chosen for cells. */
#ifndef FAASET_INSTALL_H
#define FAASET_INSTALL_H

#include <stddef.h>

enum install_scope { INSTALL_USER, INSTALL_SYS_PREFIX, INSTALL_PREFIX };

struct install_options {
    enum install_scope scope;
    const char *prefix;          /* for INSTALL_PREFIX */
    const char *python;          /* interpreter for cells; NULL = python3 on PATH */
    const char *name;            /* kernel name, default "faaset" */
    const char *display_name;    /* default "FaaSET" */
    const char *interrupt_mode;  /* "message" (default) or "signal" */
};

/* Returns 0 and prints where the kernelspec went, or -1 with ERR. */
int install_kernelspec(const struct install_options *options, char *err, size_t err_size);

#endif
