/* main: the `faaset` command line. Subcommands:
 *   faaset kernel -f CONNECTION_FILE [--python PATH] [--interrupt-mode M]
 *   faaset install [--user | --sys-prefix | --prefix DIR] [--python PATH] ...
 *   faaset deploy FILE.py [options], faaset invoke NAME ['JSON'], faaset delete NAME (see cli.h)
 * plus --help and --version. The subcommands are one table (name, handler,
 * usage): `faaset COMMAND --help` (or -h anywhere among its arguments)
 * prints that command's usage and exits 0. Bad arguments print what was
 * wrong and exit 2. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "install.h"
#include "log.h"
#include "server.h"

static const char usage[] =
    "Usage: faaset COMMAND [OPTIONS]\n"
    "\n"
    "A Jupyter kernel for serverless development: Python cells, cloud functions and experiments.\n"
    "\n"
    "Commands:\n"
    "  kernel -f CONNECTION_FILE   run the kernel (Jupyter starts it this way)\n"
    "      --python PATH           interpreter for Python cells (FAASET_PYTHON overrides it)\n"
    "      --interrupt-mode MODE   how the kernel.json asks for interrupts: message or signal\n"
    "  deploy FILE.py [--platform P] [--memory MB] [--KEY VALUE ...] [--force]\n"
    "                              deploy the function in FILE.py, like a %%cloud_function cell\n"
    "  invoke NAME ['JSON'] [--platform P]\n"
    "                              call a deployed function and print its result as JSON\n"
    "  delete NAME [--platform P]  delete a deployed function and forget its state\n"
    "  run -f FUNCTION.json [-f NEXT.json ...] -e EXPERIMENT.json [-o DIR]\n"
    "                              run a FaaS Runner experiment; rows in DIR (default faaset-results)\n"
    "  install                     write the kernelspec so Jupyter lists the kernel\n"
    "      --user                  in the user's Jupyter data dir (default)\n"
    "      --sys-prefix            in the Python's sys.prefix/share/jupyter\n"
    "      --prefix DIR            in DIR/share/jupyter\n"
    "      --python PATH           interpreter for Python cells (default: python3 on PATH)\n"
    "      --name NAME             kernel name (default: faaset)\n"
    "      --display-name TEXT     name shown in frontends (default: FaaSET)\n"
    "      --interrupt-mode MODE   message (default) or signal\n"
    "\n"
    "Options:\n"
    "  -h, --help                  show this help (COMMAND --help: that command's)\n"
    "  -V, --version               show the version\n"
    "\n"
    "Environment: FAASET_PYTHON (interpreter for cells), FAASET_HISTORY (history file),\n"
    "FAASET_LOG_LEVEL (debug, info, warn, error).\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "faaset: ");
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\nRun 'faaset --help' for usage.\n");
    return 2;
}

/* The value after option ARGV[*I], or NULL (after reporting) when missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        usage_error("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int valid_interrupt_mode(const char *mode)
{
    return strcmp(mode, "message") == 0 || strcmp(mode, "signal") == 0;
}

/* Makes sure fds 0-2 are open, so nothing the kernel opens lands on them. */
static void ensure_standard_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
}

static int command_kernel(int argc, char **argv)
{
    struct server_options options = {.python = "python3", .interrupt_mode = "message"};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--connection-file") == 0) {
            if ((options.connection_file = option_value(argc, argv, &i)) == NULL)
                return 2;
        } else if (strcmp(argv[i], "--python") == 0) {
            if ((options.python = option_value(argc, argv, &i)) == NULL)
                return 2;
        } else if (strcmp(argv[i], "--interrupt-mode") == 0) {
            if ((options.interrupt_mode = option_value(argc, argv, &i)) == NULL)
                return 2;
            if (!valid_interrupt_mode(options.interrupt_mode))
                return usage_error("--interrupt-mode must be message or signal, not '%s'", options.interrupt_mode);
        } else {
            return usage_error("unknown option '%s' for 'kernel'", argv[i]);
        }
    }
    if (options.connection_file == NULL)
        return usage_error("%s", "'kernel' needs -f CONNECTION_FILE");
    const char *override = getenv("FAASET_PYTHON");
    if (override != NULL && *override)
        options.python = override;
    ensure_standard_fds();
    log_init_from_env();
    return server_run(&options);
}

static int command_install(int argc, char **argv)
{
    struct install_options options = {
        .scope = INSTALL_USER, .name = "faaset", .display_name = "FaaSET", .interrupt_mode = "message"};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char **target = NULL;
        if (strcmp(arg, "--user") == 0)
            options.scope = INSTALL_USER;
        else if (strcmp(arg, "--sys-prefix") == 0)
            options.scope = INSTALL_SYS_PREFIX;
        else if (strcmp(arg, "--prefix") == 0) {
            options.scope = INSTALL_PREFIX;
            target = &options.prefix;
        } else if (strcmp(arg, "--python") == 0)
            target = &options.python;
        else if (strcmp(arg, "--name") == 0)
            target = &options.name;
        else if (strcmp(arg, "--display-name") == 0)
            target = &options.display_name;
        else if (strcmp(arg, "--interrupt-mode") == 0)
            target = &options.interrupt_mode;
        else
            return usage_error("unknown option '%s' for 'install'", arg);
        if (target != NULL && (*target = option_value(argc, argv, &i)) == NULL)
            return 2;
    }
    if (!valid_interrupt_mode(options.interrupt_mode))
        return usage_error("--interrupt-mode must be message or signal, not '%s'", options.interrupt_mode);
    char err[1024];
    if (install_kernelspec(&options, err, sizeof err) < 0) {
        fprintf(stderr, "faaset install: %s\n", err);
        return 1;
    }
    return 0;
}

struct main_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const struct main_command main_commands[] = {
    {"kernel", command_kernel,
     "Usage: faaset kernel -f CONNECTION_FILE [--python PATH] [--interrupt-mode MODE]\n"
     "\n"
     "Run the kernel; Jupyter starts it this way from the kernelspec.\n"
     "  -f, --connection-file FILE  the connection file Jupyter wrote\n"
     "  --python PATH               interpreter for Python cells (FAASET_PYTHON overrides it)\n"
     "  --interrupt-mode MODE       how the kernel.json asks for interrupts: message or signal\n"},
    {"install", command_install,
     "Usage: faaset install [--user | --sys-prefix | --prefix DIR] [OPTIONS]\n"
     "\n"
     "Write the kernelspec so Jupyter lists the kernel.\n"
     "  --user                  in the user's Jupyter data dir (default)\n"
     "  --sys-prefix            in the Python's sys.prefix/share/jupyter\n"
     "  --prefix DIR            in DIR/share/jupyter\n"
     "  --python PATH           interpreter for Python cells (default: python3 on PATH)\n"
     "  --name NAME             kernel name (default: faaset)\n"
     "  --display-name TEXT     name shown in frontends (default: FaaSET)\n"
     "  --interrupt-mode MODE   message (default) or signal\n"},
    {"deploy", cli_deploy,
     "Usage: faaset deploy FILE.py [--platform P] [--memory MB] [--KEY VALUE ...] [--force]\n"
     "\n"
     "Deploy the function in FILE.py, like a %%cloud_function cell (state in ./.faaset).\n"},
    {"invoke", cli_invoke,
     "Usage: faaset invoke NAME ['JSON'] [--platform P]\n"
     "\n"
     "Call a deployed function and print its result as JSON.\n"},
    {"delete", cli_delete,
     "Usage: faaset delete NAME [--platform P]\n"
     "\n"
     "Delete a deployed function and forget its state.\n"},
    {"run", cli_run,
     "Usage: faaset run -f FUNCTION.json [-f NEXT.json ...] -e EXPERIMENT.json [-o DIR]\n"
     "\n"
     "Run a FaaS Runner experiment; rows in DIR (default faaset-results), the summary as JSON on stdout.\n"},
};

static int main_asks_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command");
    const char *command = argv[1];
    if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(command, "-V") == 0 || strcmp(command, "--version") == 0) {
        printf("faaset %s\n", FAASET_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++) {
        if (strcmp(command, main_commands[i].name) != 0)
            continue;
        if (main_asks_help(argc, argv)) {
            fputs(main_commands[i].usage, stdout);
            return 0;
        }
        return main_commands[i].run(argc, argv);
    }
    return usage_error("unknown command '%s'", command);
}
