/* oci_credentials: registry credentials from Docker's and podman's files
 * and credential helpers (see oci_credentials.h). A helper runs with
 * fork and execve of its path found beforehand (the kernel has threads:
 * the child makes only async-signal-safe calls), its stdin and stdout on
 * pipes, stderr on /dev/null, and is given 30 seconds; its output is wiped
 * once read. */
#include "oci_credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "credfile.h"
#include "spawn.h"

#define OCI_HELPER_TIMEOUT_MS 30000

extern char **environ;

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

/* Runs `docker-credential-HELPER get` for HOST. 1 found, 0 none, -1 ERR. */
static int oci_run_helper(const char *helper, const char *host, struct oci_credentials *out, char *err,
                          size_t err_size)
{
    char program[160];
    snprintf(program, sizeof program, "docker-credential-%s", helper);
    int in[2] = {-1, -1}, output[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(output, O_CLOEXEC) < 0) {
        snprintf(err, err_size, "cannot run %s: %s", program, strerror(errno));
        if (in[0] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        return -1;
    }
    char path[4096];
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    char *argv[] = {program, "get", NULL};
    pid_t pid = -1;
    int spawn_errno = ENOENT;
    if (spawn_resolve(program, path, sizeof path) == 0 && devnull >= 0) {
        pid = fork();
        if (pid == 0) {
            if (dup2(in[0], 0) < 0 || dup2(output[1], 1) < 0 || dup2(devnull, 2) < 0)
                _exit(127);
            execve(path, argv, environ);
            _exit(127);
        }
        spawn_errno = errno;
    }
    if (devnull >= 0)
        close(devnull);
    close(in[0]);
    close(output[1]);
    if (pid < 0) {
        close(in[1]);
        close(output[0]);
        snprintf(err, err_size, "the Docker config names the credential helper %s, which cannot be run (%s): install "
                 "it or remove it from the config", program, strerror(spawn_errno));
        return -1;
    }
    ssize_t written = write(in[1], host, strlen(host));
    (void)written;  /* a helper that reads nothing answers from what it has, or fails below */
    close(in[1]);
    char buffer[16384];
    size_t used = 0;
    int timed_out = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = OCI_HELPER_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd pfd = {output[0], POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            timed_out = 1;
            break;
        }
        ssize_t n = read(output[0], buffer + used, sizeof buffer - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (used += (size_t)n) == sizeof buffer - 1)
            break;
    }
    buffer[used] = '\0';
    close(output[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    snprintf(out->source, sizeof out->source, "the credential helper %s", program);
    int result;
    if (timed_out) {
        snprintf(err, err_size, "%s did not answer within %d seconds: check it works with `%s get`", program,
                 OCI_HELPER_TIMEOUT_MS / 1000, program);
        result = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* "credentials not found in native keychain": none, as Docker takes it */
        result = strstr(buffer, "not found") != NULL ? 0 : -1;
        if (result < 0)
            snprintf(err, err_size, "%s failed for %s: check it works with `%s get`", program, host, program);
    } else {
        json_t *answer = json_loads(buffer, 0, NULL);
        const char *user = json_string_value(json_object_get(answer, "Username"));
        const char *secret = json_string_value(json_object_get(answer, "Secret"));
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
            result = 1;
        }
        if (answer != NULL) {
            /* the parsed copy of the secret is wiped with the text */
            json_t *value = json_object_get(answer, "Secret");
            if (json_is_string(value))
                sodium_memzero((char *)json_string_value(value), json_string_length(value));
            json_decref(answer);
        }
    }
    sodium_memzero(buffer, sizeof buffer);
    return result;
}

/* HOST's credentials in the JSON file PATH, shown as SHOWN. 1 found, 0 none, -1 ERR. */
static int oci_from_file(const char *path, const char *shown, int docker, const char *host,
                         struct oci_credentials *out, char *err, size_t err_size)
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
        found = oci_run_helper(helper, host, out, err, err_size);
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

int oci_credentials_find(const char *host, struct oci_credentials *out, char *err, size_t err_size)
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
        found = oci_from_file(auth_file, shown, 0, host, out, err, err_size);
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
        found = oci_from_file(path, label, 1, host, out, err, err_size);
        snprintf(looked + strlen(looked), sizeof looked - strlen(looked), "%s%s", looked[0] ? ", " : "",
                 docker_config ? "DOCKER_CONFIG/config.json" : "~/.docker/config.json");
    }
    const char *runtime_dir = credfile_env("XDG_RUNTIME_DIR");
    if (found == 0 && runtime_dir != NULL) {
        snprintf(path, sizeof path, "%s/containers/auth.json", runtime_dir);
        found = oci_from_file(path, "${XDG_RUNTIME_DIR}/containers/auth.json", 0, host, out, err, err_size);
        snprintf(looked + strlen(looked), sizeof looked - strlen(looked), ", ${XDG_RUNTIME_DIR}/containers/auth.json");
    }
    free(home);
    if (found == 0)
        snprintf(out->source, sizeof out->source, "looked in %s", looked);
    if (found == 1 && (out->username == NULL || out->password == NULL) && out->identity_token == NULL) {
        oci_credentials_clear(out);
        snprintf(err, err_size, "out of memory reading registry credentials");
        return -1;
    }
    return found;
}
