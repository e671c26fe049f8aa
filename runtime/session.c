/* session: an experiment's stages, results folder, runner and FaaS Runner's files (see
 * session.h). The HTTP engine is made only when a stage is an endpoint.
 * The session records the experiment and what it calls in the folder's
 * experiment.json; summary.json gets the runner's summary without the
 * chart series (the rows hold them) plus the end time. With memorySettings
 * the first stage's deploy record is read before the run, and when the
 * runner ends its memory is set back to the record's (one more set_memory,
 * waited for) and the record's config hash restored, before the summary is
 * written. */
#include "session.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "platform.h"
#include "faasrunner.h"
#include "results.h"
#include "targets.h"

/* A memory restore's context: it outlives a session freed before the
 * platform answers (the kernel stopping), which then only frees it. */
struct session_restore {
    struct session *session;
};

#define SESSION_NO_RESTORE (-2)     /* deployed_state of an experiment that does not change the memory */

struct session {
    struct reactor *reactor;
    struct cloud *cloud;
    struct http_engine *http;        /* only when a stage is an HTTP endpoint */
    char *output;
    char *workdir;
    struct session_events events;
    struct target *targets[SESSION_MAX_STAGES];
    json_t *stages;                  /* what each stage is, for experiment.json */
    json_t *function_files;          /* the FaaS Runner files given, if any */
    int stage_count;
    char function[128];
    char platform[CLOUD_PLATFORM_NAME_SIZE];
    struct experiment experiment;
    int experiment_read;
    struct results_store *store;
    char folder[4096];
    struct runner *runner;
    /* memorySettings: the first stage's record from before the run, to
     * put its memory back when the experiment ends */
    struct deploy_record deployed;
    int deployed_state;              /* cloud_record's answer, or SESSION_NO_RESTORE */
    char deployed_err[512];
    json_t *ending;                  /* the runner's summary while the memory is restored */
    struct session_restore *restore; /* the restore under way, or NULL */
    int aborted;                     /* the kernel is stopping: no more platform calls */
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
    session->stages = json_array();
    if (session->output == NULL || session->workdir == NULL || session->stages == NULL) {
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
    if (session->runner != NULL)
        runner_release(session->runner); /* frees itself when its last outstanding call answers */
    if (session->store != NULL)
        results_close(session->store, NULL);
    for (int i = 0; i < session->stage_count; i++)
        target_free(session->targets[i]);
    http_engine_free(session->http);
    if (session->experiment_read)
        experiment_free(&session->experiment);
    json_decref(session->stages);
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

/* Appends TARGET as the next stage, described by STAGE (stolen). */
static enum session_error session_add_stage(struct session *session, struct target *target, json_t *stage,
                                            char *err, size_t err_size)
{
    if (target == NULL || stage == NULL) {
        target_free(target);
        json_decref(stage);
        snprintf(err, err_size, "out of memory");
        return SESSION_NO_MEMORY;
    }
    if (session->stage_count == 0) {
        snprintf(session->function, sizeof session->function, "%s", target_runner(target)->function);
        snprintf(session->platform, sizeof session->platform, "%s",
                 json_string_value(json_object_get(stage, "platform")) ?: "");
    }
    session->targets[session->stage_count++] = target;
    json_array_append_new(session->stages, stage);
    return SESSION_OK;
}

static enum session_error session_check_room(const struct session *session, char *err, size_t err_size)
{
    if (session->stage_count < SESSION_MAX_STAGES)
        return SESSION_OK;
    snprintf(err, err_size, "a pipeline has at most %d functions", SESSION_MAX_STAGES);
    return SESSION_INVALID_EXPERIMENT;
}

enum session_error session_add_functions(struct session *session, const char *names, char *err, size_t err_size)
{
    int before = session->stage_count;
    for (const char *p = names; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        char name[65];
        snprintf(name, sizeof name, "%.*s", (int)(len < 64 ? len : 64), p);
        p += len;
        enum session_error rc = session_check_room(session, err, err_size);
        if (rc != SESSION_OK)
            return rc;
        json_t *deployment = cloud_describe(session->cloud, name);
        if (json_object_get(deployment, "code_hash") == NULL) {
            json_decref(deployment);
            snprintf(err, err_size, "%.64s is not deployed from this folder; run its %%%%cloud_function cell first",
                     name);
            return SESSION_NOT_DEPLOYED;
        }
        rc = session_add_stage(session, target_function(session->cloud, name, NULL), deployment, err, err_size);
        if (rc != SESSION_OK)
            return rc;
    }
    if (session->stage_count > before)
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
    enum session_error rc = session_check_room(session, err, err_size);
    if (rc != SESSION_OK)
        return rc;
    if (function == NULL || platform == NULL) {
        snprintf(err, err_size, "a function file needs \"function\" and \"platform\" strings");
        return SESSION_INVALID_EXPERIMENT;
    }
    if (session->function_files == NULL)
        session->function_files = json_array();
    json_array_append(session->function_files, (json_t *)file);
    if (strcmp(platform, "HTTP") != 0) {
        const char *ours = platforms_from_faas_runner(platform);
        json_t *stage = json_pack("{s:s, s:s}", "name", function, "platform", ours);
        return session_add_stage(session, target_function(session->cloud, function, ours), stage, err, err_size);
    }
    if (endpoint == NULL || *endpoint == '\0') {
        snprintf(err, err_size, "the HTTP platform needs an \"endpoint\" URL");
        return SESSION_INVALID_EXPERIMENT;
    }
    if (session->http == NULL && (session->http = http_engine_new(session->reactor)) == NULL) {
        snprintf(err, err_size, "cannot start the HTTP engine");
        return SESSION_NO_MEMORY;
    }
    json_t *stage = json_pack("{s:s, s:s, s:s}", "name", function, "platform", "HTTP", "endpoint", endpoint);
    return session_add_stage(session, target_http(session->http, function, endpoint), stage, err, err_size);
}

enum session_error session_open(struct session *session, const json_t *experiment, const char *name_hint, char *err,
                                size_t err_size)
{
    if (session->stage_count == 0) {
        snprintf(err, err_size, "name the function to run the experiment against");
        return SESSION_NOT_DEPLOYED;
    }
    session->experiment_read = 1; /* what a failed parse holds is freed too */
    if (experiment_parse(experiment, name_hint ? name_hint : session->function, session->workdir,
                         &session->experiment, err, err_size) < 0)
        return SESSION_INVALID_EXPERIMENT;
    char start[32];
    clock_iso8601_now(start);
    json_t *meta = json_pack("{s:O, s:s, s:O, s:O, s:s, s:s}", "experiment", experiment, "function",
                             session->function, "deployment", json_array_get(session->stages, 0), "pipeline",
                             session->stages, "startTime", start, "faaset", FAASET_VERSION);
    if (session->function_files != NULL)
        json_object_set(meta, "functionFiles", session->function_files);
    session->store = results_open(session->output, session->function, session->experiment.name, meta, err, err_size);
    json_decref(meta);
    if (session->store == NULL)
        return SESSION_RESULTS_UNAVAILABLE;
    snprintf(session->folder, sizeof session->folder, "%s", results_folder(session->store));
    return SESSION_OK;
}

/* FaaS Runner's files, from the rows on disk. */
static void session_write_faas_runner_files(struct session *session)
{
    char err[512];
    json_t *rows = results_load_rows(session->folder, err, sizeof err);
    if (rows == NULL || faasrunner_write(session->folder, session->function, &session->experiment,
                                         session->stage_count > 1, rows, err, sizeof err) < 0)
        log_warn("no FaaS Runner files for %s: %s", session->folder, err);
    json_decref(rows);
}

static void session_on_progress(void *ctx, const struct runner_progress *progress)
{
    struct session *session = ctx;
    session->events.progress(session->events.ctx, progress);
}

/* The experiment is over: the folder is closed with SUMMARY and the front end told. */
static void session_end(struct session *session, const json_t *summary)
{
    char end[32];
    clock_iso8601_now(end);
    json_t *shown = json_deep_copy(summary);
    json_object_set_new(shown, "endTime", json_string(end));
    json_t *kept = json_deep_copy(shown);
    json_object_del(kept, "concurrencySeries");
    json_object_del(kept, "latencySeries");
    results_close(session->store, kept);
    session->store = NULL;
    json_decref(kept);
    session_write_faas_runner_files(session);
    session->events.finished(session->events.ctx, shown);
    json_decref(shown);
}

/* Says in the summary how the function's memory ended: "memoryRestored"
 * (true or false) and "memoryRestore", a sentence. */
static void session_note_restore(struct session *session, int restored, const char *sentence)
{
    json_object_set_new(session->ending, "memoryRestored", json_boolean(restored));
    json_object_set_new(session->ending, "memoryRestore", json_string(sentence));
    json_t *summary = session->ending;
    session->ending = NULL;
    session_end(session, summary);
    json_decref(summary);
}

/* The kernel is stopping: the platform is not waited for. */
static void session_note_stopped(struct session *session)
{
    char sentence[200];
    snprintf(sentence, sizeof sentence, "memory not restored: the kernel stopped first; run %.64s's cell to restore it",
             session->function);
    session_note_restore(session, 0, sentence);
}

static void session_on_memory_restored(void *ctx, const struct cloud_outcome *outcome)
{
    struct session_restore *restore = ctx;
    struct session *session = restore->session;
    free(restore);
    if (session == NULL)
        return;
    session->restore = NULL;
    char sentence[800];
    if (outcome->platform.ok)
        snprintf(sentence, sizeof sentence, "memory restored to %d MB", session->deployed.memory_mb);
    else
        snprintf(sentence, sizeof sentence,
                 "memory not restored to %d MB (%.64s: %.500s); run %.64s's cell to restore it",
                 session->deployed.memory_mb, outcome->platform.error_type ?: "Error",
                 outcome->platform.message ?: "", session->function);
    session_note_restore(session, outcome->platform.ok, sentence);
}

/* An experiment that changed the memory puts back what the cell deployed,
 * whether it finished, failed or was interrupted, before it is reported. */
static void session_on_finished(void *ctx, const json_t *summary)
{
    struct session *session = ctx;
    if (session->deployed_state == SESSION_NO_RESTORE) {
        session_end(session, summary);
        return;
    }
    session->ending = json_deep_copy(summary);
    char sentence[800];
    if (session->ending == NULL) {
        session_end(session, summary);
    } else if (session->aborted) {
        session_note_stopped(session);
    } else if (session->deployed_state < 0) {
        snprintf(sentence, sizeof sentence, "memory not restored: the deploy record cannot be read (%.500s)",
                 session->deployed_err);
        session_note_restore(session, 0, sentence);
    } else if (session->deployed_state == 0) {
        snprintf(sentence, sizeof sentence, "memory not restored: %.64s has no deploy record from this folder",
                 session->function);
        session_note_restore(session, 0, sentence);
    } else if (strcmp(session->deployed.config_hash, CLOUD_SET_BY_EXPERIMENT) == 0) {
        snprintf(sentence, sizeof sentence,
                 "memory not restored: %.64s's deploy record holds an earlier experiment's memory, not its cell's; "
                 "run its cell to restore it",
                 session->function);
        session_note_restore(session, 0, sentence);
    } else if ((session->restore = calloc(1, sizeof *session->restore)) == NULL) {
        session_note_restore(session, 0, "memory not restored: out of memory");
    } else {
        session->restore->session = session;
        cloud_restore_memory(session->cloud, session->function, &session->deployed, session_on_memory_restored,
                             session->restore);
    }
}

enum session_error session_run(struct session *session, char *err, size_t err_size)
{
    struct runner_target stages[SESSION_MAX_STAGES];
    for (int i = 0; i < session->stage_count; i++)
        stages[i] = *target_runner(session->targets[i]);
    struct runner_events events = {session, session_on_progress, session_on_finished};
    session->deployed_state = SESSION_NO_RESTORE;
    if (session->experiment.memory_count > 0 && stages[0].set_memory != NULL)
        session->deployed_state = cloud_record(session->cloud, session->function, &session->deployed,
                                               session->deployed_err, sizeof session->deployed_err);
    session->runner = runner_start(session->reactor, &session->experiment, stages, session->stage_count,
                                   session->store, &events, err, err_size);
    return session->runner != NULL ? SESSION_OK : SESSION_INVALID_EXPERIMENT;
}

void session_interrupt(struct session *session)
{
    if (session->runner != NULL)
        runner_interrupt(session->runner);
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
    if (session->runner != NULL)
        runner_abort(session->runner);
}

const struct experiment *session_experiment(const struct session *session) { return &session->experiment; }
const char *session_folder(const struct session *session) { return session->folder; }
const char *session_platform(const struct session *session) { return session->platform; }
int session_stage_count(const struct session *session) { return session->stage_count; }
