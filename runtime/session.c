/* session: an experiment's stages, results folder, runners and FaaS
 * Runner's files (see session.h). The HTTP engine is made only when a
 * stage is an endpoint.
 *
 * One experiment across platforms: the session has a lane per platform,
 * each with its own stages (the same functions, deployed there) and its own
 * runner making the same runs; every runner writes into the one results
 * folder, each row with its platform (`endpoint`). Lanes start together
 * (platformOrder "parallel") or each when the one before has finished
 * ("sequential"; an interrupt starts no more). When the last lane ends, the
 * summary is the one runner's, or, with several lanes, the figures of every
 * row on disk (stats.h counts each platform on its own too), with what the
 * runs cost on each platform (prices.h) added.
 *
 * The session records the experiment and what it calls in the folder's
 * experiment.json; summary.json gets the summary without the chart series
 * (the rows hold them) plus the end time. With memorySettings each lane's
 * deploy record is read before the run, and when the runners end each
 * lane's memory is set back to its record's (one more set_memory, waited
 * for, one lane after another) and the record's config hash restored,
 * before the summary is written. */
#include "session.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "clock.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "platform.h"
#include "faasrunner.h"
#include "prices.h"
#include "results.h"
#include "stats.h"
#include "targets.h"

/* A memory restore's context: it outlives a session freed before the
 * platform answers (the kernel stopping), which then only frees it. */
struct session_restore {
    struct session *session;
};

#define SESSION_NO_RESTORE (-2)     /* deployed_state of a lane whose memory the experiment does not change */
#define SESSION_MAX_LANES EXPERIMENT_MAX_PLATFORMS

/* One platform's runs: its stages, its runner, how its memory ended. */
struct session_lane {
    struct session *session;
    char platform[CLOUD_PLATFORM_NAME_SIZE];   /* "" for an HTTP endpoint */
    struct target *targets[SESSION_MAX_STAGES];
    int stage_count;
    struct runner *runner;
    int started;
    json_t *summary;                 /* the runner's, once it has finished */
    struct runner_progress progress; /* the runner's last */
    int reported;                    /* PROGRESS holds a report */
    /* memorySettings: the first stage's record from before the run */
    struct deploy_record deployed;
    int deployed_state;              /* cloud_record's answer, or SESSION_NO_RESTORE */
    char deployed_err[512];
    int restored;
    char restore_sentence[800];
};

struct session {
    struct reactor *reactor;
    struct cloud *cloud;
    struct http_engine *http;        /* only when a stage is an HTTP endpoint */
    char *output;
    char *workdir;
    struct session_events events;
    char names[SESSION_MAX_STAGES][65]; /* the functions named, resolved to lanes by session_open */
    int name_count;
    json_t *function_files;          /* the FaaS Runner files given, if any */
    char function[128];
    char platform[CLOUD_PLATFORM_NAME_SIZE * SESSION_MAX_LANES]; /* "local", or "local, ibm" */
    struct experiment experiment;
    int experiment_read;
    struct prices *prices;
    struct results_store *store;
    char folder[4096];
    struct session_lane lanes[SESSION_MAX_LANES];
    int lane_count;
    int lanes_finished;
    int interrupted;                 /* no more lanes start */
    json_t *ending;                  /* the summary while the memory is restored */
    int restoring;                   /* the lane whose memory is being restored */
    struct session_restore *restore; /* the restore under way, or NULL */
    int aborted;                     /* the kernel is stopping: no more platform calls */
    int holding;                     /* a loop over the lanes is under way: the end waits for it */
    int ended;                       /* every lane has ended: the summary is being made */
};

struct session *session_new(struct reactor *reactor, struct cloud *cloud, const char *output, const char *workdir,
                            const struct session_events *events)
{
    struct session *session = calloc(1, sizeof *session);
    if (session == NULL)
        return NULL;
    session->reactor = reactor;
    session->cloud = cloud;
    session->output = strdup(output);
    session->workdir = strdup(workdir);
    session->events = *events;
    for (int i = 0; i < SESSION_MAX_LANES; i++)
        session->lanes[i] = (struct session_lane){.session = session, .deployed_state = SESSION_NO_RESTORE};
    if (session->output == NULL || session->workdir == NULL) {
        session_free(session);
        return NULL;
    }
    return session;
}

void session_free(struct session *session)
{
    if (session == NULL)
        return;
    if (session->restore != NULL)
        session->restore->session = NULL;
    for (int l = 0; l < session->lane_count; l++) {
        struct session_lane *lane = &session->lanes[l];
        if (lane->runner != NULL)
            runner_release(lane->runner); /* frees itself when its last outstanding call answers */
        for (int i = 0; i < lane->stage_count; i++)
            target_free(lane->targets[i]);
        json_decref(lane->summary);
    }
    if (session->store != NULL)
        results_close(session->store, NULL);
    http_engine_free(session->http);
    if (session->experiment_read)
        experiment_free(&session->experiment);
    prices_free(session->prices);
    json_decref(session->function_files);
    json_decref(session->ending);
    free(session->output);
    free(session->workdir);
    free(session);
    /* An experiment's figures and queues are megabytes while it runs; give
     * what was freed back to the system, so a long-lived kernel stays small. */
    malloc_trim(0);
}

const char *session_error_name(enum session_error error)
{
    switch (error) {
    case SESSION_OK:
        return "OK";
    case SESSION_NOT_DEPLOYED:
        return "NotDeployed";
    case SESSION_INVALID_EXPERIMENT:
        return "InvalidExperiment";
    case SESSION_RESULTS_UNAVAILABLE:
        return "ResultsUnavailable";
    case SESSION_NO_MEMORY:
        return "OutOfMemory";
    }
    return "Error";
}

static enum session_error session_check_room(int stages, char *err, size_t err_size)
{
    if (stages < SESSION_MAX_STAGES)
        return SESSION_OK;
    snprintf(err, err_size, "a pipeline has at most %d functions", SESSION_MAX_STAGES);
    return SESSION_INVALID_EXPERIMENT;
}

/* Appends TARGET to LANE's stages. */
static enum session_error session_add_stage(struct session_lane *lane, struct target *target, char *err,
                                            size_t err_size)
{
    if (target == NULL) {
        snprintf(err, err_size, "out of memory");
        return SESSION_NO_MEMORY;
    }
    lane->targets[lane->stage_count++] = target;
    return SESSION_OK;
}

enum session_error session_add_functions(struct session *session, const char *names, char *err, size_t err_size)
{
    int before = session->name_count;
    for (const char *p = names; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        char name[65];
        snprintf(name, sizeof name, "%.*s", (int)(len < 64 ? len : 64), p);
        p += len;
        enum session_error rc = session_check_room(session->name_count, err, err_size);
        if (rc != SESSION_OK)
            return rc;
        json_t *platforms = cloud_deployed_platforms(session->cloud, name);
        size_t deployed = json_array_size(platforms);
        json_decref(platforms);
        if (deployed == 0) {
            snprintf(err, err_size, "%.64s is not deployed from this folder; run its %%%%cloud_function cell first",
                     name);
            return SESSION_NOT_DEPLOYED;
        }
        memcpy(session->names[session->name_count++], name, sizeof name);
    }
    if (session->name_count > before)
        return SESSION_OK;
    snprintf(err, err_size, "name the function to run the experiment against");
    return SESSION_NOT_DEPLOYED;
}

enum session_error session_add_function_file(struct session *session, const json_t *file, char *err,
                                             size_t err_size)
{
    const char *function = json_string_value(json_object_get(file, "function"));
    const char *platform = json_string_value(json_object_get(file, "platform"));
    const char *endpoint = json_string_value(json_object_get(file, "endpoint"));
    struct session_lane *lane = &session->lanes[0];
    enum session_error rc = session_check_room(lane->stage_count, err, err_size);
    if (rc != SESSION_OK)
        return rc;
    if (function == NULL || platform == NULL) {
        snprintf(err, err_size, "a function file needs \"function\" and \"platform\" strings");
        return SESSION_INVALID_EXPERIMENT;
    }
    if (session->function_files == NULL)
        session->function_files = json_array();
    json_array_append(session->function_files, (json_t *)file);
    session->lane_count = 1;
    if (lane->stage_count == 0)
        snprintf(session->function, sizeof session->function, "%s", function);
    if (strcmp(platform, "HTTP") != 0) {
        const char *ours = platforms_from_faas_runner(platform);
        if (lane->stage_count == 0)
            snprintf(lane->platform, sizeof lane->platform, "%s", ours);
        return session_add_stage(lane, target_function(session->cloud, function, ours, NULL, 0), err, err_size);
    }
    if (endpoint == NULL || *endpoint == '\0') {
        snprintf(err, err_size, "the HTTP platform needs an \"endpoint\" URL");
        return SESSION_INVALID_EXPERIMENT;
    }
    if (session->http == NULL && (session->http = http_engine_new(session->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return SESSION_NO_MEMORY;
    }
    if (lane->stage_count == 0)
        snprintf(session->platform, sizeof session->platform, "HTTP");
    return session_add_stage(lane, target_http(session->http, function, endpoint), err, err_size);
}

/* The lanes of the functions named: one per platform of the experiment's
 * `platforms`, else per platform the first function is deployed to; every
 * function must be deployed on every lane's platform. PIPELINE gets what
 * each lane's stages are (for experiment.json). */
static enum session_error session_make_lanes(struct session *session, json_t *pipelines, char *err, size_t err_size)
{
    const struct experiment *e = &session->experiment;
    json_t *platforms = json_array();
    for (int i = 0; i < e->platform_count; i++)
        json_array_append_new(platforms, json_string(e->platforms[i]));
    if (e->platform_count == 0) {
        json_decref(platforms);
        platforms = cloud_deployed_platforms(session->cloud, session->names[0]);
    }
    enum session_error rc = SESSION_OK;
    size_t p;
    json_t *item;
    json_array_foreach(platforms, p, item) {
        if (p == SESSION_MAX_LANES)
            break;
        struct session_lane *lane = &session->lanes[session->lane_count++];
        snprintf(lane->platform, sizeof lane->platform, "%s", json_string_value(item));
        const struct price *price = prices_find(session->prices, lane->platform, NULL);
        json_t *stages = json_array();
        json_object_set_new(pipelines, lane->platform, stages);
        for (int s = 0; s < session->name_count && rc == SESSION_OK; s++) {
            json_t *deployment = cloud_describe(session->cloud, session->names[s], lane->platform);
            json_array_append(stages, deployment);
            if (json_object_get(deployment, "code_hash") == NULL) {
                snprintf(err, err_size,
                         "%.64s is not deployed on %s from this folder; add %s to its %%%%cloud_function cell's "
                         "platforms= and run it, or leave %s out of the experiment's platforms",
                         session->names[s], lane->platform, lane->platform, lane->platform);
                rc = SESSION_NOT_DEPLOYED;
            } else {
                int memory_mb = (int)json_integer_value(json_object_get(deployment, "memory_mb"));
                rc = session_add_stage(lane, target_function(session->cloud, session->names[s], lane->platform,
                                                             price, memory_mb),
                                       err, err_size);
            }
            json_decref(deployment);
        }
        size_t used = strlen(session->platform);
        snprintf(session->platform + used, sizeof session->platform - used, "%s%s", used ? ", " : "", lane->platform);
        if (rc != SESSION_OK)
            break;
    }
    json_decref(platforms);
    return rc;
}

enum session_error session_open(struct session *session, const json_t *experiment, const char *name_hint, char *err,
                                size_t err_size)
{
    if (session->name_count == 0 && session->lane_count == 0) {
        snprintf(err, err_size, "name the function to run the experiment against");
        return SESSION_NOT_DEPLOYED;
    }
    if (session->name_count > 0)
        snprintf(session->function, sizeof session->function, "%s", session->names[0]);
    session->experiment_read = 1; /* what a failed parse holds is freed too */
    if (experiment_parse(experiment, name_hint ? name_hint : session->function, session->workdir,
                         &session->experiment, err, err_size) < 0)
        return SESSION_INVALID_EXPERIMENT;
    if (session->function_files != NULL && session->experiment.platform_count > 0) {
        snprintf(err, err_size, "platforms: a function file names its own platform; give one function file per "
                 "platform, or run the experiment from the notebook");
        return SESSION_INVALID_EXPERIMENT;
    }
    if ((session->prices = prices_load(session->workdir, err, err_size)) == NULL)
        return SESSION_INVALID_EXPERIMENT;
    json_t *pipelines = json_object();
    if (session->name_count > 0) {
        enum session_error rc = session_make_lanes(session, pipelines, err, err_size);
        if (rc != SESSION_OK) {
            json_decref(pipelines);
            return rc;
        }
    } else {
        const char *platform = session->lanes[0].platform;
        if (session->platform[0] == '\0')
            snprintf(session->platform, sizeof session->platform, "%s", platform);
        json_t *stages = json_array();
        size_t i;
        json_t *file;
        json_array_foreach(session->function_files, i, file) {
            const char *named = json_string_value(json_object_get(file, "platform"));
            json_t *stage = json_pack("{s:s, s:s}", "name", json_string_value(json_object_get(file, "function")),
                                      "platform", strcmp(named, "HTTP") == 0 ? "HTTP" : platforms_from_faas_runner(named));
            if (strcmp(named, "HTTP") == 0) {
                json_object_set(stage, "endpoint", json_object_get(file, "endpoint"));
            } else { /* billed for the memory its deploy record has, if it was deployed from here */
                const char *ours = platforms_from_faas_runner(named);
                json_t *deployment = cloud_describe(session->cloud, json_string_value(json_object_get(file, "function")),
                                                    ours);
                target_bill(session->lanes[0].targets[i], prices_find(session->prices, ours, NULL),
                            (int)json_integer_value(json_object_get(deployment, "memory_mb")));
                json_decref(deployment);
            }
            json_array_append_new(stages, stage);
        }
        json_object_set_new(pipelines, platform[0] ? platform : "HTTP", stages);
    }
    char start[32];
    clock_iso8601_now(start);
    const char *first = session->lanes[0].platform[0] ? session->lanes[0].platform : "HTTP";
    json_t *pipeline = json_object_get(pipelines, first);
    json_t *platforms = json_array();
    for (int l = 0; l < session->lane_count; l++)
        json_array_append_new(platforms, json_string(session->lanes[l].platform[0] ? session->lanes[l].platform : "HTTP"));
    json_t *meta = json_pack("{s:O, s:s, s:O, s:O, s:o, s:O, s:s, s:s, s:s}", "experiment", experiment, "function",
                             session->function, "deployment", json_array_get(pipeline, 0), "pipeline", pipeline,
                             "platforms", platforms, "pipelines", pipelines, "platformOrder",
                             session->experiment.platforms_sequential ? "sequential" : "parallel", "startTime", start,
                             "faaset", FAASET_VERSION);
    json_decref(pipelines);
    if (session->function_files != NULL)
        json_object_set(meta, "functionFiles", session->function_files);
    session->store = results_open(session->output, session->function, session->experiment.name, meta, err, err_size);
    json_decref(meta);
    if (session->store == NULL)
        return SESSION_RESULTS_UNAVAILABLE;
    snprintf(session->folder, sizeof session->folder, "%s", results_folder(session->store));
    return SESSION_OK;
}

/* FaaS Runner's files, from the rows on disk: in the folder itself, or,
 * across platforms, one set per platform in FOLDER/PLATFORM/. */
static void session_write_faas_runner_files(struct session *session)
{
    char err[512];
    json_t *rows = results_load_rows(session->folder, err, sizeof err);
    if (rows == NULL) {
        log_warn("no FaaS Runner files for %s: %s", session->folder, err);
        return;
    }
    int pipeline = session->lanes[0].stage_count > 1;
    if (session->lane_count == 1) {
        if (faasrunner_write(session->folder, session->function, &session->experiment, pipeline, rows, err,
                             sizeof err) < 0)
            log_warn("no FaaS Runner files for %s: %s", session->folder, err);
        json_decref(rows);
        return;
    }
    for (int l = 0; l < session->lane_count; l++) {
        const char *platform = session->lanes[l].platform;
        json_t *mine = json_array();
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
            if (strcmp(json_string_value(json_object_get(row, "endpoint")) ?: "", platform) == 0)
                json_array_append(mine, row);
        char folder[4200];
        snprintf(folder, sizeof folder, "%s/%s", session->folder, platform);
        if (fsutil_mkdirs(folder, 0700) < 0 ||
            faasrunner_write(folder, session->function, &session->experiment, pipeline, mine, err, sizeof err) < 0)
            log_warn("no FaaS Runner files for %s on %s: %s", session->folder, platform, err);
        json_decref(mine);
    }
    json_decref(rows);
}

/* The runners' progress, summed over the lanes (a lane not started yet
 * counts its runs as to do). */
static void session_on_progress(void *ctx, const struct runner_progress *progress)
{
    struct session_lane *lane = ctx;
    struct session *session = lane->session;
    lane->progress = *progress;
    lane->reported = 1;
    if (session->lane_count == 1) {
        session->events.progress(session->events.ctx, progress);
        return;
    }
    struct runner_progress sum = {.phase = progress->phase, .eta_s = -1};
    for (int l = 0; l < session->lane_count; l++) {
        const struct runner_progress *one = session->lanes[l].reported ? &session->lanes[l].progress : progress;
        int done = session->lanes[l].summary != NULL, seen = session->lanes[l].reported;
        sum.done += seen ? one->done : 0;
        sum.failed += seen ? one->failed : 0;
        sum.retries += seen ? one->retries : 0;
        sum.in_flight += seen && !done ? one->in_flight : 0;
        sum.rate += seen && !done ? one->rate : 0;
        sum.total += one->total;
    }
    if (sum.rate > 0)
        sum.eta_s = (double)(sum.total - sum.done) / sum.rate;
    session->events.progress(session->events.ctx, &sum);
}

/* SUMMARY's "platforms" in the order of the lanes (the experiment's
 * `platforms`), not the order their first answers came in. */
static void session_order_platforms(const struct session *session, json_t *summary)
{
    json_t *figures = json_object_get(summary, "platforms");
    json_t *ordered = json_array();
    for (int l = 0; l < session->lane_count; l++) {
        size_t i;
        json_t *item;
        json_array_foreach(figures, i, item)
            if (strcmp(json_string_value(json_object_get(item, "platform")) ?: "", session->lanes[l].platform) == 0)
                json_array_append(ordered, item);
    }
    if (json_array_size(ordered) == json_array_size(figures))
        json_object_set(summary, "platforms", ordered);
    json_decref(ordered);
}

/* What the runs cost on each platform, into SUMMARY's "costs": {"currency",
 * "total", "complete" (every platform priced), "priceFile", "platforms":
 * [{"platform", "cost" (null when unknown), "billedRuns", "billedMs",
 * "note"}]}. */
static void session_add_costs(struct session *session, json_t *summary)
{
    if (session->lanes[0].platform[0] == '\0')
        return; /* an HTTP endpoint is no platform's */
    json_t *list = json_array();
    double total = 0;
    int complete = 1;
    for (int l = 0; l < session->lane_count; l++) {
        const char *platform = session->lanes[l].platform;
        const json_t *figures = NULL;
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(summary, "platforms"), i, item)
            if (strcmp(json_string_value(json_object_get(item, "platform")) ?: "", platform) == 0)
                figures = json_object_get(item, "cost");
        const struct price *price = prices_find(session->prices, platform, NULL);
        double cost = json_number_value(json_object_get(figures, "total"));
        char note[1300];
        if (price == NULL)
            snprintf(note, sizeof note, "price unknown for %s (add it to %s)", platform,
                     prices_user_file(session->prices));
        else
            snprintf(note, sizeof note, "%s", price->note[0] ? price->note : price->free ? "no charge" : "");
        json_t *entry = json_pack("{s:s, s:o, s:I, s:f, s:s}", "platform", platform, "cost",
                                  price ? json_real(cost) : json_null(), "billedRuns",
                                  json_integer_value(json_object_get(figures, "billedRuns")), "billedMs",
                                  json_number_value(json_object_get(figures, "billedMs")), "note", note);
        json_array_append_new(list, entry);
        complete &= price != NULL;
        total += price ? cost : 0;
    }
    json_object_set_new(summary, "costs", json_pack("{s:s, s:f, s:b, s:s, s:o}", "currency", "USD", "total", total,
                                                    "complete", complete, "priceFile",
                                                    prices_user_file(session->prices), "platforms", list));
}

/* The experiment is over: the folder is closed with SUMMARY and the front end told. */
static void session_end(struct session *session, const json_t *summary)
{
    char end[32];
    clock_iso8601_now(end);
    json_t *shown = json_deep_copy(summary);
    json_object_set_new(shown, "endTime", json_string(end));
    json_t *kept = stats_without_series(shown);
    results_close(session->store, kept);
    session->store = NULL;
    json_decref(kept);
    session_write_faas_runner_files(session);
    session->events.finished(session->events.ctx, shown);
    json_decref(shown);
}

/* A lane's memory restore did not happen: SENTENCE says why. */
static void session_lane_not_restored(struct session_lane *lane, const char *sentence)
{
    lane->restored = 0;
    snprintf(lane->restore_sentence, sizeof lane->restore_sentence, "%s", sentence);
}

/* Every lane's memory has ended: the summary says how ("memoryRestored",
 * true when every lane's was, and "memoryRestore", one sentence, or one
 * per platform) and the experiment ends. */
static void session_note_restores(struct session *session)
{
    struct buffer sentence = {0};
    int restored = 1, counted = 0;
    for (int l = 0; l < session->lane_count; l++) {
        const struct session_lane *lane = &session->lanes[l];
        if (lane->deployed_state == SESSION_NO_RESTORE)
            continue;
        restored &= lane->restored;
        if (session->lane_count > 1)
            buffer_printf(&sentence, "%s%s: %s", counted ? "; " : "", lane->platform, lane->restore_sentence);
        else
            buffer_puts(&sentence, lane->restore_sentence);
        counted++;
    }
    json_t *summary = session->ending;
    session->ending = NULL;
    if (counted > 0) {
        json_object_set_new(summary, "memoryRestored", json_boolean(restored));
        json_object_set_new(summary, "memoryRestore", json_string(sentence.data ? sentence.data : ""));
    }
    buffer_free(&sentence);
    session_end(session, summary);
    json_decref(summary);
}

/* The kernel is stopping: the platforms are not waited for. */
static void session_note_stopped(struct session *session)
{
    char sentence[200];
    snprintf(sentence, sizeof sentence, "memory not restored: the kernel stopped first; run %.64s's cell to restore it",
             session->function);
    for (int l = session->restoring; l < session->lane_count; l++)
        if (session->lanes[l].deployed_state != SESSION_NO_RESTORE)
            session_lane_not_restored(&session->lanes[l], sentence);
    session_note_restores(session);
}

static void session_restore_next(struct session *session);

static void session_on_memory_restored(void *ctx, const struct cloud_outcome *outcome)
{
    struct session_restore *restore = ctx;
    struct session *session = restore->session;
    free(restore);
    if (session == NULL)
        return;
    session->restore = NULL;
    struct session_lane *lane = &session->lanes[session->restoring];
    lane->restored = outcome->platform.ok;
    if (outcome->platform.ok)
        snprintf(lane->restore_sentence, sizeof lane->restore_sentence, "memory restored to %d MB",
                 lane->deployed.memory_mb);
    else
        snprintf(lane->restore_sentence, sizeof lane->restore_sentence,
                 "memory not restored to %d MB (%.64s: %.500s); run %.64s's cell to restore it",
                 lane->deployed.memory_mb, outcome->platform.error_type ?: "Error", outcome->platform.message ?: "",
                 session->function);
    session->restoring++;
    session_restore_next(session);
}

/* Puts back the memory of the next lane that changed it (what its cell
 * deployed), then the next; when none is left, the experiment ends. */
static void session_restore_next(struct session *session)
{
    for (; session->restoring < session->lane_count; session->restoring++) {
        struct session_lane *lane = &session->lanes[session->restoring];
        char sentence[800];
        if (lane->deployed_state == SESSION_NO_RESTORE)
            continue;
        if (session->aborted) {
            session_note_stopped(session);
            return;
        }
        if (lane->deployed_state < 0) {
            snprintf(sentence, sizeof sentence, "memory not restored: the deploy record cannot be read (%.500s)",
                     lane->deployed_err);
            session_lane_not_restored(lane, sentence);
        } else if (lane->deployed_state == 0) {
            snprintf(sentence, sizeof sentence, "memory not restored: %.64s has no deploy record from this folder",
                     session->function);
            session_lane_not_restored(lane, sentence);
        } else if (strcmp(lane->deployed.config_hash, CLOUD_SET_BY_EXPERIMENT) == 0) {
            snprintf(sentence, sizeof sentence,
                     "memory not restored: %.64s's deploy record holds an earlier experiment's memory, not its "
                     "cell's; run its cell to restore it",
                     session->function);
            session_lane_not_restored(lane, sentence);
        } else if ((session->restore = calloc(1, sizeof *session->restore)) == NULL) {
            session_lane_not_restored(lane, "memory not restored: out of memory");
        } else {
            session->restore->session = session;
            cloud_restore_memory(session->cloud, session->function, lane->platform, &lane->deployed,
                                 session_on_memory_restored, session->restore);
            return;
        }
    }
    session_note_restores(session);
}

/* The summary of every lane together: the one runner's, or across
 * platforms the figures of every row on disk, with the runners' status
 * ("complete" only when every lane completed), retries and abandoned runs. */
static json_t *session_summary(struct session *session)
{
    if (session->lane_count == 1)
        return json_deep_copy(session->lanes[0].summary);
    char err[512];
    json_t *rows = results_load_rows(session->folder, err, sizeof err);
    json_t *summary = stats_report_rows(rows);
    json_decref(rows);
    if (summary == NULL)
        return NULL;
    const char *status = "complete";
    long long retries = 0, abandoned = 0;
    for (int l = 0; l < session->lane_count; l++) {
        const json_t *lane = session->lanes[l].summary;
        const char *lane_status = lane ? json_string_value(json_object_get(lane, "status")) : "interrupted";
        if (lane_status != NULL && strcmp(lane_status, "complete") != 0)
            status = lane_status;
        retries += json_integer_value(json_object_get(lane, "retries"));
        abandoned += json_integer_value(json_object_get(lane, "abandonedInFlight"));
        if (json_object_get(lane, "stoppedBy") != NULL)
            json_object_set(summary, "stoppedBy", json_object_get(lane, "stoppedBy"));
    }
    json_object_set_new(summary, "status", json_string(status));
    json_object_set_new(summary, "retries", json_integer(retries));
    json_object_set_new(summary, "abandonedInFlight", json_integer(abandoned));
    return summary;
}

static enum session_error session_start_lane(struct session_lane *lane, char *err, size_t err_size);
static void session_maybe_end(struct session *session);

/* A lane's runner ended: the next lane starts (sequential), or, when every
 * lane has ended, the memory is put back and the experiment ends. */
static void session_on_finished(void *ctx, const json_t *summary)
{
    struct session_lane *lane = ctx;
    struct session *session = lane->session;
    lane->summary = json_deep_copy(summary);
    session->lanes_finished++;
    const char *status = json_string_value(json_object_get(summary, "status"));
    if (status != NULL && strcmp(status, "complete") != 0)
        session->interrupted = 1;
    for (int l = 0; l < session->lane_count && !session->interrupted && !session->aborted; l++) {
        struct session_lane *next = &session->lanes[l];
        if (next->started)
            continue;
        char err[512];
        if (session_start_lane(next, err, sizeof err) == SESSION_OK)
            return;
        next->summary = json_pack("{s:s, s:s}", "status", "failed", "stoppedBy", err);
        session->lanes_finished++;
    }
    session_maybe_end(session);
}

/* When every lane that started has ended (and no loop over the lanes is
 * under way: a runner may end while it is being started, interrupted or
 * aborted), the memory is put back and the experiment ends. */
static void session_maybe_end(struct session *session)
{
    int started = 0;
    for (int l = 0; l < session->lane_count; l++)
        started += session->lanes[l].started;
    if (session->holding || session->ended || session->lanes_finished < started)
        return;
    session->ended = 1;
    session->ending = session_summary(session);
    if (session->ending == NULL) {
        json_t *last = json_pack("{s:s}", "status", "failed");
        session_end(session, last);
        json_decref(last);
        return;
    }
    session_order_platforms(session, session->ending);
    session_add_costs(session, session->ending);
    session->restoring = 0;
    session_restore_next(session);
}

/* Starts LANE's runner, its deploy record read first when its memory will change. */
static enum session_error session_start_lane(struct session_lane *lane, char *err, size_t err_size)
{
    struct session *session = lane->session;
    struct runner_target stages[SESSION_MAX_STAGES];
    for (int i = 0; i < lane->stage_count; i++)
        stages[i] = *target_runner(lane->targets[i]);
    struct runner_events events = {lane, session_on_progress, session_on_finished};
    lane->deployed_state = SESSION_NO_RESTORE;
    if (session->experiment.memory_count > 0 && stages[0].set_memory != NULL)
        lane->deployed_state = cloud_record(session->cloud, session->function, lane->platform, &lane->deployed,
                                            lane->deployed_err, sizeof lane->deployed_err);
    lane->started = 1;
    lane->runner = runner_start(session->reactor, &session->experiment, stages, lane->stage_count, session->store,
                                &events, err, err_size);
    if (lane->runner == NULL) {
        lane->deployed_state = SESSION_NO_RESTORE;
        return SESSION_INVALID_EXPERIMENT;
    }
    return SESSION_OK;
}

enum session_error session_run(struct session *session, char *err, size_t err_size)
{
    int lanes = session->experiment.platforms_sequential ? 1 : session->lane_count;
    session->holding = 1;
    for (int l = 0; l < lanes; l++) {
        struct session_lane *lane = &session->lanes[l];
        if (lane->started) /* a lane that ended at once started the next itself */
            continue;
        enum session_error rc = session_start_lane(lane, err, err_size);
        if (rc != SESSION_OK && l == 0) {
            session->holding = 0;
            return rc;
        }
        if (rc != SESSION_OK) { /* the others run; the summary says this one failed */
            lane->summary = json_pack("{s:s, s:s}", "status", "failed", "stoppedBy", err);
            session->lanes_finished++;
        }
    }
    session->holding = 0;
    session_maybe_end(session);
    return SESSION_OK;
}

void session_interrupt(struct session *session)
{
    session->interrupted = 1;
    session->holding = 1;
    for (int l = 0; l < session->lane_count; l++)
        if (session->lanes[l].runner != NULL && session->lanes[l].summary == NULL)
            runner_interrupt(session->lanes[l].runner);
    session->holding = 0;
    session_maybe_end(session);
}

void session_abort(struct session *session)
{
    session->aborted = 1;
    if (session->restore != NULL) { /* its answer may come after the front end is gone: end now */
        session->restore->session = NULL;
        session->restore = NULL;
        session_note_stopped(session);
        return;
    }
    session->holding = 1;
    for (int l = 0; l < session->lane_count; l++)
        if (session->lanes[l].runner != NULL && session->lanes[l].summary == NULL)
            runner_abort(session->lanes[l].runner);
    session->holding = 0;
    session_maybe_end(session);
}

const struct experiment *session_experiment(const struct session *session) { return &session->experiment; }
const char *session_folder(const struct session *session) { return session->folder; }
const char *session_platform(const struct session *session) { return session->platform; }
int session_stage_count(const struct session *session) { return session->lanes[0].stage_count; }
int session_platform_count(const struct session *session) { return session->lane_count; }
