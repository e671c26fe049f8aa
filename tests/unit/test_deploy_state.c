/* Unit tests for deploy_state: a record written and read back field by
 * field (the optional remote, package_sha256, arch, runtime, env names and
 * max_instances too), a missing record,
 * files of mode 0600 in folders of mode 0700, replacement by rename (a hard
 * link to the old file keeps the old text, and no temporary file is left),
 * corrupted or foreign files reported with their path and treated as absent
 * by the list, removal, and the list sorted by name then platform. Every
 * case works in a fresh folder under /tmp, removed at the end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "check.h"
#include "deploy_state.h"
#include "fsutil.h"

static char workdir[] = "/tmp/faaset-deploy-state-XXXXXX";

static void state_path(char *out, size_t size, const char *platform, const char *name)
{
    snprintf(out, size, "%s/.faaset/state/%s/%s.json", workdir, platform, name);
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* The files in DIR: how many, and how many have NEEDLE in their name. */
static int count_files(const char *dir, const char *needle, int *matching)
{
    DIR *d = opendir(dir);
    int count = 0;
    *matching = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        if (strstr(e->d_name, needle) != NULL)
            (*matching)++;
    }
    if (d != NULL)
        closedir(d);
    return count;
}

static struct deploy_record sample(const char *code_hash, int memory_mb)
{
    struct deploy_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.code_hash, sizeof r.code_hash, "%s", code_hash);
    snprintf(r.config_hash, sizeof r.config_hash, "cfg-%d", memory_mb);
    snprintf(r.deployed_at, sizeof r.deployed_at, "2024-05-01T12:00:00Z");
    r.memory_mb = memory_mb;
    r.timeout_s = 30;
    snprintf(r.function, sizeof r.function, "handler");
    return r;
}

static void test_round_trip(void)
{
    char err[512] = "";
    struct deploy_record out;
    CHECK(deploy_state_read(workdir, "aws", "f", &out, err, sizeof err) == 0); /* none yet */

    struct deploy_record in = sample("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 256);
    snprintf(in.package_sha256, sizeof in.package_sha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    snprintf(in.remote, sizeof in.remote, "arn:aws:lambda:us-east-1:123456789012:function:other");
    in.timeout_s = 900;
    snprintf(in.arch, sizeof in.arch, "arm64");
    snprintf(in.runtime, sizeof in.runtime, "python3.11");
    snprintf(in.env_keys, sizeof in.env_keys, "TABLE,MODE");
    in.max_instances = 3;
    CHECK(deploy_state_write(workdir, "aws", "f", &in, err, sizeof err) == 0);
    memset(&out, 0x5A, sizeof out);
    CHECK(deploy_state_read(workdir, "aws", "f", &out, err, sizeof err) == 1);
    CHECK(strcmp(out.code_hash, in.code_hash) == 0); /* 64 characters: the field's whole size */
    CHECK(strcmp(out.config_hash, "cfg-256") == 0);
    CHECK(strcmp(out.deployed_at, "2024-05-01T12:00:00Z") == 0);
    CHECK(out.memory_mb == 256 && out.timeout_s == 900);
    CHECK(strcmp(out.function, "handler") == 0);
    CHECK(strcmp(out.package_sha256, in.package_sha256) == 0);
    CHECK(strcmp(out.remote, in.remote) == 0);
    CHECK(strcmp(out.arch, "arm64") == 0 && strcmp(out.runtime, "python3.11") == 0 && out.max_instances == 3);
    CHECK(strcmp(out.env_keys, "TABLE,MODE") == 0);

    /* Without the optional fields they read back empty, not stale. */
    struct deploy_record plain = sample("abc", 512);
    CHECK(deploy_state_write(workdir, "gcf", "f", &plain, err, sizeof err) == 0);
    memset(&out, 0x5A, sizeof out);
    CHECK(deploy_state_read(workdir, "gcf", "f", &out, err, sizeof err) == 1);
    CHECK(out.remote[0] == '\0' && out.package_sha256[0] == '\0' && out.memory_mb == 512);
    CHECK(out.arch[0] == '\0' && out.runtime[0] == '\0' && out.env_keys[0] == '\0' && out.max_instances == 0);

    /* The file holds the format, version, name and platform. */
    char path[4096];
    state_path(path, sizeof path, "gcf", "f");
    json_t *root = json_load_file(path, 0, NULL);
    CHECK(root != NULL);
    CHECK(strcmp(json_string_value(json_object_get(root, "format")), "faaset-deploy-state") == 0);
    CHECK(json_integer_value(json_object_get(root, "version")) == 1);
    CHECK(strcmp(json_string_value(json_object_get(root, "name")), "f") == 0);
    CHECK(strcmp(json_string_value(json_object_get(root, "platform")), "gcf") == 0);
    CHECK(json_object_get(root, "remote") == NULL);
    json_decref(root);
}

static void test_modes_and_atomicity(void)
{
    char err[512] = "", path[4096], dir[4096], old_link[4200];
    state_path(path, sizeof path, "aws", "f");
    snprintf(dir, sizeof dir, "%s/.faaset/state/aws", workdir);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(dir) == 0700);
    snprintf(old_link, sizeof old_link, "%s/.faaset", workdir);
    CHECK(mode_of(old_link) == 0700);
    snprintf(old_link, sizeof old_link, "%s/.faaset/state.lock", workdir);
    CHECK(mode_of(old_link) == 0600);

    /* A file made readable by others gets 0600 again when rewritten. */
    CHECK(chmod(path, 0644) == 0);
    /* Replaced, not rewritten in place: a hard link to the old file keeps its text. */
    snprintf(old_link, sizeof old_link, "%s/old-state.json", workdir);
    CHECK(link(path, old_link) == 0);
    struct stat before, after;
    CHECK(stat(path, &before) == 0);
    struct deploy_record next = sample("def", 1024);
    CHECK(deploy_state_write(workdir, "aws", "f", &next, err, sizeof err) == 0);
    CHECK(stat(path, &after) == 0);
    CHECK(before.st_ino != after.st_ino);
    CHECK(mode_of(path) == 0600);
    struct deploy_record out;
    CHECK(deploy_state_read(workdir, "aws", "f", &out, err, sizeof err) == 1);
    CHECK(strcmp(out.code_hash, "def") == 0 && out.memory_mb == 1024 && out.remote[0] == '\0');
    char *old_text = fsutil_read(old_link, NULL);
    CHECK(old_text != NULL && strstr(old_text, "0123456789abcdef") != NULL && strstr(old_text, "\"def\"") == NULL);
    free(old_text);
    unlink(old_link);
    int temporaries;
    CHECK(count_files(dir, ".tmp", &temporaries) == 1 && temporaries == 0); /* only f.json */
}

static void test_corrupted(void)
{
    char err[512] = "", path[4096];
    struct deploy_record out;
    state_path(path, sizeof path, "aws", "broken");
    write_text(path, "{\"format\": \"faaset-deploy-state\", \"vers");
    CHECK(deploy_state_read(workdir, "aws", "broken", &out, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strstr(err, "not valid JSON") != NULL);

    state_path(path, sizeof path, "aws", "foreign");
    write_text(path, "{\"format\": \"something-else\", \"version\": 1}");
    err[0] = '\0';
    CHECK(deploy_state_read(workdir, "aws", "foreign", &out, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strstr(err, "not a faaset 1 state file") != NULL);

    state_path(path, sizeof path, "aws", "newer");
    write_text(path, "{\"format\": \"faaset-deploy-state\", \"version\": 2, \"code_hash\": \"a\", \"config_hash\": "
                     "\"b\", \"deployed_at\": \"c\", \"function\": \"d\"}");
    err[0] = '\0';
    CHECK(deploy_state_read(workdir, "aws", "newer", &out, err, sizeof err) == -1);
    CHECK(strstr(err, "not a faaset 1 state file") != NULL);

    state_path(path, sizeof path, "aws", "incomplete"); /* version 1 without a function */
    write_text(path, "{\"format\": \"faaset-deploy-state\", \"version\": 1, \"code_hash\": \"a\", \"config_hash\": "
                     "\"b\", \"deployed_at\": \"c\"}");
    CHECK(deploy_state_read(workdir, "aws", "incomplete", &out, err, sizeof err) == -1);

    state_path(path, sizeof path, "aws", "toolong"); /* a code hash longer than its field */
    char text[400];
    snprintf(text, sizeof text, "{\"format\": \"faaset-deploy-state\", \"version\": 1, \"code_hash\": \"%0100d\", "
             "\"config_hash\": \"b\", \"deployed_at\": \"c\", \"function\": \"d\"}", 0);
    write_text(path, text);
    CHECK(deploy_state_read(workdir, "aws", "toolong", &out, err, sizeof err) == -1);
}

static void test_list_and_remove(void)
{
    char err[512] = "";
    /* Records now: aws/f, gcf/f, and aws/{broken,foreign,newer,incomplete,toolong} unreadable. */
    struct deploy_record r = sample("h", 128);
    CHECK(deploy_state_write(workdir, "azure", "f", &r, err, sizeof err) == 0);
    snprintf(r.arch, sizeof r.arch, "arm64");
    snprintf(r.env_keys, sizeof r.env_keys, "TABLE,MODE");
    r.max_instances = 3;
    CHECK(deploy_state_write(workdir, "local", "a", &r, err, sizeof err) == 0);
    json_t *list = deploy_state_list(workdir);
    CHECK(json_array_size(list) == 4); /* the unreadable files are left out */
    const char *expected[][2] = {{"a", "local"}, {"f", "aws"}, {"f", "azure"}, {"f", "gcf"}};
    for (size_t i = 0; i < 4 && i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        CHECK(strcmp(json_string_value(json_object_get(item, "name")), expected[i][0]) == 0);
        CHECK(strcmp(json_string_value(json_object_get(item, "platform")), expected[i][1]) == 0);
    }
    json_t *gcf = json_array_get(list, 3);
    CHECK(json_integer_value(json_object_get(gcf, "memory_mb")) == 512);
    CHECK(strcmp(json_string_value(json_object_get(gcf, "code_hash")), "abc") == 0);
    CHECK(strcmp(json_string_value(json_object_get(gcf, "function")), "handler") == 0);
    CHECK(json_array_size(json_object_get(gcf, "env_keys")) == 0 && json_object_get(gcf, "max_instances") == NULL);
    json_t *local = json_array_get(list, 0); /* the env names as a list, never values */
    CHECK(json_array_size(json_object_get(local, "env_keys")) == 2);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(local, "env_keys"), 1)) ?: "", "MODE") == 0);
    CHECK(json_integer_value(json_object_get(local, "max_instances")) == 3);
    CHECK(strcmp(json_string_value(json_object_get(local, "arch")) ?: "", "arm64") == 0);
    json_decref(list);

    CHECK(deploy_state_remove(workdir, "aws", "f", err, sizeof err) == 0);
    struct deploy_record out;
    CHECK(deploy_state_read(workdir, "aws", "f", &out, err, sizeof err) == 0);
    CHECK(deploy_state_remove(workdir, "aws", "f", err, sizeof err) == 0); /* none is fine */
    list = deploy_state_list(workdir);
    CHECK(json_array_size(list) == 3);
    json_decref(list);

    char empty[4200];
    snprintf(empty, sizeof empty, "%s/nothing-here", workdir);
    list = deploy_state_list(empty);
    CHECK(list != NULL && json_array_size(list) == 0);
    json_decref(list);
}

static void test_write_failure(void)
{
    char err[512] = "", blocker[4200];
    /* A file where the platform's folder should be: the write fails and says where. */
    snprintf(blocker, sizeof blocker, "%s/.faaset/state/openfaas", workdir);
    write_text(blocker, "not a folder");
    struct deploy_record r = sample("x", 128);
    CHECK(deploy_state_write(workdir, "openfaas", "f", &r, err, sizeof err) == -1);
    CHECK(strstr(err, "cannot write the state file") != NULL && strstr(err, "openfaas/f.json") != NULL);
}

/* A folder so deep that a state path would not fit: every call refuses
 * with a sentence, never writing, reading or locking a cut path (which
 * would name another file). */
static void test_path_too_long(void)
{
    static char deep[4200];
    int used = snprintf(deep, sizeof deep, "%s/", workdir);
    while (used < 4080)
        deep[used++] = 'd';
    deep[used] = '\0';
    char err[512] = "";
    long holder = 0;
    struct deploy_record r = sample("x", 128), back;
    CHECK(deploy_state_write(deep, "aws", "function-name", &r, err, sizeof err) == -1 && strstr(err, "longer than"));
    err[0] = '\0';
    CHECK(deploy_state_read(deep, "aws", "function-name", &back, err, sizeof err) == -1 && strstr(err, "longer than"));
    err[0] = '\0';
    CHECK(deploy_state_remove(deep, "aws", "function-name", err, sizeof err) == -1 && strstr(err, "longer than"));
    err[0] = '\0';
    CHECK(deploy_state_claim(deep, "aws", "function-name", &holder, err, sizeof err) == -1 && strstr(err, "longer than"));
    json_t *list = deploy_state_list(deep);
    CHECK(list != NULL && json_array_size(list) == 0);
    json_decref(list);
    char cut[4096];
    CHECK(fsutil_path(cut, sizeof cut, "%s/.faaset", deep) == 0); /* this one fits */
    CHECK(fsutil_path(cut, sizeof cut, "%s/.faaset/state/aws/function-name.json", deep) == -1 && errno == ENAMETOOLONG);
}

/* A deploy is claimed by one holder at a time: a second claim (another
 * open file, as another process has) is refused and names the holder, and
 * the claim ends with its fd. */
static void test_claims(void)
{
    char err[256];
    long holder = -1;
    int first = deploy_state_claim(workdir, "local", "hello", &holder, err, sizeof err);
    CHECK(first >= 0);
    CHECK(deploy_state_claim(workdir, "local", "hello", &holder, err, sizeof err) == -2);
    CHECK(holder == (long)getpid());
    int other = deploy_state_claim(workdir, "local", "other", &holder, err, sizeof err); /* another name: free */
    CHECK(other >= 0);
    int elsewhere = deploy_state_claim(workdir, "aws", "hello", &holder, err, sizeof err); /* another platform */
    CHECK(elsewhere >= 0);
    deploy_state_unclaim(first);
    int again = deploy_state_claim(workdir, "local", "hello", &holder, err, sizeof err);
    CHECK(again >= 0);
    struct stat st;
    char path[4200];
    snprintf(path, sizeof path, "%s/.faaset/locks/local/hello.lock", workdir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    deploy_state_unclaim(again);
    deploy_state_unclaim(other);
    deploy_state_unclaim(elsewhere);
    deploy_state_unclaim(-1); /* nothing to end: harmless */
}

int main(void)
{
    if (mkdtemp(workdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    umask(022);
    test_round_trip();
    test_modes_and_atomicity();
    test_corrupted();
    test_list_and_remove();
    test_write_failure();
    test_claims();
    test_path_too_long();
    CHECK(fsutil_remove_tree(workdir) == 0);
    return check_report();
}
