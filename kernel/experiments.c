/* experiments: %%experiment in the notebook (see experiments.h). The
 * experiment itself is a session (runtime/session.h); this file shows it
 * under its cell: the start line, one progress display updated in place,
 * the summary table and the charts, and ends the cell (or answers
 * run_experiment). One experiment runs at a time in a kernel. */
#include "experiments.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "clock.h"
#include "experiment.h"
#include "experiment_charts.h"
#include "log.h"
#include "results.h"
#include "session.h"
#include "stats.h"

struct experiments {
    struct requests *requests;
    struct cloud *cloud;
    struct reactor *reactor;
    char *workdir;
    struct experiments_run *running;
};

/* One experiment being shown. */
struct experiments_run {
    struct experiments *experiments;
    struct session *session;
    char display_id[200];
    char msg_id[128];                /* the cell it reports under */
    cloud_reply_fn reply;            /* run_experiment(): answer this instead of ending the cell */
    void *reply_ctx;
};

struct experiments *experiments_new(struct requests *requests, struct cloud *cloud, struct reactor *reactor,
                                    const char *workdir)
{
    struct experiments *experiments = calloc(1, sizeof *experiments);
    if (experiments == NULL)
        return NULL;
    *experiments = (struct experiments){.requests = requests, .cloud = cloud, .reactor = reactor,
                                        .workdir = strdup(workdir)};
    if (experiments->workdir == NULL) {
        free(experiments);
        return NULL;
    }
    return experiments;
}

void experiments_free(struct experiments *experiments)
{
    if (experiments == NULL)
        return;
    if (experiments->running != NULL) /* before the platforms end its calls: no made-up failures */
        session_abort(experiments->running->session);
    free(experiments->workdir);
    free(experiments);
}

/* The header this run's output goes under, while its cell is still the
 * one running (not interrupted away), else NULL. */
static const json_t *experiments_parent(const struct experiments_run *run)
{
    struct requests *requests = run->experiments->requests;
    const json_t *header = run->reply ? requests_output_parent(requests)
                                      : requests_current(requests) ? requests_current(requests)->header : NULL;
    const char *current = json_string_value(json_object_get(header, "msg_id"));
    return current != NULL && strcmp(current, run->msg_id) == 0 ? header : NULL;
}

/* Errors before the experiment starts: the cell's error, or the upcall's. */
static void experiments_fail(struct experiments_run *run, const char *ename, const char *evalue)
{
    if (run->reply != NULL)
        run->reply(run->reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", ename, "evalue", evalue));
    else
        requests_fail_execute(run->experiments->requests, ename, evalue);
}

static void experiments_run_free(struct experiments_run *run)
{
    if (run->experiments->running == run)
        run->experiments->running = NULL;
    session_free(run->session);
    free(run);
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
    const char *name = session_experiment(run->session)->name;
    char text[256], html[512];
    experiments_progress_text(progress, text, sizeof text);
    double fraction = progress->total ? (double)progress->done / (double)progress->total : 0;
    snprintf(html, sizeof html,
             "<div><progress value=\"%.4f\" max=\"1\" style=\"width:20em\"></progress> <b>%s</b>: %s</div>", fraction,
             name, text);
    char plain[400];
    snprintf(plain, sizeof plain, "%s: %s", name, text);
    requests_publish(run->experiments->requests, parent, "update_display_data",
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

/* USD as people read it: "$0", "$0.0000128", "$1.2345". */
static void experiments_format_cost(double usd, char *out, size_t size)
{
    if (usd == 0)
        snprintf(out, size, "$0");
    else if (usd < 0.01)
        snprintf(out, size, "$%.7f", usd);
    else
        snprintf(out, size, "$%.4f", usd);
}

/* What the runs cost, from SUMMARY's "costs": the total and each platform's
 * (or why it is not known), as a table row and a text line. */
static void experiments_add_costs(struct buffer *html, struct buffer *text, const json_t *costs)
{
    if (!json_is_object(costs))
        return;
    char total[64];
    experiments_format_cost(json_number_value(json_object_get(costs, "total")), total, sizeof total);
    struct buffer parts = {0};
    size_t i;
    json_t *platform;
    json_array_foreach(json_object_get(costs, "platforms"), i, platform) {
        const json_t *cost = json_object_get(platform, "cost");
        const char *note = json_string_value(json_object_get(platform, "note")) ?: "";
        char figure[64];
        experiments_format_cost(json_number_value(cost), figure, sizeof figure);
        if (json_is_null(cost)) /* the note says the price is unknown and where to add it */
            buffer_printf(&parts, "%s%s", i ? "; " : "", note);
        else if (json_number_value(cost) == 0 && *note) /* why it is free */
            buffer_printf(&parts, "%s%s %s, %s", i ? "; " : "", json_string_value(json_object_get(platform, "platform")),
                          figure, note);
        else
            buffer_printf(&parts, "%s%s %s", i ? "; " : "", json_string_value(json_object_get(platform, "platform")),
                          figure);
    }
    const char *known = json_is_true(json_object_get(costs, "complete")) ? "" : " (known prices only)";
    buffer_printf(html, "<tr><td>cost</td><td colspan=3>%s%s: ", total, known);
    buffer_puts_html(html, parts.data ? parts.data : "");
    buffer_puts(html, "</td></tr>");
    buffer_printf(text, "  cost %s%s: %s\n", total, known, parts.data ? parts.data : "");
    buffer_free(&parts);
}

/* Across platforms: one row per platform, side by side (runs, cold and
 * warm, concurrency, runtime and latency p50 / p90 / p99, cost). */
static void experiments_add_platforms(struct buffer *html, struct buffer *text, const json_t *summary)
{
    const json_t *platforms = json_object_get(summary, "platforms");
    if (json_array_size(platforms) < 2)
        return;
    buffer_puts(html, "<table><caption>by platform</caption><tr><th>platform</th><th>runs</th><th>failed</th>"
                      "<th>cold / warm</th><th>concurrency peak / mean</th><th>runtime p50 / p90 / p99 (ms)</th>"
                      "<th>latency p50 / p90 / p99 (ms)</th><th>cost</th></tr>");
    buffer_puts(text, "  by platform:\n");
    size_t i;
    json_t *one;
    json_array_foreach(platforms, i, one) {
        const char *name = json_string_value(json_object_get(one, "platform")) ?: "";
        long long runs = (long long)json_integer_value(json_object_get(one, "runs"));
        long long failed = runs - (long long)json_integer_value(json_object_get(one, "successes"));
        long long cold = (long long)json_integer_value(json_object_get(one, "newContainers"));
        long long warm = (long long)json_integer_value(json_object_get(one, "warmRuns"));
        const json_t *concurrency = json_object_get(one, "concurrency");
        const json_t *runtime = json_object_get(one, "runtime"), *latency = json_object_get(one, "latency");
        char cost[64] = "-";
        size_t k;
        json_t *priced;
        json_array_foreach(json_object_get(json_object_get(summary, "costs"), "platforms"), k, priced) {
            const json_t *usd = json_object_get(priced, "cost");
            if (strcmp(json_string_value(json_object_get(priced, "platform")) ?: "", name) != 0)
                continue;
            if (json_is_null(usd))
                snprintf(cost, sizeof cost, "unknown");
            else
                experiments_format_cost(json_number_value(usd), cost, sizeof cost);
        }
        double figures[6];
        const json_t *from[6] = {runtime, runtime, runtime, latency, latency, latency};
        const char *keys[6] = {"p50", "p90", "p99", "p50", "p90", "p99"};
        for (int f = 0; f < 6; f++)
            figures[f] = json_number_value(json_object_get(from[f], keys[f]));
        buffer_puts(html, "<tr><td>");
        buffer_puts_html(html, name);
        buffer_printf(html, "</td><td>%lld</td><td>%lld</td><td>%lld / %lld</td><td>%lld / %.1f</td>"
                            "<td>%.2f / %.2f / %.2f</td><td>%.2f / %.2f / %.2f</td><td>%s</td></tr>",
                      runs, failed, cold, warm, (long long)json_integer_value(json_object_get(concurrency, "peak")),
                      json_number_value(json_object_get(concurrency, "mean")), figures[0], figures[1], figures[2],
                      figures[3], figures[4], figures[5], cost);
        buffer_printf(text, "    %-8s runs %lld, failed %lld, cold %lld, warm %lld, concurrency peak %lld mean %.1f; "
                            "runtime p50 %.2f p90 %.2f p99 %.2f; latency p50 %.2f p90 %.2f p99 %.2f; cost %s\n",
                      name, runs, failed, cold, warm, (long long)json_integer_value(json_object_get(concurrency, "peak")),
                      json_number_value(json_object_get(concurrency, "mean")), figures[0], figures[1], figures[2],
                      figures[3], figures[4], figures[5], cost);
    }
    buffer_puts(html, "</table>");
}

/* Publishes the figures of SUMMARY as a table (HTML and text). Every part
 * grows as needed: an experiment may fail in any number of ways. */
static void experiments_publish_summary(struct requests *requests, const json_t *parent, const char *name,
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
    const char *restore = json_string_value(json_object_get(summary, "memoryRestore"));
    if (restore != NULL) {
        buffer_puts(&html, "<tr><td>memory</td><td colspan=3>");
        buffer_puts_html(&html, restore);
        buffer_puts(&html, "</td></tr>");
        buffer_printf(&text, "  %s\n", restore);
    }
    experiments_add_costs(&html, &text, json_object_get(summary, "costs"));
    buffer_puts(&html, "</table>");
    experiments_add_platforms(&html, &text, summary);
    buffer_printf(&html, "<p>Rows: <code>%s</code></p>", folder);
    if (html.failed || text.failed || failures.failed)
        log_error("out of memory: the summary of %s is not shown", name);
    else
        requests_publish(requests, parent, "display_data",
                         json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                   "metadata"));
    buffer_free(&html);
    buffer_free(&text);
    buffer_free(&failures);
}

/* What was run, from the experiment.json of FOLDER (the function, the
 * platforms of its stages, the threads of the experiment as parsed), for
 * the charts' subtitles. The strings live in the buffers given. */
static struct experiment_charts_about experiments_about(const char *folder, const char *workdir, char *function,
                                                        size_t function_size, char *platforms, size_t platforms_size)
{
    struct experiment_charts_about about = {function, platforms, 0};
    char path[2200];
    snprintf(path, sizeof path, "%s/experiment.json", folder);
    json_t *meta = json_load_file(path, 0, NULL);
    const char *name = json_string_value(json_object_get(meta, "function"));
    snprintf(function, function_size, "%s", name ? name : "the function");
    platforms[0] = '\0';
    size_t i, used = 0;
    json_t *stage;
    json_array_foreach(json_object_get(meta, "pipeline"), i, stage) {
        const char *platform = json_string_value(json_object_get(stage, "platform"));
        if (platform != NULL && strstr(platforms, platform) == NULL && used < platforms_size)
            used += (size_t)snprintf(platforms + used, platforms_size - used, "%s%s", used ? ", " : "", platform);
    }
    if (platforms[0] == '\0')
        snprintf(platforms, platforms_size, "its platform");
    struct experiment parsed = {0};
    char err[256];
    if (json_is_object(json_object_get(meta, "experiment")) &&
        experiment_parse(json_object_get(meta, "experiment"), function, workdir, &parsed, err, sizeof err) == 0)
        about.threads = parsed.threads;
    experiment_free(&parsed);
    json_decref(meta);
    return about;
}

/* The charts of REPORT for the experiment in FOLDER (experiment_charts.h). */
static json_t *experiments_charts(const struct experiments *experiments, const char *folder, const json_t *report)
{
    char function[256], platforms[256];
    struct experiment_charts_about about = experiments_about(folder, experiments->workdir, function, sizeof function,
                                                             platforms, sizeof platforms);
    return experiment_charts_build(report, &about);
}

/* The charts under the summary. */
static void experiments_publish_charts(struct requests *requests, const json_t *parent, const json_t *charts)
{
    size_t i;
    json_t *chart;
    json_array_foreach(charts, i, chart)
        requests_publish(requests, parent, "display_data", json_incref(json_object_get(chart, "bundle")));
}

static void experiments_on_finished(void *ctx, const json_t *summary)
{
    struct experiments_run *run = ctx;
    struct requests *requests = run->experiments->requests;
    const char *name = session_experiment(run->session)->name;
    const json_t *parent = experiments_parent(run);
    if (parent != NULL) {
        experiments_publish_summary(requests, parent, name, session_platform(run->session),
                                    session_folder(run->session), summary);
        json_t *charts = experiments_charts(run->experiments, session_folder(run->session), summary);
        experiments_publish_charts(requests, parent, charts);
        json_decref(charts);
    }
    const char *status = json_string_value(json_object_get(summary, "status"));
    if (run->reply != NULL) {
        json_t *shown = stats_without_series(summary);
        json_object_del(shown, "endTime");
        run->reply(run->reply_ctx, json_pack("{s:s, s:s, s:o, s:b}", "status", "ok", "folder",
                                             session_folder(run->session), "summary", shown, "interrupted",
                                             status != NULL && strcmp(status, "complete") != 0));
    } else if (parent != NULL) {
        if (status != NULL && strcmp(status, "complete") == 0) {
            json_t *frame = json_pack("{s:s, s:[]}", "status", "ok", "payload");
            requests_finish_execute(requests, frame);
            json_decref(frame);
        } else {
            char evalue[300];
            snprintf(evalue, sizeof evalue, "the experiment %s was %s; the rows of the runs that finished are kept",
                     name, status ? status : "stopped");
            requests_fail_execute(requests,
                                  strcmp(status ? status : "", "interrupted") == 0 ? "KeyboardInterrupt"
                                                                                   : "ExperimentFailed",
                                  evalue);
        }
    }
    experiments_run_free(run);
}

/* Starts RUN against FUNCTIONS ("f", or a pipeline "f g h") with the
 * experiment RAW; NAME_HINT names it when RAW has no experimentName. */
static void experiments_begin(struct experiments_run *run, const char *functions, const json_t *raw,
                              const char *name_hint)
{
    struct experiments *experiments = run->experiments;
    struct session_events events = {run, experiments_on_progress, experiments_on_finished};
    run->session = session_new(experiments->reactor, experiments->cloud, "faaset-results", experiments->workdir,
                               &events);
    if (run->session == NULL) {
        experiments_fail(run, "OutOfMemory", "cannot start the experiment");
        experiments_run_free(run);
        return;
    }
    char err[512];
    enum session_error rc = session_add_functions(run->session, functions, err, sizeof err);
    if (rc == SESSION_OK)
        rc = session_open(run->session, raw, name_hint, err, sizeof err);
    if (rc != SESSION_OK) {
        experiments_fail(run, session_error_name(rc), err);
        experiments_run_free(run);
        return;
    }
    const struct experiment *experiment = session_experiment(run->session);
    const json_t *parent = experiments_parent(run);
    size_t i;
    json_t *warning;
    json_array_foreach(experiment->warnings, i, warning)
        requests_publish(experiments->requests, parent, "stream",
                         json_pack("{s:s, s:s+}", "name", "stderr", "text", "warning: ", json_string_value(warning)));
    char line[1200];
    int several = session_platform_count(run->session) > 1;
    snprintf(line, sizeof line, "Experiment %s: %d runs x %d iterations%s%s on %s%s, %d at a time%s; rows in %s\n",
             experiment->name, experiment->runs, experiment->iterations,
             experiment->memory_count ? " x memory settings" : "",
             session_stage_count(run->session) > 1 ? " through a pipeline" : "", several ? "each of " : "",
             session_platform(run->session), experiment->threads,
             !several ? "" : experiment->platforms_sequential ? ", one platform after another" : " on each, all at once",
             session_folder(run->session));
    requests_publish(experiments->requests, parent, "stream", json_pack("{s:s, s:s}", "name", "stdout", "text", line));
    snprintf(run->display_id, sizeof run->display_id, "experiment-%s-%lld", experiment->name, clock_mono_ms());
    requests_publish(experiments->requests, parent, "display_data",
                     json_pack("{s:{s:s}, s:{}, s:{s:s}}", "data", "text/plain", "starting...", "metadata",
                               "transient", "display_id", run->display_id));
    experiments->running = run;
    if (run->reply == NULL)
        requests_await_kernel(experiments->requests, 1);
    if ((rc = session_run(run->session, err, sizeof err)) != SESSION_OK) {
        requests_await_kernel(experiments->requests, 0);
        experiments_fail(run, session_error_name(rc), err);
        experiments_run_free(run);
    }
}

void experiments_start_cell(struct experiments *experiments, const char *functions, const json_t *raw,
                            const char *name_hint)
{
    struct experiments_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        requests_fail_execute(experiments->requests, "OutOfMemory", "cannot start the experiment");
        return;
    }
    run->experiments = experiments;
    snprintf(run->msg_id, sizeof run->msg_id, "%s", requests_current_id(experiments->requests));
    experiments_begin(run, functions, raw, name_hint);
}

void experiments_start_call(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx)
{
    struct experiments *experiments = ctx;
    const char *function = json_string_value(json_object_get(upcall, "function"));
    json_t *raw = json_object_get(upcall, "experiment");
    if (function == NULL || raw == NULL || experiments->running != NULL) {
        reply(reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename",
                                   experiments->running ? "ExperimentBusy" : "UsageError", "evalue",
                                   experiments->running ? "another experiment is running in this kernel"
                                                        : "run_experiment needs a function and an experiment"));
        return;
    }
    struct experiments_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        reply(reply_ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", "OutOfMemory", "evalue",
                                   "cannot start the experiment"));
        return;
    }
    run->experiments = experiments;
    run->reply = reply;
    run->reply_ctx = reply_ctx;
    snprintf(run->msg_id, sizeof run->msg_id, "%s",
             json_string_value(json_object_get(requests_output_parent(experiments->requests), "msg_id")) ?: "");
    experiments_begin(run, function, raw, NULL);
}

int experiments_interrupt(struct experiments *experiments)
{
    if (experiments->running == NULL)
        return 0;
    session_interrupt(experiments->running->session);
    return 1;
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
    json_t *report = stats_report_rows(rows);
    json_decref(rows);
    if (report == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char path[2200];
    snprintf(path, sizeof path, "%s/summary.json", found->path);
    json_t *summary = json_load_file(path, 0, NULL);
    const char *status = json_string_value(json_object_get(summary, "status"));
    json_object_set_new(report, "status", json_string(status ? status : "incomplete (the kernel stopped before it ended)"));
    if (json_object_get(summary, "costs") != NULL) /* what the runs cost, with the prices of the day they ran */
        json_object_set(report, "costs", json_object_get(summary, "costs"));
    json_decref(summary);
    return report;
}

static void experiments_compare(struct experiments *experiments, const struct experiments_found *runs[2], json_t *reports[2])
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
        requests_publish(experiments->requests, requests_current(experiments->requests)->header, "display_data",
                           json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                     "metadata"));
    buffer_free(&html);
    buffer_free(&text);
}

/* Writes the charts of the experiment RUN into DIR and says so under the cell. */
static int experiments_save(struct experiments *experiments, const struct experiments_found *run, const json_t *charts,
                            const char *dir, char *err, size_t err_size)
{
    json_t *written = experiment_charts_save(charts, dir, run->name, err, err_size);
    if (written == NULL)
        return -1;
    struct buffer line = {0};
    buffer_printf(&line, "Saved %zu chart%s of %s as SVG in %s:", json_array_size(written),
                  json_array_size(written) == 1 ? "" : "s", run->name, dir);
    size_t i;
    json_t *path;
    json_array_foreach(written, i, path)
        buffer_printf(&line, " %s", json_string_value(path));
    buffer_printf(&line, "\n");
    if (!line.failed)
        requests_publish(experiments->requests, requests_current(experiments->requests)->header, "stream",
                         json_pack("{s:s, s:s}", "name", "stdout", "text", line.data));
    buffer_free(&line);
    json_decref(written);
    return 0;
}

/* ARGS of %results: up to two names and --save DIR. Returns 0, or -1 with ERR. */
static int experiments_results_args(const char *args, char names[2][256], int *name_count, char *save, size_t save_size,
                                    char *err, size_t err_size)
{
    *name_count = 0;
    save[0] = '\0';
    char word[1024];
    int used;
    for (const char *at = args; sscanf(at, " %1023s%n", word, &used) == 1; at += used) {
        if (strcmp(word, "--save") == 0) {
            at += used;
            if (sscanf(at, " %1023s%n", word, &used) != 1 || word[0] == '-') {
                snprintf(err, err_size, "--save needs a folder: %%results [NAME [NAME2]] --save DIR");
                return -1;
            }
            snprintf(save, save_size, "%s", word);
        } else if (word[0] == '-' || *name_count == 2) {
            snprintf(err, err_size, "usage: %%results [NAME [NAME2]] [--save DIR] (not %.200s)", word);
            return -1;
        } else {
            snprintf(names[(*name_count)++], 256, "%.255s", word);
        }
    }
    return 0;
}

void experiments_results(struct experiments *experiments, const char *args)
{
    char wanted[2][256] = {"", ""}, save[1024], err[512] = "";
    int given;
    if (experiments_results_args(args, wanted, &given, save, sizeof save, err, sizeof err) < 0) {
        requests_fail_execute(experiments->requests, "UsageError", err);
        return;
    }
    size_t count;
    struct experiments_found *found = experiments_scan(&count);
    const struct experiments_found *runs[2] = {NULL, NULL};
    json_t *reports[2] = {NULL, NULL};
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
    const char *ename = "NoResults";
    const json_t *parent = requests_current(experiments->requests)->header;
    for (int i = 0; i < wanted_count && !err[0]; i++) {
        json_t *charts = experiments_charts(experiments, runs[i]->path, reports[i]);
        if (wanted_count == 1) {
            char path[2200];
            snprintf(path, sizeof path, "%s/experiment.json", runs[0]->path);
            json_t *meta = json_load_file(path, 0, NULL);
            const char *platform = json_string_value(json_object_get(json_object_get(meta, "deployment"), "platform"));
            experiments_publish_summary(experiments->requests, parent, runs[0]->name,
                                        platform ? platform : "its platform", runs[0]->path, reports[0]);
            json_decref(meta);
            experiments_publish_charts(experiments->requests, parent, charts);
        }
        if (save[0] && experiments_save(experiments, runs[i], charts, save, err, sizeof err) < 0)
            ename = "SaveFailed";
        json_decref(charts);
    }
    if (err[0]) {
        requests_fail_execute(experiments->requests, ename, err);
    } else {
        if (wanted_count == 2)
            experiments_compare(experiments, runs, reports);
        json_t *frame = json_pack("{s:s, s:[]}", "status", "ok", "payload");
        requests_finish_execute(experiments->requests, frame);
        json_decref(frame);
    }
    json_decref(reports[0]);
    json_decref(reports[1]);
    free(found);
}
