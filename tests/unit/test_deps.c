/* deps: the target of each platform, and a layer's life with a stand-in
 * for pip (an interpreter script that writes what faaset_deps.py would):
 * installed once then found in the cache, a failure reported with its
 * sentence and no folder left (nor a dead process's staging folder), an
 * interrupt killing the install at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "deps.h"
#include "fsutil.h"
#include "reactor.h"

struct ended {
    int calls;
    struct deps_layer layer;
    int ok;
    char error_type[64];
    char message[1400];
};

static void on_done(void *ctx, const struct deps_layer *layer, const char *error_type, const char *message)
{
    struct ended *ended = ctx;
    ended->calls++;
    ended->ok = layer != NULL;
    if (layer != NULL)
        ended->layer = *layer;
    snprintf(ended->error_type, sizeof ended->error_type, "%s", error_type ? error_type : "");
    snprintf(ended->message, sizeof ended->message, "%s", message ? message : "");
}

static void wait_for(struct reactor *reactor, struct ended *ended)
{
    double until = clock_mono_ms_precise() + 20000;
    while (ended->calls == 0 && clock_mono_ms_precise() < until)
        reactor_wait(reactor, 100);
}

/* A "python" that ignores -c SOURCE and runs BODY (Python) with the job in $FAASET_DEPS_JOB. */
static void write_fake_python(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\nexec /usr/bin/python3 -c '\nimport json, os, sys, time\n"
               "job = json.loads(os.environ[\"FAASET_DEPS_JOB\"])\nfolder = job[\"folder\"]\n%s' \n", body);
    fclose(f);
    chmod(path, 0700);
}

static void test_targets(void)
{
    struct deps_target t;
    CHECK(deps_target_for("aws", "python3.12", "arm64", &t) == 0);
    CHECK(strcmp(t.kind, "lambda") == 0 && strcmp(t.python_version, "3.12") == 0 && strcmp(t.arch, "arm64") == 0);
    CHECK(t.zip == 1 && strstr(t.description, "aws (python3.12, arm64: manylinux aarch64 wheels)") != NULL);
    CHECK(deps_target_for("aws", "python3.11", "x86_64", &t) == 0 && strstr(t.description, "x86_64") != NULL);
    CHECK(deps_target_for("local", "python3.12", "arm64", &t) == 0);
    CHECK(strcmp(t.kind, "local") == 0 && t.python_version[0] == '\0' && t.zip == 0);
    CHECK(deps_target_for("gcf", "python3.12", "x86_64", &t) == 1); /* Google installs requirements.txt itself */
    CHECK(deps_target_for("openfaas", "python3.11", "x86_64", &t) == 0); /* into the image: no zip */
    CHECK(strcmp(t.kind, "lambda") == 0 && strcmp(t.python_version, "3.11") == 0 && t.zip == 0);
    CHECK(strstr(t.description, "openfaas (python3.11, x86_64: manylinux x86_64 wheels)") != NULL);
}

static void test_layer_life(const char *root)
{
    char python[4200], fail_python[4200], slow_python[4200];
    snprintf(python, sizeof python, "%s/python-ok", root);
    snprintf(fail_python, sizeof fail_python, "%s/python-fail", root);
    snprintf(slow_python, sizeof slow_python, "%s/python-slow", root);
    write_fake_python(python, "os.makedirs(folder + \"/python/pkg\")\n"
                              "json.dump({\"ok\": True, \"installed\": [[\"pkg\", \"1.0\"]], \"unzipped_bytes\": 5, "
                              "\"zip_bytes\": 0}, open(folder + \"/layer.json\", \"w\"))\n");
    write_fake_python(fail_python, "json.dump({\"ok\": False, \"error\": \"no installable wheel of nope for local\"}, "
                                   "open(folder + \"/layer.json\", \"w\"))\nsys.exit(1)\n");
    write_fake_python(slow_python, "time.sleep(30)\n");
    struct reactor *reactor = reactor_new();
    struct deps_target target;
    deps_target_for("local", "python3.12", "x86_64", &target);
    char err[512] = "";
    struct deps_layer layer;

    struct deps *deps = deps_new(reactor, root, python);
    struct ended ended = {0};
    CHECK(deps_layer_get(deps, "pkg==1.0\n", NULL, &target, &layer, on_done, &ended, err, sizeof err) == 0);
    wait_for(reactor, &ended);
    CHECK(ended.calls == 1 && ended.ok && strcmp(ended.layer.installed, "pkg 1.0") == 0);
    CHECK(ended.layer.unzipped_bytes == 5 && strcmp(ended.layer.hash, layer.hash) == 0);
    struct stat st;
    char path[4400];
    snprintf(path, sizeof path, "%s/python/pkg", ended.layer.dir);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(path, sizeof path, "%s/.faaset/deps", root);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    /* cached: no callback, no child */
    struct ended again = {0};
    CHECK(deps_layer_get(deps, "pkg==1.0\n", NULL, &target, &layer, on_done, &again, err, sizeof err) == 1);
    CHECK(again.calls == 0 && strcmp(layer.installed, "pkg 1.0") == 0 && strcmp(layer.dir, ended.layer.dir) == 0);
    struct deps_layer found;
    CHECK(deps_layer_find(deps, "pkg==1.0\n", NULL, &target, &found, err, sizeof err) == 1);
    CHECK(strcmp(found.hash, layer.hash) == 0 && strcmp(found.installed, "pkg 1.0") == 0);
    /* the packages deleted, layer.json left: not found, and installed again */
    snprintf(path, sizeof path, "%s/python", ended.layer.dir);
    CHECK(fsutil_remove_tree(path) == 0);
    CHECK(deps_layer_find(deps, "pkg==1.0\n", NULL, &target, &found, err, sizeof err) == 0);
    struct ended reinstalled = {0};
    CHECK(deps_layer_get(deps, "pkg==1.0\n", NULL, &target, &layer, on_done, &reinstalled, err, sizeof err) == 0);
    wait_for(reactor, &reinstalled);
    CHECK(reinstalled.calls == 1 && reinstalled.ok);
    CHECK(deps_layer_find(deps, "pkg==1.0\n", NULL, &target, &found, err, sizeof err) == 1);
    /* the whole folder deleted: not found */
    CHECK(fsutil_remove_tree(ended.layer.dir) == 0);
    CHECK(deps_layer_find(deps, "pkg==1.0\n", NULL, &target, &found, err, sizeof err) == 0);
    deps_free(deps);

    /* a failure: its sentence, and no layer kept */
    deps = deps_new(reactor, root, fail_python);
    struct ended failed = {0};
    CHECK(deps_layer_get(deps, "nope\n", NULL, &target, &layer, on_done, &failed, err, sizeof err) == 0);
    wait_for(reactor, &failed);
    CHECK(failed.calls == 1 && !failed.ok && strcmp(failed.error_type, "DependencyError") == 0);
    CHECK(strcmp(failed.message, "no installable wheel of nope for local") == 0);
    CHECK(stat(layer.dir, &st) < 0);
    /* a staging folder of a process that is gone is removed by the next install of its layer */
    char stale[4400];
    snprintf(stale, sizeof stale, "%s.staging.999999999.0", layer.dir);
    CHECK(mkdir(stale, 0700) == 0);
    struct ended retried = {0};
    CHECK(deps_layer_get(deps, "nope\n", NULL, &target, &layer, on_done, &retried, err, sizeof err) == 0);
    wait_for(reactor, &retried);
    CHECK(retried.calls == 1 && stat(stale, &st) < 0);
    deps_free(deps);

    /* an interrupt ends a slow install at once */
    deps = deps_new(reactor, root, slow_python);
    struct ended stopped = {0};
    CHECK(deps_layer_get(deps, "slow\n", NULL, &target, &layer, on_done, &stopped, err, sizeof err) == 0);
    reactor_wait(reactor, 200);
    double started = clock_mono_ms_precise();
    CHECK(deps_interrupt(deps) == 1);
    CHECK(stopped.calls == 1 && strcmp(stopped.error_type, "KeyboardInterrupt") == 0);
    CHECK(strstr(stopped.message, "interrupted") != NULL && clock_mono_ms_precise() - started < 2000);
    CHECK(stat(layer.dir, &st) < 0);
    deps_free(deps);
    reactor_free(reactor);
}

int main(void)
{
    char root[] = "/tmp/faaset-deps-test-XXXXXX";
    if (mkdtemp(root) == NULL)
        return 1;
    test_targets();
    test_layer_life(root);
    fsutil_remove_tree(root);
    return check_report();
}
