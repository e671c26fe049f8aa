/* oci_credentials: registry credentials from Docker's and podman's files
 * and credential helpers (see oci_credentials.h). A helper is started by
 * spawn (its path found beforehand; the kernel has threads) with the host
 * waiting in its stdin's pipe, its stdout on a non-blocking pipe the reactor
 * watches, stderr on /dev/null; a timer kills it after 30 seconds. Its
 * output is wiped once read. */
#include "oci_credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "credfile.h"
#include "spawn.h"

#define OCI_HELPER_TIMEOUT_MS 30000
#define OCI_HELPER_OUTPUT_MAX 16383        /* more is no credential helper's answer */

void oci_credentials_clear(struct oci_credentials *credentials)
{
    credfile_wipe_free(credentials->username);
    credfile_wipe_free(credentials->password);
    credfile_wipe_free(credentials->identity_token);
    credentials->username = credentials->password = credentials->identity_token = NULL;
}

int oci_credentials_from_base64(struct oci_credentials *credentials, const char *encoded)
{
    size_t length = strlen(encoded);
    char *decoded = calloc(1, length + 1);
    size_t decoded_size = 0;
    if (decoded == NULL ||
        sodium_base642bin((unsigned char *)decoded, length, encoded, length, " \n", &decoded_size, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        credfile_wipe_free(decoded);
        return -1;
    }
    decoded[decoded_size] = '\0';
    char *colon = strchr(decoded, ':');
    if (colon == NULL || colon == decoded || strlen(decoded) != decoded_size) {
        credfile_wipe_free(decoded);
        return -1;
    }
    *colon = '\0';
    oci_credentials_clear(credentials);
    credentials->username = strdup(decoded);
    credentials->password = strdup(colon + 1);
    credfile_wipe_free(decoded);
    return credentials->username && credentials->password ? 0 : -1;
}

int oci_credentials_is_ecr(const char *host, char *account, size_t account_size, char *region, size_t region_size)
{
    const char *dot = strchr(host, '.');
    if (dot == NULL || strncmp(dot, ".dkr.ecr.", 9) != 0)
        return 0;
    const char *region_start = dot + 9, *region_end = strchr(region_start, '.');
    if (region_end == NULL || strncmp(region_end, ".amazonaws.com", 14) != 0 ||
        (region_end[14] != '\0' && strcmp(region_end + 14, ".cn") != 0))
        return 0;
    snprintf(account, account_size, "%.*s", (int)(dot - host), host);
    snprintf(region, region_size, "%.*s", (int)(region_end - region_start), region_start);
    return 1;
}

/* 1 when an `auths` KEY names HOST: bare, with a scheme, or with a path. */
static int oci_key_matches(const char *key, const char *host)
{
    if (strncmp(key, "https://", 8) == 0)
        key += 8;
    else if (strncmp(key, "http://", 7) == 0)
        key += 7;
    size_t length = strlen(host);
    return strncmp(key, host, length) == 0 && (key[length] == '\0' || key[length] == '/');
}

static json_t *oci_auths_entry(const json_t *auths, const char *host)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)auths, key, value) {
        if (oci_key_matches(key, host))
            return value;
    }
    return NULL;
}

struct oci_helper_run {
    struct reactor *reactor;
    pid_t pid;
    int output_fd;                        /* the helper's stdout, watched */
    unsigned long timer;                  /* the 30 s limit, or the report of a helper that could not start */
    char output[OCI_HELPER_OUTPUT_MAX + 1]; /* secret: wiped when freed */
    size_t used;
    struct oci_helper_answer answer;
    oci_helper_fn done;
    void *ctx;
};

void oci_helper_answer_clear(struct oci_helper_answer *answer)
{
    credfile_wipe_free(answer->output);
    answer->output = NULL;
}

static void oci_helper_free(struct oci_helper_run *run)
{
    if (run->output_fd >= 0) {
        reactor_unwatch(run->reactor, run->output_fd);
        close(run->output_fd);
    }
    if (run->timer)
        reactor_cancel(run->reactor, run->timer);
    sodium_memzero(run->output, sizeof run->output);
    oci_helper_answer_clear(&run->answer);
    free(run);
}

void oci_credentials_helper_cancel(struct oci_helper_run *run)
{
    if (run == NULL)
        return;
    if (run->pid > 0) {
        kill(run->pid, SIGKILL);
        while (waitpid(run->pid, NULL, 0) < 0 && errno == EINTR)
            continue;
    }
    oci_helper_free(run);
}

/* The helper has ended (or was killed): its answer goes to DONE. */
static void oci_helper_report(struct oci_helper_run *run)
{
    if (run->pid > 0) {
        if (run->answer.timed_out)
            kill(run->pid, SIGKILL);
        while (waitpid(run->pid, &run->answer.status, 0) < 0 && errno == EINTR)
            continue;
        run->pid = 0;
    }
    if (run->answer.ran && !run->answer.timed_out) {
        run->answer.output = strndup(run->output, run->used);
        if (run->answer.output == NULL) {
            run->answer.ran = 0;
            snprintf(run->answer.error, sizeof run->answer.error, "out of memory");
        }
    }
    struct oci_helper_answer answer = run->answer;
    run->answer.output = NULL; /* DONE owns it now */
    oci_helper_fn done = run->done;
    void *ctx = run->ctx;
    oci_helper_free(run);
    done(ctx, &answer);
}

static void oci_helper_on_output(void *ctx, int fd, int events)
{
    struct oci_helper_run *run = ctx;
    (void)events;
    ssize_t n = read(fd, run->output + run->used, OCI_HELPER_OUTPUT_MAX - run->used);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0 && (run->used += (size_t)n) < OCI_HELPER_OUTPUT_MAX)
        return;
    if (n > 0)
        kill(run->pid, SIGKILL); /* it would write on, and be waited for forever */
    oci_helper_report(run); /* the end of its output, or more than any answer */
}

static void oci_helper_on_timer(void *ctx)
{
    struct oci_helper_run *run = ctx;
    run->timer = 0;
    run->answer.timed_out = run->answer.ran;
    oci_helper_report(run);
}

struct oci_helper_run *oci_credentials_helper_start(struct reactor *reactor, const char *program, const char *host,
                                                    oci_helper_fn done, void *ctx)
{
    struct oci_helper_run *run = calloc(1, sizeof *run);
    if (run == NULL)
        return NULL;
    *run = (struct oci_helper_run){.reactor = reactor, .output_fd = -1, .done = done, .ctx = ctx};
    snprintf(run->answer.program, sizeof run->answer.program, "%s", program);
    snprintf(run->answer.host, sizeof run->answer.host, "%s", host);
    char path[4096], err[300];
    int in[2] = {-1, -1}, output[2] = {-1, -1};
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (spawn_resolve(program, path, sizeof path) < 0) {
        snprintf(run->answer.error, sizeof run->answer.error, "%s", strerror(errno));
    } else if (devnull < 0 || pipe2(in, O_CLOEXEC) < 0 || pipe2(output, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(run->answer.error, sizeof run->answer.error, "%s", strerror(errno));
    } else {
        /* the host waits in the pipe before the helper starts: a helper that never reads it raises no SIGPIPE */
        ssize_t written = write(in[1], host, strlen(host));
        (void)written; /* a short host fits a pipe's buffer; a helper that reads nothing answers from what it has */
        close(in[1]);
        in[1] = -1;
        const char *argv[] = {path, "get", NULL};
        struct spawn_options options = {.child_fd = -1, .stdin_fd = in[0], .stdout_fd = output[1],
                                        .stderr_fd = devnull};
        run->pid = spawn_program(&options, argv, err, sizeof err);
        if (run->pid < 0) {
            run->pid = 0;
            snprintf(run->answer.error, sizeof run->answer.error, "%s", err);
        }
    }
    if (devnull >= 0)
        close(devnull);
    if (in[0] >= 0)
        close(in[0]);
    if (output[1] >= 0)
        close(output[1]);
    if (in[1] >= 0)
        close(in[1]);
    run->answer.ran = run->pid > 0;
    if (run->answer.ran && reactor_watch(reactor, output[0], REACTOR_READ, oci_helper_on_output, run) == 0)
        run->output_fd = output[0];
    else if (output[0] >= 0)
        close(output[0]);
    if (run->answer.ran && run->output_fd < 0) {
        kill(run->pid, SIGKILL);
        snprintf(run->answer.error, sizeof run->answer.error, "cannot watch its output");
        run->answer.ran = 0;
    }
    /* a helper that could not start is reported from the loop too, as DONE is never called before this returns */
    run->timer = reactor_timer(reactor, run->answer.ran ? OCI_HELPER_TIMEOUT_MS : 0, oci_helper_on_timer, run);
    if (run->timer == 0) {
        oci_credentials_helper_cancel(run);
        return NULL;
    }
    return run;
}

/* HOST's credentials from the helper's ANSWER. 1 found, 0 none, -1 ERR. */
static int oci_read_helper_answer(const struct oci_helper_answer *answer, const char *host,
                                  struct oci_credentials *out, char *err, size_t err_size)
{
    const char *program = answer->program;
    snprintf(out->source, sizeof out->source, "the credential helper %s", program);
    if (!answer->ran) {
        snprintf(err, err_size, "the Docker config names the credential helper %s, which cannot be run (%s): install "
                 "it or remove it from the config", program, answer->error);
        return -1;
    }
    if (answer->timed_out) {
        snprintf(err, err_size, "%s did not answer within %d seconds: check it works with `%s get`", program,
                 OCI_HELPER_TIMEOUT_MS / 1000, program);
        return -1;
    }
    const char *output = answer->output ? answer->output : "";
    if (!WIFEXITED(answer->status) || WEXITSTATUS(answer->status) != 0) {
        /* "credentials not found in native keychain": none, as Docker takes it */
        if (strstr(output, "not found") != NULL)
            return 0;
        snprintf(err, err_size, "%s failed for %s: check it works with `%s get`", program, host, program);
        return -1;
    }
    json_t *parsed = json_loads(output, 0, NULL);
    const char *user = json_string_value(json_object_get(parsed, "Username"));
    const char *secret = json_string_value(json_object_get(parsed, "Secret"));
    int result = 1;
    if (secret == NULL) {
        snprintf(err, err_size, "%s answered without a Secret for %s", program, host);
        result = -1;
    } else {
        oci_credentials_clear(out);
        if (user != NULL && strcmp(user, "<token>") == 0) {
            out->identity_token = strdup(secret);
        } else {
            out->username = strdup(user ? user : "");
            out->password = strdup(secret);
        }
    }
    if (parsed != NULL) {
        /* the parsed copy of the secret is wiped with the text */
        json_t *value = json_object_get(parsed, "Secret");
        if (json_is_string(value))
            sodium_memzero((char *)json_string_value(value), json_string_length(value));
        json_decref(parsed);
    }
    return result;
}

/* HOST's credentials in the JSON file PATH, shown as SHOWN. 1 found, 0 none, -1 ERR. */
static int oci_from_file(const char *path, const char *shown, int docker, const char *host,
                         const struct oci_helper_answer *answer, struct oci_credentials *out, char *err,
                         size_t err_size)
{
    if (access(path, F_OK) != 0)
        return 0;
    json_error_t parse;
    json_t *config = json_load_file(path, 0, &parse);
    if (!json_is_object(config)) {
        snprintf(err, err_size, "%s is not valid JSON (line %d): fix or remove it", shown, parse.line);
        json_decref(config);
        return -1;
    }
    snprintf(out->source, sizeof out->source, "%s", shown);
    json_t *auths = json_object_get(config, "auths");
    json_t *entry = oci_auths_entry(auths, host);
    const char *helper = NULL;
    if (docker) {
        helper = json_string_value(oci_auths_entry(json_object_get(config, "credHelpers"), host));
        if (helper == NULL)
            helper = json_string_value(json_object_get(config, "credsStore"));
    }
    int found = 0;
    if (helper != NULL && *helper) {
        char program[160];
        snprintf(program, sizeof program, "docker-credential-%.130s", helper);
        if (answer == NULL || strcmp(answer->program, program) != 0 || strcmp(answer->host, host) != 0) {
            snprintf(out->helper, sizeof out->helper, "%s", program);
            json_decref(config);
            return OCI_CREDENTIALS_HELPER;
        }
        found = oci_read_helper_answer(answer, host, out, err, err_size);
        if (found != 0) {
            char source[sizeof out->source];
            snprintf(source, sizeof source, "%.120s (named in %.120s)", out->source, shown);
            snprintf(out->source, sizeof out->source, "%s", source);
        }
    }
    if (found == 0 && entry != NULL) {
        const char *auth = json_string_value(json_object_get(entry, "auth"));
        const char *token = json_string_value(json_object_get(entry, "identitytoken"));
        snprintf(out->source, sizeof out->source, "%s", shown);
        if (token != NULL && *token) {
            oci_credentials_clear(out);
            out->identity_token = strdup(token);
            found = 1;
        } else if (auth != NULL && *auth) {
            if (oci_credentials_from_base64(out, auth) < 0) {
                snprintf(err, err_size, "%s has an `auth` for %s that is not base64 of user:password: log in again",
                         shown, host);
                found = -1;
            } else {
                found = 1;
            }
        }
        json_t *secret = json_object_get(entry, auth ? "auth" : "identitytoken");
        if (json_is_string(secret))
            sodium_memzero((char *)json_string_value(secret), json_string_length(secret));
    }
    json_decref(config);
    return found;
}

int oci_credentials_find(const char *host, const struct oci_helper_answer *answer, struct oci_credentials *out,
                         char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    char *home = credfile_home();
    char path[4096];
    char looked[256] = "";
    int found = 0;
    const char *auth_file = credfile_env("REGISTRY_AUTH_FILE");
    if (auth_file != NULL) {
        if (access(auth_file, F_OK) != 0) {
            snprintf(err, err_size, "REGISTRY_AUTH_FILE names %s, which does not exist: log in with "
                     "`podman login` or unset it", auth_file);
            free(home);
            return -1;
        }
        char shown[300];
        snprintf(shown, sizeof shown, "REGISTRY_AUTH_FILE (%s)", auth_file);
        found = oci_from_file(auth_file, shown, 0, host, answer, out, err, err_size);
        snprintf(looked, sizeof looked, "REGISTRY_AUTH_FILE");
    }
    if (found == 0) {
        const char *docker_config = credfile_env("DOCKER_CONFIG");
        if (docker_config != NULL)
            snprintf(path, sizeof path, "%s/config.json", docker_config);
        else
            snprintf(path, sizeof path, "%s/.docker/config.json", home ? home : "");
        char label[300];
        if (docker_config != NULL) {
            snprintf(label, sizeof label, "DOCKER_CONFIG's config.json (%.250s)", path);
        } else {
            char *shown = credfile_shown_path(path, home);
            snprintf(label, sizeof label, "%.250s", shown ? shown : path);
            free(shown);
        }
        found = oci_from_file(path, label, 1, host, answer, out, err, err_size);
        snprintf(looked + strlen(looked), sizeof looked - strlen(looked), "%s%s", looked[0] ? ", " : "",
                 docker_config ? "DOCKER_CONFIG/config.json" : "~/.docker/config.json");
    }
    const char *runtime_dir = credfile_env("XDG_RUNTIME_DIR");
    if (found == 0 && runtime_dir != NULL) {
        snprintf(path, sizeof path, "%s/containers/auth.json", runtime_dir);
        found = oci_from_file(path, "${XDG_RUNTIME_DIR}/containers/auth.json", 0, host, answer, out, err, err_size);
        snprintf(looked + strlen(looked), sizeof looked - strlen(looked), ", ${XDG_RUNTIME_DIR}/containers/auth.json");
    }
    free(home);
    if (found == OCI_CREDENTIALS_HELPER)
        return found;
    if (found == 0)
        snprintf(out->source, sizeof out->source, "looked in %.200s", looked);
    if (found == 1 && (out->username == NULL || out->password == NULL) && out->identity_token == NULL) {
        oci_credentials_clear(out);
        snprintf(err, err_size, "out of memory reading registry credentials");
        return -1;
    }
    return found;
}
