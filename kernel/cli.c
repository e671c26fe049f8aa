/* cli: deploy, invoke, delete and run from a shell (see cli.h). The work is
 * the notebook's: cloud functions (runtime/cloud.h), the runtime's upcalls
 * (runtime/upcalls.h) and experiment sessions (runtime/session.h), all on
 * one reactor that this file turns until the command is answered. What is
 * here is argument parsing and printing. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cloud.h"
#include "fsutil.h"
#include "pyhost.h"
#include "reactor.h"
#include "session.h"
#include "stats.h"
#include "upcalls.h"

struct cli {
    struct reactor *reactor;
    struct cloud *cloud;
    struct pyhost *runtime;          /* deploy: the file runs on the local runtime */
    struct upcalls upcalls;
    struct session *session;         /* run, or run_experiment() in a deployed file */
    cloud_reply_fn experiment_reply; /* run_experiment(): its answer */
    void *experiment_reply_ctx;
    char workdir[4096];
    double last_progress_ms;
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

/* ---- the loop ---- */

/* Turns the reactor until the command is answered; Ctrl-C stops a running experiment. */
static void cli_loop(struct cli *cli)
{
    while (!cli->finished) {
        int timeout = reactor_run_timers(cli->reactor);
        if (cli->finished)
            break;
        if (reactor_wait(cli->reactor, timeout) < 0 && errno == EINTR && cli_interrupted) {
            cli_interrupted = 0;
            if (cli->session != NULL) {
                fprintf(stderr, "\ninterrupted: stopping; finished runs are kept\n");
                session_interrupt(cli->session);
            }
        }
    }
}

static void cli_catch_sigint(void)
{
    struct sigaction action = {0};
    action.sa_handler = cli_on_sigint;
    sigaction(SIGINT, &action, NULL);
}

static void cli_experiment_call(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx);

static int cli_open(struct cli *cli)
{
    memset(cli, 0, sizeof *cli);
    if (getcwd(cli->workdir, sizeof cli->workdir) == NULL)
        return -1;
    cli->reactor = reactor_new();
    cli->cloud = cli->reactor ? cloud_new(cli->reactor, cli->workdir, cli_python()) : NULL;
    cli->upcalls = (struct upcalls){.cloud = cli->cloud, .experiment = cli_experiment_call, .experiment_ctx = cli};
    return cli->cloud ? 0 : -1;
}

/* Event calls the platforms still send (gcf's) get CLOUD_EVENT_WAIT_MS
 * before the command exits; those not sent by then are said on stderr. */
static void cli_wait_for_events(struct cli *cli)
{
    char where[128];
    long long deadline = clock_mono_ms() + CLOUD_EVENT_WAIT_MS;
    size_t unsent;
    while ((unsent = cloud_events_in_flight(cli->cloud, where, sizeof where)) > 0 && clock_mono_ms() < deadline) {
        int timeout = reactor_run_timers(cli->reactor);
        long long rest = deadline - clock_mono_ms();
        int wait = rest > 0 ? (int)rest : 0;
        reactor_wait(cli->reactor, timeout >= 0 && timeout < wait ? timeout : wait);
    }
    if (unsent > 0) {
        char sentence[600];
        cloud_unsent_sentence(unsent, where, "faaset", 1, sentence, sizeof sentence);
        fprintf(stderr, "faaset: %s", sentence);
    }
}

static void cli_close(struct cli *cli)
{
    if (cli->cloud != NULL)
        cli_wait_for_events(cli);
    session_free(cli->session);
    cloud_free(cli->cloud);
    pyhost_free(cli->runtime);
    reactor_free(cli->reactor);
}

/* ---- experiments: progress on stderr ---- */

static void cli_on_progress(void *ctx, const struct runner_progress *p)
{
    struct cli *cli = ctx;
    double now = clock_mono_ms_precise();
    if (now - cli->last_progress_ms < 1000 && p->done < p->total)
        return;
    cli->last_progress_ms = now;
    fprintf(stderr, "%lld/%lld done, %lld in flight, %lld failed, %.1f runs/s\n", p->done, p->total, p->in_flight,
            p->failed, p->rate);
}

/* A new session on the command's reactor, reporting to EVENTS. */
static enum session_error cli_open_session(struct cli *cli, const char *output, const struct session_events *events)
{
    cli->session = session_new(cli->reactor, cli->cloud, output, cli->workdir, events);
    return cli->session ? SESSION_OK : SESSION_NO_MEMORY;
}

static void cli_print_warnings(const struct cli *cli)
{
    size_t i;
    json_t *warning;
    json_array_foreach(session_experiment(cli->session)->warnings, i, warning)
        fprintf(stderr, "warning: %s\n", json_string_value(warning));
}

/* run_experiment() in a file that `faaset deploy` runs. */
static void cli_on_experiment_call_finished(void *ctx, const json_t *summary)
{
    struct cli *cli = ctx;
    json_t *shown = stats_without_series(summary);
    const char *status = json_string_value(json_object_get(summary, "status"));
    cli->experiment_reply(cli->experiment_reply_ctx,
                          json_pack("{s:s, s:s, s:o, s:b}", "status", "ok", "folder", session_folder(cli->session),
                                    "summary", shown, "interrupted", status != NULL && strcmp(status, "complete") != 0));
    session_free(cli->session);
    cli->session = NULL;
}

static void cli_experiment_call(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx)
{
    struct cli *cli = ctx;
    const char *function = json_string_value(json_object_get(upcall, "function"));
    json_t *raw = json_object_get(upcall, "experiment");
    char err[1024];
    if (cli->session != NULL || function == NULL || raw == NULL) {
        reply(reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename",
                                   cli->session ? "ExperimentBusy" : "UsageError", "evalue",
                                   cli->session ? "another experiment is running"
                                                : "run_experiment needs a function and an experiment"));
        return;
    }
    struct session_events events = {cli, cli_on_progress, cli_on_experiment_call_finished};
    enum session_error rc = cli_open_session(cli, "faaset-results", &events);
    snprintf(err, sizeof err, "cannot start the experiment");
    if (rc == SESSION_OK && (rc = session_add_functions(cli->session, function, err, sizeof err)) == SESSION_OK &&
        (rc = session_open(cli->session, raw, NULL, err, sizeof err)) == SESSION_OK) {
        cli_print_warnings(cli);
        fprintf(stderr, "Experiment %s: rows in %s\n", session_experiment(cli->session)->name,
                session_folder(cli->session));
        cli->experiment_reply = reply;
        cli->experiment_reply_ctx = reply_ctx;
        rc = session_run(cli->session, err, sizeof err);
    }
    if (rc != SESSION_OK) {
        session_free(cli->session);
        cli->session = NULL;
        reply(reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", session_error_name(rc), "evalue", err));
    }
}

/* ---- deploy: a file through the local runtime ---- */

static void cli_write_output(struct cli *cli, enum pyhost_stream stream)
{
    char buffer[65536];
    size_t n;
    while (cli->runtime != NULL && (n = pyhost_read_output(cli->runtime, stream, buffer, sizeof buffer)) > 0)
        fwrite(buffer, 1, n, stream == PYHOST_STDOUT ? stdout : stderr);
}

static void cli_on_output(void *ctx, enum pyhost_stream stream)
{
    cli_write_output(ctx, stream);
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

static void cli_on_frame(struct cli *cli, const json_t *frame)
{
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (type == NULL)
        return;
    if (upcalls_is_upcall(type, frame)) {
        upcalls_handle(&cli->upcalls, type, frame);
    } else if (strcmp(type, "stream") == 0) {
        const char *name = json_string_value(json_object_get(frame, "name"));
        fputs(json_string_value(json_object_get(frame, "text")) ?: "",
              name && strcmp(name, "stderr") == 0 ? stderr : stdout);
    } else if (strcmp(type, "execute_result") == 0) {
        printf("%s\n", json_string_value(json_object_get(json_object_get(frame, "data"), "text/plain")) ?: "");
    } else if (strcmp(type, "error") == 0) {
        cli_print_error(frame);
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

static void cli_on_frames(void *ctx)
{
    struct cli *cli = ctx;
    json_t *frame;
    int rc;
    while (!cli->finished && (rc = pyhost_receive(cli->runtime, &frame)) == 1) {
        cli_on_frame(cli, frame);
        json_decref(frame);
    }
    if (!cli->finished && rc < 0) {
        char how[128];
        cli_write_output(cli, PYHOST_STDERR);
        pyhost_stop(cli->runtime, 500, how, sizeof how);
        fprintf(stderr, "faaset: the Python runtime %s\n", how);
        cli->exit_code = 1;
        cli->finished = 1;
    }
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
    struct pyhost_events events = {&cli, cli_on_frames, cli_on_output};
    if (cli_open(&cli) < 0 || (cli.runtime = pyhost_new(cli_python(), cli.reactor, &events)) == NULL) {
        fprintf(stderr, "faaset deploy: cannot start\n");
    } else if (pyhost_start(cli.runtime, err, sizeof err) < 0) {
        fprintf(stderr, "faaset deploy: %s\n", err);
    } else {
        cli.upcalls.runtime = cli.runtime;
        json_t *request = json_pack("{s:s, s:i, s:s, s:s, s:i, s:O, s:i, s:b, s:b, s:b, s:s}", "type", "cloud_function",
                                    "id", 1, "code", source, "body", source, "body_line", 1, "options", options,
                                    "execution_count", 1, "silent", 0, "store_history", 0, "allow_stdin", 0,
                                    "filename", path);
        if (request != NULL && pyhost_send(cli.runtime, request) == 0) {
            cli_loop(&cli);
            cli_write_output(&cli, PYHOST_STDOUT);
            cli_write_output(&cli, PYHOST_STDERR);
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

/* ---- invoke and delete ---- */

/* "faaset COMMAND: ename: evalue" for a cloud call that failed. */
static void cli_print_outcome_error(const char *command, const struct platform_outcome *outcome)
{
    fprintf(stderr, "faaset %s: %s: %s\n", command, outcome->error_type ? outcome->error_type : "Error",
            outcome->message ? outcome->message : "");
}

static void cli_on_invoke(void *ctx, const struct cloud_outcome *outcome)
{
    struct cli *cli = ctx;
    if (outcome->platform.ok) {
        json_t *shown = cloud_shown_result(outcome);
        char *text = json_dumps(shown, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
        printf("%s\n", text ? text : "null");
        free(text);
        json_decref(shown);
        cli->exit_code = 0;
    } else {
        json_t *remote = cloud_traceback(&outcome->platform);
        if (json_array_size(remote) > 0) {
            fprintf(stderr, "Remote traceback:\n");
            size_t i;
            json_t *line;
            json_array_foreach(remote, i, line)
                fprintf(stderr, "%s\n", json_string_value(line));
        }
        json_decref(remote);
        cli_print_outcome_error("invoke", &outcome->platform);
        cli->exit_code = 1;
    }
    cli->finished = 1;
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
    if (cli_open(&cli) < 0) {
        fprintf(stderr, "faaset invoke: cannot start\n");
    } else {
        struct cloud_call call = {.function = argv[first], .platform = platform, .payload = payload, .retry = 1};
        cloud_call(cli.cloud, &call, cli_on_invoke, &cli);
        cli_loop(&cli);
        rc = cli.exit_code;
    }
    json_decref(payload);
    cli_close(&cli);
    return rc;
}

static void cli_on_delete(void *ctx, const struct cloud_outcome *outcome)
{
    struct cli *cli = ctx;
    if (outcome->platform.ok) {
        printf("%s\n", outcome->line ? outcome->line : "deleted");
        cli->exit_code = 0;
    } else {
        cli_print_outcome_error("delete", &outcome->platform);
        cli->exit_code = 1;
    }
    cli->finished = 1;
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

/* ---- run: FaaS Runner's files ---- */

static void cli_on_run_finished(void *ctx, const json_t *summary)
{
    struct cli *cli = ctx;
    json_t *shown = stats_without_series(summary);
    char *text = json_dumps(shown, JSON_INDENT(2) | JSON_REAL_PRECISION(16));
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(shown);
    const char *status = json_string_value(json_object_get(summary, "status"));
    cli->exit_code = status != NULL && strcmp(status, "complete") == 0 ? 0 : 1;
    json_int_t runs = json_integer_value(json_object_get(summary, "runs"));
    if (runs > 0 && json_integer_value(json_object_get(summary, "successes")) == 0) {
        /* FaaS Runner's line first, for the scripts that look for it */
        fprintf(stderr, "ERROR - ALL REQUESTS FAILED\nfaaset run: all %" JSON_INTEGER_FORMAT " runs failed (", runs);
        const char *type;
        json_t *count;
        int first = 1;
        json_object_foreach(json_object_get(summary, "failures"), type, count) {
            fprintf(stderr, "%s%s: %" JSON_INTEGER_FORMAT, first ? "" : ", ", type, json_integer_value(count));
            first = 0;
        }
        fprintf(stderr, "); the rows say why, in %s\n", cli->session ? session_folder(cli->session) : "the results");
        cli->exit_code = 1;
    }
    cli->finished = 1;
}

/* Reads one FaaS Runner function file, or prints why it cannot. */
static json_t *cli_function_file(const char *path)
{
    char err[1200];
    json_t *file = fsutil_load_json(path, err, sizeof err);
    if (file == NULL)
        fprintf(stderr, "faaset run: cannot read %s: %s\n", path, err);
    return file;
}

int cli_run(int argc, char **argv)
{
    static const char usage_text[] = "usage: faaset run -f FUNCTION.json [-f NEXT.json ...] -e EXPERIMENT.json [-o DIR]";
    const char *function_paths[SESSION_MAX_STAGES], *experiment_path = NULL, *output = "faaset-results";
    int stages = 0;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc || (strcmp(argv[i], "-f") && strcmp(argv[i], "-e") && strcmp(argv[i], "-o")))
            return cli_usage(usage_text);
        if (strcmp(argv[i], "-f") == 0 && stages == SESSION_MAX_STAGES)
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
    char load_err[1200];
    json_t *experiment = fsutil_load_json(experiment_path, load_err, sizeof load_err);
    if (experiment == NULL) {
        fprintf(stderr, "faaset run: cannot read %s: %s\n", experiment_path, load_err);
        return 1;
    }
    char hint[128];
    const char *base = strrchr(experiment_path, '/') ? strrchr(experiment_path, '/') + 1 : experiment_path;
    snprintf(hint, sizeof hint, "%.*s", (int)strcspn(base, "."), base);
    struct cli cli;
    struct session_events events = {&cli, cli_on_progress, cli_on_run_finished};
    char err[1024] = "cannot start";
    const char *where = "faaset run";
    int rc = 1;
    enum session_error error = cli_open(&cli) == 0 ? cli_open_session(&cli, output, &events) : SESSION_NO_MEMORY;
    for (int stage = 0; stage < stages && error == SESSION_OK; stage++) {
        json_t *file = cli_function_file(function_paths[stage]);
        if (file == NULL) {
            cli_close(&cli);
            json_decref(experiment);
            return 1;
        }
        error = session_add_function_file(cli.session, file, err, sizeof err);
        json_decref(file);
        where = function_paths[stage];
    }
    if (error == SESSION_OK && (error = session_open(cli.session, experiment, hint, err, sizeof err)) != SESSION_OK)
        where = experiment_path;
    if (error == SESSION_OK) {
        cli_print_warnings(&cli);
        fprintf(stderr, "Experiment %s: rows in %s\n", session_experiment(cli.session)->name,
                session_folder(cli.session));
        error = session_run(cli.session, err, sizeof err);
    }
    if (error == SESSION_OK) {
        cli_catch_sigint();
        cli_loop(&cli);
        rc = cli.exit_code;
    } else {
        fprintf(stderr, "faaset run: %s%s%s\n", strcmp(where, "faaset run") ? where : "",
                strcmp(where, "faaset run") ? ": " : "", err);
    }
    cli_close(&cli);
    json_decref(experiment);
    return rc;
}
