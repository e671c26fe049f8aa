/* cli: deploy and invoke from a shell (see cli.h). A small event loop
 * serves the reactor (platform workers) and, for deploy, the runtime's
 * frames and output, until the one request at hand is answered. */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cloud.h"
#include "experiment.h"
#include "experiments.h"
#include "http.h"
#include "message.h"
#include "results.h"
#include "runner.h"
#include "targets.h"
#include "fsutil.h"
#include "pyhost.h"
#include "reactor.h"

struct cli {
    struct reactor *reactor;
    struct cloud *cloud;
    struct pyhost *runtime;
    struct runner *runner;           /* faaset run */
    json_t *summary;                 /* faaset run: written to summary.json */
    int finished;
    int exit_code;
};

static volatile sig_atomic_t cli_interrupted;

static void cli_on_sigint(int signo)
{
    (void)signo;
    cli_interrupted = 1;
}

static int cli_usage(const char *message)
{
    fprintf(stderr, "faaset: %s\nRun 'faaset --help' for usage.\n", message);
    return 2;
}

static const char *cli_python(void)
{
    const char *python = getenv("FAASET_PYTHON");
    return python != NULL && *python ? python : "python3";
}

static void cli_write_output(struct cli *cli, enum pyhost_stream stream)
{
    char buffer[65536];
    size_t n;
    while (cli->runtime != NULL && (n = pyhost_read_output(cli->runtime, stream, buffer, sizeof buffer)) > 0)
        fwrite(buffer, 1, n, stream == PYHOST_STDOUT ? stdout : stderr);
}

struct cli_upcall {
    struct cli *cli;
    json_int_t call;
    char result_type[32];
};

static void cli_answer_upcall(void *ctx, json_t *result)
{
    struct cli_upcall *upcall = ctx;
    json_object_set_new(result, "type", json_string(upcall->result_type));
    json_object_set_new(result, "call", json_integer(upcall->call));
    if (upcall->cli->runtime != NULL)
        pyhost_send(upcall->cli->runtime, result);
    json_decref(result);
    free(upcall);
}

static void cli_print_error(const json_t *frame)
{
    json_t *traceback = json_object_get(frame, "traceback");
    size_t i;
    json_t *line;
    json_array_foreach(traceback, i, line)
        fprintf(stderr, "%s\n", json_string_value(line));
    if (json_array_size(traceback) == 0)
        fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(frame, "ename")),
                json_string_value(json_object_get(frame, "evalue")));
}

static void cli_on_frame(struct cli *cli, json_t *frame)
{
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (type == NULL)
        return;
    if (strcmp(type, "stream") == 0) {
        const char *name = json_string_value(json_object_get(frame, "name"));
        fputs(json_string_value(json_object_get(frame, "text")) ?: "",
              name && strcmp(name, "stderr") == 0 ? stderr : stdout);
    } else if (strcmp(type, "execute_result") == 0) {
        printf("%s\n", json_string_value(json_object_get(json_object_get(frame, "data"), "text/plain")) ?: "");
    } else if (strcmp(type, "error") == 0) {
        cli_print_error(frame);
    } else if (strcmp(type, "define") == 0 || strcmp(type, "invoke") == 0) {
        struct cli_upcall *upcall = calloc(1, sizeof *upcall);
        if (upcall == NULL)
            return;
        upcall->cli = cli;
        upcall->call = json_integer_value(json_object_get(frame, "call"));
        snprintf(upcall->result_type, sizeof upcall->result_type, "%s_result", type);
        if (strcmp(type, "define") == 0)
            cloud_define(cli->cloud, frame, cli_answer_upcall, upcall);
        else
            cloud_invoke(cli->cloud, frame, cli_answer_upcall, upcall);
    } else if (strcmp(type, "reply") == 0) {
        const char *status = json_string_value(json_object_get(frame, "status"));
        cli->exit_code = status != NULL && strcmp(status, "ok") == 0 ? 0 : 1;
        cli->finished = 1;
    } else if (strcmp(type, "input_request") == 0) {
        json_t *reply = json_pack("{s:s, s:s}", "type", "input_reply", "error", "input() is not available in 'faaset deploy'");
        pyhost_send(cli->runtime, reply);
        json_decref(reply);
    }
}

/* Serves the runtime (if any) and the reactor until the request is answered. */
static void cli_loop(struct cli *cli)
{
    while (!cli->finished) {
        int timeout = reactor_run_timers(cli->reactor);
        if (cli->finished)
            break;
        struct pollfd fds[4] = {
            {.fd = reactor_fd(cli->reactor), .events = POLLIN},
            {.fd = cli->runtime ? pyhost_frame_fd(cli->runtime) : -1, .events = POLLIN},
            {.fd = cli->runtime ? pyhost_output_fd(cli->runtime, PYHOST_STDOUT) : -1, .events = POLLIN},
            {.fd = cli->runtime ? pyhost_output_fd(cli->runtime, PYHOST_STDERR) : -1, .events = POLLIN},
        };
        if (poll(fds, 4, timeout) < 0 && errno == EINTR && cli_interrupted && cli->runner != NULL) {
            cli_interrupted = 0;
            fprintf(stderr, "\ninterrupted: stopping; finished runs are kept\n");
            runner_interrupt(cli->runner);
            continue;
        }
        if (fds[2].revents)
            cli_write_output(cli, PYHOST_STDOUT);
        if (fds[3].revents)
            cli_write_output(cli, PYHOST_STDERR);
        if (fds[1].revents) {
            json_t *frame;
            int rc;
            while ((rc = pyhost_receive(cli->runtime, &frame)) == 1) {
                cli_on_frame(cli, frame);
                json_decref(frame);
            }
            if (rc < 0 && !cli->finished) {
                char how[128];
                cli_write_output(cli, PYHOST_STDERR);
                pyhost_stop(cli->runtime, 500, how, sizeof how);
                fprintf(stderr, "faaset: the Python runtime %s\n", how);
                cli->exit_code = 1;
                cli->finished = 1;
            }
        }
        if (fds[0].revents)
            reactor_dispatch(cli->reactor);
    }
    if (cli->runtime != NULL) {
        cli_write_output(cli, PYHOST_STDOUT);
        cli_write_output(cli, PYHOST_STDERR);
    }
}

static int cli_open(struct cli *cli)
{
    char workdir[4096];
    memset(cli, 0, sizeof *cli);
    if (getcwd(workdir, sizeof workdir) == NULL)
        return -1;
    cli->reactor = reactor_new();
    cli->cloud = cli->reactor ? cloud_new(cli->reactor, workdir, cli_python()) : NULL;
    return cli->cloud ? 0 : -1;
}

static void cli_close(struct cli *cli)
{
    cloud_free(cli->cloud);
    reactor_free(cli->reactor);
    pyhost_free(cli->runtime);
}

/* Adds "--KEY VALUE" options to OPTIONS; returns the index of the first
 * argument that is not an option, or -1 after printing the problem. */
static int cli_options(int argc, char **argv, int start, json_t *options, const char **platform)
{
    for (int i = start; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return i;
        const char *key = arg + 2;
        if (strcmp(key, "force") == 0) {
            json_object_set_new(options, "force", json_string("true"));
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "faaset: option %s needs a value\n", arg);
            return -1;
        }
        const char *value = argv[++i];
        if (strcmp(key, "platform") == 0 || strcmp(key, "platforms") == 0) {
            json_object_set_new(options, "platforms", json_string(value));
            *platform = value;
        } else {
            json_object_set_new(options, key, json_string(value));
        }
    }
    return argc;
}

int cli_deploy(int argc, char **argv)
{
    json_t *options = json_object();
    const char *platform = NULL;
    int first = cli_options(argc, argv, 2, options, &platform);
    if (first < 0 || first >= argc || cli_options(argc, argv, first + 1, options, &platform) != argc) {
        json_decref(options);
        return first < 0 ? 2 : cli_usage("usage: faaset deploy FILE.py [--platform P] [--memory MB] [--KEY VALUE ...]");
    }
    const char *path = argv[first];
    char *source = fsutil_read(path, NULL);
    if (source == NULL) {
        fprintf(stderr, "faaset deploy: cannot read %s\n", path);
        json_decref(options);
        return 1;
    }
    struct cli cli;
    char err[1024];
    int rc = 1;
    if (cli_open(&cli) < 0 || (cli.runtime = pyhost_new(cli_python())) == NULL) {
        fprintf(stderr, "faaset deploy: cannot start\n");
    } else if (pyhost_start(cli.runtime, err, sizeof err) < 0) {
        fprintf(stderr, "faaset deploy: %s\n", err);
    } else {
        json_t *request = json_pack("{s:s, s:i, s:s, s:s, s:i, s:O, s:i, s:b, s:b, s:b, s:s}", "type", "cloud_function",
                                    "id", 1, "code", source, "body", source, "body_line", 1, "options", options,
                                    "execution_count", 1, "silent", 0, "store_history", 0, "allow_stdin", 0,
                                    "filename", path);
        if (request != NULL && pyhost_send(cli.runtime, request) == 0) {
            cli_loop(&cli);
            rc = cli.exit_code;
        } else {
            fprintf(stderr, "faaset deploy: %s is not valid UTF-8 text, or the runtime is gone\n", path);
        }
        json_decref(request);
    }
    cli_close(&cli);
    free(source);
    json_decref(options);
    return rc;
}

/* "faaset COMMAND: ename: evalue" for a cloud call's error reply. */
static void cli_print_reply_error(const char *command, const json_t *result)
{
    fprintf(stderr, "faaset %s: %s: %s\n", command, json_string_value(json_object_get(result, "ename")),
            json_string_value(json_object_get(result, "evalue")));
}

static void cli_on_invoke(void *ctx, json_t *result)
{
    struct cli *cli = ctx;
    const char *status = json_string_value(json_object_get(result, "status"));
    if (status != NULL && strcmp(status, "ok") == 0) {
        json_t *value = json_object_get(result, "result");
        json_t *shown = json_is_object(value) ? json_deep_copy(value) : json_incref(value);
        double round_trip = json_number_value(json_object_get(result, "roundTripTime"));
        if (json_is_object(shown)) {
            json_object_set_new(shown, "roundTripTime", json_real(round_trip));
            if (json_is_number(json_object_get(value, "runtime")))
                json_object_set_new(shown, "latency",
                                    json_real(round_trip - json_number_value(json_object_get(value, "runtime"))));
        }
        char *text = json_dumps(shown, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
        printf("%s\n", text ? text : "null");
        free(text);
        json_decref(shown);
        cli->exit_code = 0;
    } else {
        json_t *remote = json_object_get(result, "traceback");
        if (json_array_size(remote) > 0) {
            fprintf(stderr, "Remote traceback:\n");
            size_t i;
            json_t *line;
            json_array_foreach(remote, i, line)
                fprintf(stderr, "%s\n", json_string_value(line));
        }
        cli_print_reply_error("invoke", result);
        cli->exit_code = 1;
    }
    cli->finished = 1;
    json_decref(result);
}

int cli_invoke(int argc, char **argv)
{
    json_t *options = json_object();
    const char *platform = NULL;
    int first = cli_options(argc, argv, 2, options, &platform);
    int rest = first >= 0 && first < argc ? cli_options(argc, argv, first + 1, options, &platform) : -1;
    const char *payload_text = NULL;
    if (rest >= 0 && rest < argc) {
        payload_text = argv[rest];
        rest = cli_options(argc, argv, rest + 1, options, &platform);
    }
    json_decref(options);
    if (first < 0 || rest != argc)
        return first < 0 ? 2 : cli_usage("usage: faaset invoke NAME ['JSON'] [--platform P]");
    json_error_t json_err;
    json_t *payload = payload_text ? json_loads(payload_text, JSON_DECODE_ANY, &json_err) : json_object();
    if (payload == NULL) {
        fprintf(stderr, "faaset invoke: the payload is not valid JSON: %s (column %d)\n", json_err.text, json_err.column);
        return 2;
    }
    struct cli cli;
    int rc = 1;
    json_t *upcall = json_pack("{s:s, s:o, s:s?}", "function", argv[first], "payload", payload, "platform", platform);
    if (cli_open(&cli) < 0 || upcall == NULL) {
        fprintf(stderr, "faaset invoke: cannot start\n");
    } else {
        cloud_invoke(cli.cloud, upcall, cli_on_invoke, &cli);
        cli_loop(&cli);
        rc = cli.exit_code;
    }
    json_decref(upcall);
    cli_close(&cli);
    return rc;
}

static void cli_on_delete(void *ctx, json_t *result)
{
    struct cli *cli = ctx;
    const char *status = json_string_value(json_object_get(result, "status"));
    if (status != NULL && strcmp(status, "ok") == 0) {
        printf("%s\n", json_string_value(json_object_get(result, "line")));
        cli->exit_code = 0;
    } else {
        cli_print_reply_error("delete", result);
        cli->exit_code = 1;
    }
    cli->finished = 1;
    json_decref(result);
}

int cli_delete(int argc, char **argv)
{
    json_t *options = json_object();
    const char *platform = NULL;
    int first = cli_options(argc, argv, 2, options, &platform);
    int rest = first >= 0 && first < argc ? cli_options(argc, argv, first + 1, options, &platform) : -1;
    int extra = json_object_size(options) > 1 || (json_object_size(options) == 1 && platform == NULL);
    json_decref(options);
    if (first < 0 || rest != argc || extra)
        return first < 0 ? 2 : cli_usage("usage: faaset delete NAME [--platform P]");
    struct cli cli;
    int rc = 1;
    if (cli_open(&cli) < 0) {
        fprintf(stderr, "faaset delete: cannot start\n");
    } else {
        cloud_delete(cli.cloud, argv[first], platform, cli_on_delete, &cli);
        cli_loop(&cli);
        rc = cli.exit_code;
    }
    cli_close(&cli);
    return rc;
}

static void cli_on_progress(void *ctx, const struct runner_progress *p)
{
    static double last;
    (void)ctx;
    double now = clock_mono_ms_precise();
    if (now - last < 1000 && p->done < p->total)
        return;
    last = now;
    fprintf(stderr, "%lld/%lld done, %lld in flight, %lld failed, %.1f runs/s\n", p->done, p->total, p->in_flight,
            p->failed, p->rate);
}

static void cli_on_finished(void *ctx, const json_t *summary)
{
    struct cli *cli = ctx;
    json_t *shown = json_deep_copy(summary);
    json_object_del(shown, "concurrencySeries");
    json_object_del(shown, "latencySeries");
    char end[32];
    clock_iso8601_now(end);
    json_object_set_new(shown, "endTime", json_string(end));
    char *text = json_dumps(shown, JSON_INDENT(2) | JSON_REAL_PRECISION(16));
    printf("%s\n", text ? text : "{}");
    free(text);
    cli->summary = shown;
    const char *status = json_string_value(json_object_get(summary, "status"));
    cli->exit_code = status != NULL && strcmp(status, "complete") == 0 ? 0 : 1;
    cli->finished = 1;
}

/* FaaS Runner's platform names, and ours. */
static const char *cli_platform_name(const char *faas_runner)
{
    static const char *const names[][2] = {
        {"AWS Lambda", "aws"}, {"AWS", "aws"}, {"Google", "gcf"}, {"IBM", "ibm"}, {"Azure", "azure"},
        {"OpenFaaS", "openfaas"}, {"OpenWhisk", "openwhisk"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(faas_runner, names[i][0]) == 0)
            return names[i][1];
    return faas_runner;
}

#define CLI_MAX_STAGES 16

/* Reads and checks one FaaS Runner function file. Returns it, or NULL after
 * printing what is wrong. */
static json_t *cli_function_file(const char *path)
{
    json_error_t json_err;
    json_t *file = json_load_file(path, 0, &json_err);
    const char *platform = json_string_value(json_object_get(file, "platform"));
    const char *endpoint = json_string_value(json_object_get(file, "endpoint"));
    if (file == NULL)
        fprintf(stderr, "faaset run: cannot read %s: %s (line %d)\n", path, json_err.text, json_err.line);
    else if (json_string_value(json_object_get(file, "function")) == NULL || platform == NULL)
        fprintf(stderr, "faaset run: %s needs \"function\" and \"platform\" strings\n", path);
    else if (strcmp(platform, "HTTP") == 0 && (endpoint == NULL || *endpoint == '\0'))
        fprintf(stderr, "faaset run: the HTTP platform needs an \"endpoint\" URL in %s\n", path);
    else
        return file;
    json_decref(file);
    return NULL;
}

/* The target of one function file; the HTTP engine is made on first need. */
static struct target *cli_target(struct cli *cli, const json_t *file, struct http_engine **engine)
{
    const char *function = json_string_value(json_object_get(file, "function"));
    const char *platform = json_string_value(json_object_get(file, "platform"));
    if (strcmp(platform, "HTTP") != 0)
        return target_function(cli->cloud, function, cli_platform_name(platform));
    if (*engine == NULL)
        *engine = http_engine_new(cli->reactor);
    return *engine ? target_http(*engine, function, json_string_value(json_object_get(file, "endpoint"))) : NULL;
}

int cli_run(int argc, char **argv)
{
    static const char usage_text[] = "usage: faaset run -f FUNCTION.json [-f NEXT.json ...] -e EXPERIMENT.json [-o DIR]";
    const char *function_paths[CLI_MAX_STAGES], *experiment_path = NULL, *output = "faaset-results";
    int stages = 0;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc || (strcmp(argv[i], "-f") && strcmp(argv[i], "-e") && strcmp(argv[i], "-o")))
            return cli_usage(usage_text);
        if (strcmp(argv[i], "-f") == 0 && stages == CLI_MAX_STAGES)
            return cli_usage("a pipeline has at most 16 functions");
        if (strcmp(argv[i], "-f") == 0)
            function_paths[stages++] = argv[++i];
        else if (strcmp(argv[i], "-e") == 0)
            experiment_path = argv[++i];
        else
            output = argv[++i];
    }
    if (stages == 0 || experiment_path == NULL)
        return cli_usage(usage_text);
    json_t *files = json_array();
    for (int i = 0; i < stages; i++) {
        json_t *file = cli_function_file(function_paths[i]);
        if (file == NULL) {
            json_decref(files);
            return 1;
        }
        json_array_append_new(files, file);
    }
    json_error_t json_err;
    json_t *experiment_file = json_load_file(experiment_path, 0, &json_err);
    const char *function = json_string_value(json_object_get(json_array_get(files, 0), "function"));
    int rc = 1;
    struct cli cli;
    struct experiment experiment = {0};
    struct http_engine *engine = NULL;
    struct target *targets[CLI_MAX_STAGES] = {0};
    struct runner_target runner_targets[CLI_MAX_STAGES];
    struct results_store *store = NULL;
    char err[1024], hint[128];
    const char *base = strrchr(experiment_path, '/') ? strrchr(experiment_path, '/') + 1 : experiment_path;
    snprintf(hint, sizeof hint, "%.*s", (int)strcspn(base, "."), base);
    if (experiment_file == NULL) {
        fprintf(stderr, "faaset run: cannot read %s: %s (line %d)\n", experiment_path, json_err.text, json_err.line);
    } else if (experiment_parse(experiment_file, hint, ".", &experiment, err, sizeof err) < 0) {
        fprintf(stderr, "faaset run: %s: %s\n", experiment_path, err);
    } else if (cli_open(&cli) < 0) {
        fprintf(stderr, "faaset run: cannot start\n");
    } else {
        size_t i;
        json_t *warning;
        json_array_foreach(experiment.warnings, i, warning)
            fprintf(stderr, "warning: %s\n", json_string_value(warning));
        int ready = 1;
        for (int stage = 0; stage < stages && ready; stage++) {
            targets[stage] = cli_target(&cli, json_array_get(files, (size_t)stage), &engine);
            ready = targets[stage] != NULL;
            if (ready)
                runner_targets[stage] = *target_runner(targets[stage]);
        }
        json_t *meta = json_pack("{s:O, s:O, s:s}", "experiment", experiment_file, "functionFiles", files, "faaset",
                                 FAASET_VERSION);
        store = ready ? results_open(output, function, experiment.name, meta, err, sizeof err) : NULL;
        json_decref(meta);
        struct runner_events events = {&cli, cli_on_progress, cli_on_finished};
        if (store == NULL) {
            fprintf(stderr, "faaset run: %s\n", ready ? err : "cannot start");
        } else if ((cli.runner = runner_start(cli.reactor, &experiment, runner_targets, stages, store, &events, err,
                                              sizeof err)) == NULL) {
            fprintf(stderr, "faaset run: %s\n", err);
        } else {
            fprintf(stderr, "Experiment %s: rows in %s\n", experiment.name, results_folder(store));
            struct sigaction action = {0};
            action.sa_handler = cli_on_sigint;
            sigaction(SIGINT, &action, NULL);
            cli_loop(&cli);
            rc = cli.exit_code;
            runner_release(cli.runner);
        }
        char folder[4096] = "";
        if (store != NULL)
            snprintf(folder, sizeof folder, "%s", results_folder(store));
        results_close(store, cli.summary);
        if (folder[0] && cli.summary != NULL)
            experiments_write_report(folder, experiment.source);
        json_decref(cli.summary);
        for (int stage = 0; stage < stages; stage++)
            target_free(targets[stage]);
        http_engine_free(engine);
        cli_close(&cli);
    }
    experiment_free(&experiment);
    json_decref(files);
    json_decref(experiment_file);
    return rc;
}
