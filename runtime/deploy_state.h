/* deploy_state: what was deployed where, kept beside the notebook in
 * .faaset/state/PLATFORM/NAME.json so it survives kernel restarts and is
 * shared with the command line. Files are mode 0600 in folders of mode 0700,
 * replaced atomically, and read and written under a lock on
 * .faaset/state.lock, so two kernels in one folder never see half a file.
 * A file that cannot be read (corrupted, from another tool or a newer
 * format) is reported and treated as absent: the caller redeploys.
 *
 * A deploy of NAME on PLATFORM (read the state, deploy, write the state)
 * is claimed first: an exclusive flock on .faaset/locks/PLATFORM/NAME.lock
 * held by an open fd, with the holder's process id written in the file,
 * so two kernels (or a kernel and the command line) never deploy the same
 * function at once and leave the state saying one thing and the platform
 * holding another. The claim ends with the fd, or with the process. */
#ifndef FAASET_DEPLOY_STATE_H
#define FAASET_DEPLOY_STATE_H

#include <jansson.h>
#include <stddef.h>

struct deploy_record {
    char code_hash[65];
    char config_hash[65];
    char deployed_at[32];        /* ISO 8601, UTC */
    int memory_mb;
    int timeout_s;
    char function[65];           /* the def the package calls */
    char package_sha256[48];     /* base64 SHA-256 of the package last sent, "" when unknown */
    char remote[180];            /* the platform's name for it when not NAME (remote=), else "" */
    char arch[8];                /* "x86_64" or "arm64"; "" in records from before it was kept */
    char runtime[16];            /* "python3.12", ...; "" likewise */
    int max_instances;           /* 0: the platform's default */
    char env_keys[512];          /* the env= names, comma-separated (never the values: they may be secrets) */
};

/* 1 and *OUT when found, 0 when there is none, -1 with ERR when unreadable. */
int deploy_state_read(const char *workdir, const char *platform, const char *name, struct deploy_record *out,
                      char *err, size_t err_size);

/* Returns 0, or -1 with ERR. */
int deploy_state_write(const char *workdir, const char *platform, const char *name,
                       const struct deploy_record *record, char *err, size_t err_size);

/* Removes NAME's record on PLATFORM (none is fine). Returns 0, or -1 with ERR. */
int deploy_state_remove(const char *workdir, const char *platform, const char *name, char *err, size_t err_size);

/* Claims the deploy of NAME on PLATFORM without waiting. Returns the fd
 * that holds the claim (>= 0), -2 when another process holds it (*HOLDER:
 * its process id, 0 when unknown), or -1 with ERR. */
int deploy_state_claim(const char *workdir, const char *platform, const char *name, long *holder, char *err,
                       size_t err_size);
/* Ends a claim (FD from deploy_state_claim; a negative FD is ignored). */
void deploy_state_unclaim(int fd);

/* Every readable record: [{"name", "platform", "function", "code_hash",
 * "config_hash", "deployed_at", "memory_mb", "timeout_s", "arch",
 * "runtime", "env_keys": [...], and "max_instances" and "remote" when
 * set}], sorted by name then platform. */
json_t *deploy_state_list(const char *workdir);

#endif
