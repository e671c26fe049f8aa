/* experiments: %%experiment in the kernel (see experiments.h). */
#include "experiments.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "buffer.h"
#include "charts.h"
#include "cloud.h"
#include "dispatcher_private.h"
#include "experiment.h"
#include "log.h"
#include "report.h"
#include "runner.h"
#include "stats.h"
#include "targets.h"

#define EXPERIMENTS_PROGRESS_MS 250

struct experiments_run {
    struct dispatcher *d;
    struct experiment experiment;
    struct results_store *store;
    struct runner *runner;
    struct target *targets[16];      /* one per pipeline stage */
    int stages;
    char function[65];
    char platform[16];
    char folder[4096];
    char display_id[200];
    char msg_id[128];                /* the cell it reports under */
    cloud_reply_fn reply;            /* run_experiment(): answer this instead of ending the cell */
    void *reply_ctx;
    double last_progress_ms;
};

/* This run's cell is still the current request (not interrupted away). */
static const json_t *experiments_parent(struct experiments_run *run)
{
    struct dispatcher *d = run->d;
    const json_t *header = run->reply ? d->output_parent : d->current ? d->current->header : NULL;
    const char *current = json_string_value(json_object_get(header, "msg_id"));
    return current != NULL && strcmp(current, run->msg_id) == 0 ? header : NULL;
}

/* Errors before the experiment starts: the cell's error, or the upcall's. */
static void experiments_fail(struct experiments_run *run, const char *ename, const char *evalue)
{
    if (run->reply != NULL)
        run->reply(run->reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", ename, "evalue", evalue));
    else
        bridge_fail(run->d, ename, evalue);
}

static void experiments_progress_text(const struct runner_progress *p, char *text, size_t size)
{
    char eta[32] = "";
    if (p->eta_s >= 0 && p->done < p->total)
        snprintf(eta, sizeof eta, ", ETA %.0f s", p->eta_s);
    snprintf(text, size, "%lld/%lld done, %lld in flight, %lld failed, %.1f runs/s%s%s%s", p->done, p->total,
             p->in_flight, p->failed, p->rate, eta, strcmp(p->phase, "running") ? " — " : "",
             strcmp(p->phase, "running") ? p->phase : "");
}

static void experiments_on_progress(void *ctx, const struct runner_progress *progress)
{
    struct experiments_run *run = ctx;
    const json_t *parent = experiments_parent(run);
    if (parent == NULL)
        return;
    char text[256], html[512];
    experiments_progress_text(progress, text, sizeof text);
    double fraction = progress->total ? (double)progress->done / (double)progress->total : 0;
    snprintf(html, sizeof html,
             "<div><progress value=\"%.4f\" max=\"1\" style=\"width:20em\"></progress> <b>%s</b>: %s</div>", fraction,
             run->experiment.name, text);
    char plain[400];
    snprintf(plain, sizeof plain, "%s: %s", run->experiment.name, text);
    dispatcher_publish(run->d, "update_display_data", parent,
                       json_pack("{s:{s:s, s:s}, s:{}, s:{s:s}}", "data", "text/plain", plain, "text/html", html,
                                 "metadata", "transient", "display_id", run->display_id));
}

static void experiments_add_row(struct buffer *html, struct buffer *text, const char *label,
                                const json_t *distribution)
{
    if (!json_is_object(distribution))
        return;
    double p50 = json_number_value(json_object_get(distribution, "p50"));
    double p90 = json_number_value(json_object_get(distribution, "p90"));
    double p99 = json_number_value(json_object_get(distribution, "p99"));
    buffer_printf(html, "<tr><td>%s (ms)</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>", label, p50, p90, p99);
    buffer_printf(text, "  %-22s p50 %9.2f  p90 %9.2f  p99 %9.2f\n", label, p50, p90, p99);
}

/* Publishes the figures of SUMMARY as a table (HTML and text). Every part
 * grows as needed: an experiment may fail in any number of ways. */
static void experiments_publish_summary(struct dispatcher *d, const json_t *parent, const char *name,
                                        const char *platform, const char *folder, const json_t *summary)
{
    struct buffer html = {0}, text = {0}, failures = {0};
    const char *key;
    json_t *count;
    json_object_foreach(json_object_get(summary, "failures"), key, count)
        buffer_printf(&failures, "%s%s: %lld", failures.size ? ", " : "", key, (long long)json_integer_value(count));
    const char *failed = failures.size ? "; failed: " : "";
    const char *failure_list = failures.data ? failures.data : "";
    json_t *concurrency = json_object_get(summary, "concurrency");
    const char *status = json_string_value(json_object_get(summary, "status"));
    long long runs = (long long)json_integer_value(json_object_get(summary, "runs"));
    long long successes = (long long)json_integer_value(json_object_get(summary, "successes"));
    long long new_containers = (long long)json_integer_value(json_object_get(summary, "newContainers"));
    long long peak = (long long)json_integer_value(json_object_get(concurrency, "peak"));
    double mean = json_number_value(json_object_get(concurrency, "mean"));
    buffer_printf(&html,
                  "<table><caption><b>%s</b> on %s: %s</caption>"
                  "<tr><td>runs</td><td colspan=3>%lld (%lld succeeded%s%s)</td></tr>"
                  "<tr><td>new containers</td><td colspan=3>%lld</td></tr>"
                  "<tr><td>concurrency (%s times)</td><td colspan=3>peak %lld, mean %.1f</td></tr>"
                  "<tr><th></th><th>p50</th><th>p90</th><th>p99</th></tr>",
                  name, platform, status ? status : "", runs, successes, failed, failure_list, new_containers,
                  json_string_value(json_object_get(concurrency, "source")) ?: "client", peak, mean);
    buffer_printf(&text, "%s on %s: %s\n  runs %lld, succeeded %lld%s%s\n"
                  "  new containers %lld; concurrency peak %lld, mean %.1f\n",
                  name, platform, status ? status : "", runs, successes, failed, failure_list, new_containers, peak,
                  mean);
    experiments_add_row(&html, &text, "runtime", json_object_get(summary, "runtime"));
    experiments_add_row(&html, &text, "latency", json_object_get(summary, "latency"));
    experiments_add_row(&html, &text, "round trip", json_object_get(summary, "roundTripTime"));
    buffer_printf(&html, "</table><p>Rows: <code>%s</code></p>", folder);
    if (html.failed || text.failed || failures.failed)
        log_error("out of memory: the summary of %s is not shown", name);
    else
        dispatcher_publish(d, "display_data", parent,
                           json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                     "metadata"));
    buffer_free(&html);
    buffer_free(&text);
    buffer_free(&failures);
}

/* The three charts under the summary. */
static void experiments_publish_charts(struct dispatcher *d, const json_t *parent, const json_t *report)
{
    json_t *memory = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(report, "runtimeByMemory"), i, item)
        json_array_append_new(memory, json_pack("[O, O]", json_array_get(item, 0), json_array_get(item, 1)));
    const char *source = json_string_value(json_object_get(json_object_get(report, "concurrency"), "source"));
    struct chart charts[] = {
        {CHART_STEPS, strcmp(source ? source : "", "function") == 0 ? "Concurrency over time (function start and end)"
                                                                     : "Concurrency over time (client send and receive)",
         "time (s)", "runs in flight", json_object_get(report, "concurrencySeries")},
        {CHART_POINTS, "Latency over time (round trip minus runtime)", "time of the call (s)", "latency (ms)",
         json_object_get(report, "latencySeries")},
        {CHART_BARS, "Mean runtime by memory setting (0: the function's own)", "memory (MB)", "runtime (ms)", memory},
    };
    for (size_t c = 0; c < sizeof charts / sizeof charts[0]; c++)
        if (json_array_size(charts[c].points) > 0)
            dispatcher_publish(d, "display_data", parent, chart_bundle(&charts[c]));
    json_decref(memory);
}

/* FaaS Runner's report.csv, when the experiment asks for groups or overlaps. */
void experiments_write_report(const char *folder, const json_t *experiment)
{
    if (json_array_size(json_object_get(experiment, "outputGroups")) == 0 &&
        json_string_length(json_object_get(experiment, "overlapFilter")) == 0)
        return;
    char err[512];
    json_t *rows = results_load_rows(folder, err, sizeof err);
    if (rows == NULL || report_write(folder, experiment, rows, err, sizeof err) < 0)
        log_warn("no report for %s: %s", folder, err);
    json_decref(rows);
}

static void experiments_free(struct experiments_run *run)
{
    for (int i = 0; i < run->stages; i++)
        target_free(run->targets[i]);
    experiment_free(&run->experiment);
    free(run);
}

static void experiments_on_finished(void *ctx, const json_t *summary)
{
    struct experiments_run *run = ctx;
    struct dispatcher *d = run->d;
    json_t *meta = json_deep_copy(summary);
    json_object_del(meta, "concurrencySeries");
    json_object_del(meta, "latencySeries");
    char end[32];
    clock_iso8601_now(end);
    json_object_set_new(meta, "endTime", json_string(end));
    const json_t *parent = experiments_parent(run);
    if (parent != NULL) {
        experiments_publish_summary(d, parent, run->experiment.name, run->platform, results_folder(run->store),
                                    summary);
        experiments_publish_charts(d, parent, summary);
    }
    snprintf(run->folder, sizeof run->folder, "%s", results_folder(run->store));
    results_close(run->store, meta);
    run->store = NULL;
    experiments_write_report(run->folder, run->experiment.source);
    json_decref(meta);
    const char *status = json_string_value(json_object_get(summary, "status"));
    if (run->reply != NULL) {
        json_t *shown = json_deep_copy(summary);
        json_object_del(shown, "concurrencySeries");
        json_object_del(shown, "latencySeries");
        run->reply(run->reply_ctx, json_pack("{s:s, s:s, s:o, s:b}", "status", "ok", "folder", run->folder,
                                             "summary", shown, "interrupted",
                                             status != NULL && strcmp(status, "complete") != 0));
    } else if (parent != NULL) {
        if (status != NULL && strcmp(status, "complete") == 0) {
            json_t *frame = json_pack("{s:s, s:[]}", "status", "ok", "payload");
            bridge_finish_execute(d, frame);
            json_decref(frame);
        } else {
            char evalue[300];
            snprintf(evalue, sizeof evalue, "the experiment %s was %s; the rows of the runs that finished are kept",
                     run->experiment.name, status ? status : "stopped");
            bridge_fail(d, strcmp(status ? status : "", "interrupted") == 0 ? "KeyboardInterrupt" : "ExperimentFailed",
                        evalue);
        }
    }
    if (d->experiment == run)
        d->experiment = NULL;
    runner_release(run->runner);
    experiments_free(run);
    dispatcher_process_queue(d);
}

static json_t *experiments_meta(struct experiments_run *run, const json_t *raw)
{
    char start[32];
    clock_iso8601_now(start);
    json_t *functions = json_array();
    for (int i = 0; i < run->stages; i++)
        json_array_append_new(functions, cloud_describe(run->d->cloud, target_runner(run->targets[i])->function));
    return json_pack("{s:O, s:s, s:o, s:o, s:s, s:s}", "experiment", raw, "function", run->function, "deployment",
                     cloud_describe(run->d->cloud, run->function), "pipeline", functions, "startTime", start,
                     "faaset", FAASET_VERSION);
}

static void experiments_begin(struct experiments_run *run, const char *function, const json_t *raw,
                              const char *name_hint);

void experiments_start(struct dispatcher *d, const char *function, const json_t *raw, const char *name_hint)
{
    struct experiments_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        bridge_fail(d, "OutOfMemory", "cannot start the experiment");
        return;
    }
    run->d = d;
    snprintf(run->msg_id, sizeof run->msg_id, "%s", json_string_value(json_object_get(d->current->header, "msg_id")));
    experiments_begin(run, function, raw, name_hint);
}

void experiments_start_call(struct dispatcher *d, const json_t *upcall, cloud_reply_fn reply, void *ctx)
{
    const char *function = json_string_value(json_object_get(upcall, "function"));
    json_t *raw = json_object_get(upcall, "experiment");
    struct experiments_run *run = calloc(1, sizeof *run);
    if (run == NULL || function == NULL || raw == NULL || d->experiment != NULL) {
        reply(ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", run ? "ExperimentBusy" : "OutOfMemory",
                             "evalue", d->experiment ? "another experiment is running in this kernel"
                                                     : "run_experiment needs a function and an experiment"));
        free(run);
        return;
    }
    run->d = d;
    run->reply = reply;
    run->reply_ctx = ctx;
    snprintf(run->msg_id, sizeof run->msg_id, "%s", json_string_value(json_object_get(d->output_parent, "msg_id")) ?: "");
    experiments_begin(run, function, raw, NULL);
}

/* Splits FUNCTIONS ("f" or a pipeline "f g h") into one platform target
 * per stage. Returns 0, or -1 with ERR naming the first undeployed one. */
static int experiments_targets(struct experiments_run *run, const char *functions, char *err, size_t err_size)
{
    const char *p = functions;
    while (*p) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        char name[65];
        snprintf(name, sizeof name, "%.*s", (int)(len < 64 ? len : 64), p);
        p += len;
        if (run->stages == (int)(sizeof run->targets / sizeof run->targets[0])) {
            snprintf(err, err_size, "a pipeline has at most %zu functions", sizeof run->targets / sizeof run->targets[0]);
            return -1;
        }
        json_t *deployment = cloud_describe(run->d->cloud, name);
        int deployed = json_object_get(deployment, "code_hash") != NULL;
        json_decref(deployment);
        if (!deployed) {
            snprintf(err, err_size, "%.64s is not deployed from this folder; run its %%%%cloud_function cell first",
                     name);
            return -1;
        }
        if (run->stages == 0) {
            snprintf(run->function, sizeof run->function, "%s", name);
            cloud_platform_of(run->d->cloud, name, run->platform, sizeof run->platform);
        }
        run->targets[run->stages] = target_function(run->d->cloud, name, NULL);
        if (run->targets[run->stages] == NULL) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        run->stages++;
    }
    if (run->stages == 0) {
        snprintf(err, err_size, "name the function to run the experiment against");
        return -1;
    }
    return 0;
}

static void experiments_begin(struct experiments_run *run, const char *functions, const json_t *raw,
                              const char *name_hint)
{
    struct dispatcher *d = run->d;
    char err[512];
    if (experiments_targets(run, functions, err, sizeof err) < 0) {
        experiments_fail(run, "NotDeployed", err);
        experiments_free(run);
        return;
    }
    const char *function = run->function;
    char workdir[4096];
    if (getcwd(workdir, sizeof workdir) == NULL)
        strcpy(workdir, ".");
    if (experiment_parse(raw, name_hint ? name_hint : function, workdir, &run->experiment, err, sizeof err) < 0) {
        experiments_fail(run, "InvalidExperiment", err);
        experiments_free(run);
        return;
    }
    const json_t *parent = experiments_parent(run);
    size_t i;
    json_t *warning;
    json_array_foreach(run->experiment.warnings, i, warning)
        dispatcher_publish(d, "stream", parent,
                           json_pack("{s:s, s:s+}", "name", "stderr", "text", "warning: ", json_string_value(warning)));
    json_t *meta = experiments_meta(run, raw);
    run->store = results_open("faaset-results", function, run->experiment.name, meta, err, sizeof err);
    json_decref(meta);
    if (run->store == NULL) {
        experiments_fail(run, "ResultsUnavailable", err);
        experiments_free(run);
        return;
    }
    char line[1200];
    snprintf(line, sizeof line, "Experiment %s: %d runs x %d iterations%s%s on %s, %d at a time; rows in %s\n",
             run->experiment.name, run->experiment.runs, run->experiment.iterations,
             run->experiment.memory_count ? " x memory settings" : "", run->stages > 1 ? " through a pipeline" : "",
             run->platform, run->experiment.threads, results_folder(run->store));
    dispatcher_publish(d, "stream", parent, json_pack("{s:s, s:s}", "name", "stdout", "text", line));
    snprintf(run->display_id, sizeof run->display_id, "experiment-%s-%lld", run->experiment.name,
             (long long)clock_mono_ms());
    dispatcher_publish(d, "display_data", parent,
                       json_pack("{s:{s:s}, s:{}, s:{s:s}}", "data", "text/plain", "starting...", "metadata",
                                 "transient", "display_id", run->display_id));
    struct runner_events events = {run, experiments_on_progress, experiments_on_finished};
    d->experiment = run;
    if (run->reply == NULL)
        d->kernel_call_pending = 1;
    struct runner_target stages[sizeof run->targets / sizeof run->targets[0]];
    for (int stage = 0; stage < run->stages; stage++)
        stages[stage] = *target_runner(run->targets[stage]);
    run->runner = runner_start(d->reactor, &run->experiment, stages, run->stages, run->store, &events, err, sizeof err);
    if (run->runner == NULL) {
        d->experiment = NULL;
        results_close(run->store, NULL);
        experiments_fail(run, "InvalidExperiment", err);
        experiments_free(run);
    }
}

int experiments_interrupt(struct dispatcher *d)
{
    struct experiments_run *run = d->experiment;
    if (run == NULL)
        return 0;
    runner_interrupt(run->runner);
    return 1;
}

void experiments_shutdown(struct dispatcher *d)
{
    if (d->experiment != NULL)
        runner_abort(d->experiment->runner); /* before the platforms end its calls: no made-up failures */
}

/* ---- %results ----------------------------------------------------------------- */

struct experiments_found {
    char path[2048];
    char name[256];     /* NAME-TIME */
    char stamp[32];     /* TIME, sortable */
};

static int experiments_compare_found(const void *a, const void *b)
{
    return strcmp(((const struct experiments_found *)a)->stamp, ((const struct experiments_found *)b)->stamp);
}

/* Every run folder under faaset-results, oldest first. */
static struct experiments_found *experiments_scan(size_t *count)
{
    struct experiments_found *found = NULL;
    size_t capacity = 0;
    *count = 0;
    DIR *functions = opendir("faaset-results");
    struct dirent *function;
    while (functions != NULL && (function = readdir(functions)) != NULL) {
        if (function->d_name[0] == '.')
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "faaset-results/%.200s", function->d_name);
        DIR *runs = opendir(dir);
        struct dirent *run;
        while (runs != NULL && (run = readdir(runs)) != NULL) {
            const char *dash = strrchr(run->d_name, '-');
            if (run->d_name[0] == '.' || dash == NULL)
                continue;
            if (*count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                struct experiments_found *grown = realloc(found, capacity * sizeof *grown);
                if (grown == NULL)
                    break;
                found = grown;
            }
            struct experiments_found *f = &found[(*count)++];
            snprintf(f->path, sizeof f->path, "%s/%.200s", dir, run->d_name);
            snprintf(f->name, sizeof f->name, "%.200s", run->d_name);
            const char *stamp = strstr(run->d_name, "-2"); /* NAME-YYYYMMDDTHHMMSSZ */
            while (stamp != NULL && strstr(stamp + 1, "-2") != NULL && strlen(stamp) > 17)
                stamp = strstr(stamp + 1, "-2");
            snprintf(f->stamp, sizeof f->stamp, "%.30s", stamp ? stamp + 1 : run->d_name);
        }
        if (runs != NULL)
            closedir(runs);
    }
    if (functions != NULL)
        closedir(functions);
    if (found != NULL)
        qsort(found, *count, sizeof *found, experiments_compare_found);
    return found;
}

/* The newest run whose folder name starts with WANTED (or is its path). */
static const struct experiments_found *experiments_pick(const struct experiments_found *found, size_t count,
                                                        const char *wanted)
{
    for (size_t i = count; i-- > 0;) {
        if (wanted == NULL || strncmp(found[i].name, wanted, strlen(wanted)) == 0 || strcmp(found[i].path, wanted) == 0 ||
            strstr(found[i].path, wanted) != NULL)
            return &found[i];
    }
    return NULL;
}

/* A past run's report, from its rows on disk. */
static json_t *experiments_load_report(const struct experiments_found *found, char *err, size_t err_size)
{
    json_t *rows = results_load_rows(found->path, err, err_size);
    if (rows == NULL)
        return NULL;
    struct stats *stats = stats_new();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        stats_add(stats, row);
    json_t *report = stats_report(stats);
    stats_free(stats);
    json_decref(rows);
    char path[2200];
    snprintf(path, sizeof path, "%s/summary.json", found->path);
    json_t *summary = json_load_file(path, 0, NULL);
    const char *status = json_string_value(json_object_get(summary, "status"));
    json_object_set_new(report, "status", json_string(status ? status : "incomplete (the kernel stopped before it ended)"));
    json_decref(summary);
    return report;
}

static void experiments_compare(struct dispatcher *d, const struct experiments_found *runs[2], json_t *reports[2])
{
    static const char *const metrics[][2] = {{"runtime", "p50"}, {"runtime", "p99"}, {"latency", "p50"},
                                             {"latency", "p99"}, {"roundTripTime", "p50"}, {"roundTripTime", "p99"}};
    struct buffer html = {0}, text = {0};
    buffer_printf(&html, "<table><tr><th></th><th>%s</th><th>%s</th><th>B/A</th></tr>", runs[0]->name, runs[1]->name);
    buffer_printf(&text, "%-22s %14s %14s %8s\n", "", "A", "B", "B/A");
    double a_runs = (double)json_integer_value(json_object_get(reports[0], "runs"));
    double b_runs = (double)json_integer_value(json_object_get(reports[1], "runs"));
    buffer_printf(&html, "<tr><td>runs</td><td>%.0f</td><td>%.0f</td><td></td></tr>", a_runs, b_runs);
    buffer_printf(&text, "%-22s %14.0f %14.0f\n", "runs", a_runs, b_runs);
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        double a = json_number_value(json_object_get(json_object_get(reports[0], metrics[m][0]), metrics[m][1]));
        double b = json_number_value(json_object_get(json_object_get(reports[1], metrics[m][0]), metrics[m][1]));
        buffer_printf(&html, "<tr><td>%s %s (ms)</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>", metrics[m][0],
                      metrics[m][1], a, b, a > 0 ? b / a : 0);
        buffer_printf(&text, "%-13s %-8s %14.2f %14.2f %8.2f\n", metrics[m][0], metrics[m][1], a, b,
                      a > 0 ? b / a : 0);
    }
    const json_t *concurrency[2] = {json_object_get(reports[0], "concurrency"), json_object_get(reports[1], "concurrency")};
    buffer_printf(&html,
                  "<tr><td>concurrency peak / mean</td><td>%lld / %.1f</td><td>%lld / %.1f</td><td></td></tr></table>",
                  (long long)json_integer_value(json_object_get(concurrency[0], "peak")),
                  json_number_value(json_object_get(concurrency[0], "mean")),
                  (long long)json_integer_value(json_object_get(concurrency[1], "peak")),
                  json_number_value(json_object_get(concurrency[1], "mean")));
    if (!html.failed && !text.failed)
        dispatcher_publish(d, "display_data", d->current->header,
                           json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                     "metadata"));
    buffer_free(&html);
    buffer_free(&text);
}

void experiments_results(struct dispatcher *d, const char *args)
{
    char wanted[2][256] = {"", ""};
    int given = sscanf(args, "%255s %255s", wanted[0], wanted[1]);
    size_t count;
    struct experiments_found *found = experiments_scan(&count);
    const struct experiments_found *runs[2] = {NULL, NULL};
    json_t *reports[2] = {NULL, NULL};
    char err[512] = "";
    int wanted_count = given > 1 ? 2 : 1;
    for (int i = 0; i < wanted_count; i++) {
        runs[i] = experiments_pick(found, count, given > i ? wanted[i] : NULL);
        if (runs[i] == NULL) {
            snprintf(err, sizeof err, given > i ? "no experiment named %.200s in faaset-results/"
                                                : "no experiment has run in this folder yet (faaset-results/ is empty)",
                     wanted[i]);
            break;
        }
        if ((reports[i] = experiments_load_report(runs[i], err, sizeof err)) == NULL)
            break;
    }
    if (err[0]) {
        bridge_fail(d, "NoResults", err);
    } else if (wanted_count == 1) {
        char path[2200];
        snprintf(path, sizeof path, "%s/experiment.json", runs[0]->path);
        json_t *meta = json_load_file(path, 0, NULL);
        const char *platform = json_string_value(json_object_get(json_object_get(meta, "deployment"), "platform"));
        experiments_publish_summary(d, d->current->header, runs[0]->name, platform ? platform : "its platform",
                                    runs[0]->path, reports[0]);
        json_decref(meta);
        experiments_publish_charts(d, d->current->header, reports[0]);
        json_t *frame = json_pack("{s:s, s:[]}", "status", "ok", "payload");
        bridge_finish_execute(d, frame);
        json_decref(frame);
    } else {
        experiments_compare(d, runs, reports);
        json_t *frame = json_pack("{s:s, s:[]}", "status", "ok", "payload");
        bridge_finish_execute(d, frame);
        json_decref(frame);
    }
    json_decref(reports[0]);
    json_decref(reports[1]);
    free(found);
}
