/* azure: the `azure` platform, Azure Functions behind the platform
 * interface (platform.h): Azure Resource Manager (the site, its app
 * settings, its functions and their keys), Kudu's zip deploy and the
 * function app's own host, through az_client (tokens, Basic auth, Azure's
 * errors as sentences).
 *
 * Apps: a zip deploy replaces every file of a function app, so one
 * function app holds one FaaSET function: the app named by `%platform
 * azure app=` (or the publish profile's), else the app named after the
 * function (lower case, '_' as '-'). The app must exist (creating one
 * needs a plan and a storage account: the portal or `az functionapp
 * create` does it once). The app setting FAASET_FUNCTION names the function
 * a notebook deployed there; deploying another one into it is refused. A
 * remote name "APP/NAME" (deploy=false remote=...) names both. Calls,
 * deletes and memory changes go to the app this kernel deployed the
 * function into, even after `%platform azure app=` names another.
 *
 * Deploy, configure, verify and set_memory are one state machine, a
 * "sync", that makes the app match what the notebook defines:
 *
 *   GET site (its plan and instance memory)
 *     -> POST config/appsettings/list -> GET functions/NAME (404: not there)
 *     -> code or timeout differ, or the function is not there?
 *          POST Kudu /api/zipdeploy?isAsync=true (a Flex Consumption app:
 *          One Deploy, /api/publish?RemoteBuild=false), then poll the
 *          Location (202, or 200 with complete false, while it runs; a
 *          failed deployment's log in the error)
 *     -> app settings differ (env=, or what the upload records)?
 *          PUT config/appsettings (the others' settings kept)
 *     -> memory differs (Flex Consumption)? PATCH the site's
 *          functionAppConfig.scaleAndConcurrency.instanceMemoryMB
 *
 * A delete is ARM's DELETE functions/NAME, then the notebook's app
 * settings are taken out, so the app can take another function.
 *
 * The package is the kernel's zip (package.h) plus host.json (version
 * 2.0, functionTimeout from timeout=, the extension bundle Azure's
 * templates name) and NAME/function.json (an HTTP trigger, authLevel
 * function, POST, route NAME) with NAME/__init__.py, which hands
 * azure.functions' HttpRequest to faaset_handler.azure_handler. Azure
 * keeps no hash of what it runs, so the sync records the SHA-256 of the
 * kernel's package in the app setting FAASET_CODE_SHA256 and the timeout
 * in FAASET_TIMEOUT (host.json's functionTimeout is part of the files: a
 * timeout change uploads the package again, and the deploy line says so);
 * env= are app settings, updated without an upload (FAASET_ENV_KEYS
 * lists the notebook's, so one taken out of the cell is removed). As on
 * aws, gcf and ibm, the machine reports what it found, and for an
 * unchanged cell (verify) an app changed outside the notebook, or a
 * function deleted there, which it then repairs.
 *
 * Memory: a Flex Consumption app has an instance memory of 512, 2048
 * (its default) or 4096 MB, set through ARM; the cell's default 128 means
 * 2048 there. Consumption (Dynamic), Premium and Dedicated plans have no
 * memory per function: memory= other than the default is an error naming
 * the plan, as is a timeout over Consumption's 600 s.
 *
 * Calls POST the payload as JSON to APP_URL/api/NAME with the function key
 * as x-functions-key: AZURE_FUNCTION_KEY, else the function's default key
 * from ARM's listkeys, cached (a 401 with a cached key reads it again
 * once; `%platform azure function_key=` is refused: cells are kept in the
 * history file). A 401
 * says which key was refused and where it came from. The shim answers a
 * function's own exception with 500, X-FaaSET-Error and Lambda's shape
 * (errorType, errorMessage, stackTrace, logTail): the function's
 * exception with its traceback. 429, 502 and 503 are reported as
 * throttled, for the caller to retry with the one backoff policy
 * (retry.h); the control plane retries them itself with that policy. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "az_client.h"
#include "buffer.h"
#include "credfile.h"
#include "list.h"
#include "log.h"
#include "platform.h"
#include "retry.h"
#include "shim_error.h"
#include "zip.h"

#define AZ_CONTROL_TIMEOUT_MS 120000L
#define AZ_UPLOAD_TIMEOUT_MS 600000L
#define AZ_INVOKE_TIMEOUT_MS 960000L          /* the cell's longest timeout plus a margin */
#define AZ_MAX_POLLS 450                      /* about 15 minutes at 2 s */
#define AZ_PAYLOAD_MAX (100L * 1024 * 1024)   /* the Functions host's request limit */
#define AZ_DEFAULT_MEMORY 128                 /* the cell's default: the plan's own */
#define AZ_FLEX_DEFAULT_MEMORY 2048
#define AZ_CONSUMPTION_MAX_TIMEOUT_S 600
#define AZ_LOG_MAX 4096
#define AZ_SETTING_CODE "FAASET_CODE_SHA256"
#define AZ_SETTING_TIMEOUT "FAASET_TIMEOUT"
#define AZ_SETTING_FUNCTION "FAASET_FUNCTION"
#define AZ_SETTING_ENV_KEYS "FAASET_ENV_KEYS"

/* Throttling and Azure's own errors: 4 retries, waits drawn up to 0.25, 0.5, 1 and 2 s, as elsewhere. */
static const struct retry_policy az_retry = {.base_ms = 250, .cap_ms = 2000, .max_retries = 4};

static const int az_flex_sizes[] = {512, 2048, 4096};

/* What the platform knows of a function, per app and function: its key read from ARM, and the timeout it
 * was deployed with (a call that ends in a bare 500 after that long ran out of time). */
struct az_invoke;

struct az_key {
    struct az_key *next;
    struct az_platform *platform;
    char *app, *name, *value;
    int fetching;                /* a listkeys call is out */
    struct az_invoke *waiting;   /* calls waiting for it */
    int timeout_s;               /* 0 when not deployed from here */
    int deployed;                /* deployed (or found up to date) into APP by this kernel, not deleted since */
};

struct az_platform {
    struct reactor *reactor;
    struct az_client *client;
    struct az_key *keys;
    struct list_node syncs;      /* under way: ended with KernelStopping when the platform is freed */
    int closing;
};

enum az_step { AZ_STEP_SITE, AZ_STEP_SETTINGS, AZ_STEP_FUNCTION, AZ_STEP_UPLOAD, AZ_STEP_POLL, AZ_STEP_LOG,
               AZ_STEP_PUT_SETTINGS, AZ_STEP_MEMORY, AZ_STEP_DELETE };

static const char *const az_step_names[] = {"reading the app of", "reading the app settings of", "reading",
                                            "uploading", "waiting for the deployment of", "reading the deployment log of",
                                            "writing the app settings of", "setting the memory of", "deleting"};

struct az_sync {
    struct az_platform *platform;
    enum platform_sync kind;
    enum az_step step;
    platform_done_fn done;
    void *ctx;
    char *name, *app;
    char *site;                  /* the ARM path of the app, without api-version */
    char *scm;                   /* Kudu's URL */
    unsigned char *zip;          /* the package with host.json and the function folder */
    size_t zip_size;
    char code_hash[65];          /* hex SHA-256 of the kernel's package */
    int memory_mb, timeout_s;
    json_t *env;
    json_t *settings;            /* the app's settings, as read */
    char plan[40];
    int flex;
    long remote_memory;
    int function_exists;
    int need_upload, need_settings, need_memory;
    char *location;              /* the deployment's status URL */
    int polls, retries;
    int created, code_updated, config_updated, timeout_uploaded;
    char note[600], failure[2000];
    unsigned long timer;
    struct list_node node;
};

/* ---- names ---- */

static void az_fail(platform_done_fn done, void *ctx, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    done(ctx, &outcome);
}

/* A function name Azure takes: a letter, then letters, digits, _ and -, at most 127. */
static int az_valid_function(const char *name, size_t len)
{
    if (len == 0 || len > 127 || !isalpha((unsigned char)name[0]))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

/* An app name: 2 to 60 letters, digits and -, not starting or ending with -. */
static int az_valid_app(const char *app)
{
    size_t len = strlen(app);
    if (len < 2 || len > 60 || app[0] == '-' || app[len - 1] == '-')
        return 0;
    for (const char *p = app; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    return 1;
}

/* Splits NAME ("FUNCTION" or "APP/FUNCTION") into the app and the function, as new strings: the app named,
 * else (with REMEMBERED, for calls, deletes and memory changes) the app this kernel deployed the function
 * into, else the app setting, else the function's own name. 0, or -1 with ERR. */
static int az_names(struct az_platform *platform, const char *name, int remembered, char **app, char **function,
                    char *err, size_t err_size)
{
    const char *slash = strchr(name, '/');
    const char *fn = slash != NULL ? slash + 1 : name;
    const char *configured = az_credentials_app(az_client_credentials(platform->client));
    for (const struct az_key *k = platform->keys; remembered && slash == NULL && k != NULL; k = k->next)
        if (k->deployed && strcmp(k->name, fn) == 0)
            configured = k->app;
    *app = *function = NULL;
    if (!az_valid_function(fn, strlen(fn))) {
        snprintf(err, err_size, "'%.100s' is not an Azure function name (a letter, then letters, digits, _ and -; at "
                 "most 127)", fn);
        return -1;
    }
    if (slash != NULL)
        *app = strndup(name, (size_t)(slash - name));
    else if (configured != NULL)
        *app = strdup(configured);
    else {
        *app = strdup(name);
        for (char *p = *app; p != NULL && *p; p++)
            *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    }
    *function = strdup(fn);
    if (*app == NULL || *function == NULL) {
        free(*app);
        free(*function);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (!az_valid_app(*app)) {
        snprintf(err, err_size, "'%.100s' is not a function app name (2 to 60 letters, digits and -): set %%platform "
                 "azure app= to the app to deploy into", *app);
        free(*app);
        free(*function);
        *app = *function = NULL;
        return -1;
    }
    return 0;
}

/* The ARM path of APP ("/subscriptions/S/resourceGroups/G/providers/Microsoft.Web/sites/APP"). 0, or -1 with ERR. */
static int az_site_path(struct az_platform *platform, const char *app, char **out, char *err, size_t err_size)
{
    const struct az_credentials *c = az_client_credentials(platform->client);
    const char *subscription = az_credentials_subscription(c), *group = az_credentials_resource_group(c);
    *out = NULL;
    if (subscription == NULL || group == NULL) {
        snprintf(err, err_size, "no Azure %s: set %%platform azure %s=%s (or %s)",
                 subscription == NULL ? "subscription" : "resource group",
                 subscription == NULL ? "subscription" : "resource_group", subscription == NULL ? "ID" : "NAME",
                 subscription == NULL ? "AZURE_SUBSCRIPTION_ID" : "AZURE_RESOURCE_GROUP");
        return -1;
    }
    if (asprintf(out, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Web/sites/%s", subscription, group,
                 app) < 0) {
        *out = NULL;
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- the package ---- */

struct az_zip_builder {
    struct zip_entry *entries;
    size_t count, capacity;
};

static int az_zip_keep(void *ctx, const char *name, const unsigned char *data, size_t size, char *err, size_t err_size)
{
    struct az_zip_builder *builder = ctx;
    if (builder->count == builder->capacity) {
        size_t capacity = builder->capacity ? builder->capacity * 2 : 16;
        struct zip_entry *grown = realloc(builder->entries, capacity * sizeof *grown);
        if (grown == NULL) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        builder->entries = grown;
        builder->capacity = capacity;
    }
    char *copy = strdup(name);
    if (copy == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    builder->entries[builder->count++] = (struct zip_entry){copy, data, size};
    return 0;
}

/* The zip Azure gets: PACKAGE's files, host.json and NAME/{function.json,__init__.py}. 0, or -1 with ERR. */
static int az_build_zip(const struct platform_function *function, const char *name, unsigned char **out,
                        size_t *out_size, char *err, size_t err_size)
{
    struct az_zip_builder builder = {0};
    char *host = NULL, *binding = NULL, *folder_json = NULL, *folder_init = NULL;
    static const char init[] =
        "\"\"\"Azure Functions' entry point: FaaSET's handler shim (faaset_handler.py).\"\"\"\n"
        "import azure.functions as func\n\n"
        "import faaset_handler\n\n\n"
        "def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:\n"
        "    return faaset_handler.azure_handler(req, context)\n";
    int rc = zip_each(function->package, function->package_size, az_zip_keep, &builder, err, err_size);
    if (rc == 0) {
        int t = function->timeout_s;
        int ok = asprintf(&host, "{\n  \"version\": \"2.0\",\n  \"functionTimeout\": \"%02d:%02d:%02d\",\n"
                          "  \"extensionBundle\": {\n    \"id\": \"Microsoft.Azure.Functions.ExtensionBundle\",\n"
                          "    \"version\": \"[4.*, 5.0.0)\"\n  }\n}\n", t / 3600, t / 60 % 60, t % 60) >= 0;
        ok = ok && asprintf(&binding, "{\n  \"scriptFile\": \"__init__.py\",\n  \"bindings\": [\n    {\n"
                            "      \"authLevel\": \"function\",\n      \"type\": \"httpTrigger\",\n"
                            "      \"direction\": \"in\",\n      \"name\": \"req\",\n      \"methods\": [\"post\"],\n"
                            "      \"route\": \"%s\"\n    },\n    {\n      \"type\": \"http\",\n"
                            "      \"direction\": \"out\",\n      \"name\": \"$return\"\n    }\n  ]\n}\n", name) >= 0;
        ok = ok && asprintf(&folder_json, "%s/function.json", name) >= 0;
        ok = ok && asprintf(&folder_init, "%s/__init__.py", name) >= 0;
        ok = ok && az_zip_keep(&builder, "host.json", (const unsigned char *)host, strlen(host), err, err_size) == 0;
        ok = ok && az_zip_keep(&builder, folder_json, (const unsigned char *)binding, strlen(binding), err,
                               err_size) == 0;
        ok = ok && az_zip_keep(&builder, folder_init, (const unsigned char *)init, strlen(init), err, err_size) == 0;
        rc = ok ? zip_build(builder.entries, builder.count, out, out_size, err, err_size) : -1;
        if (!ok)
            snprintf(err, err_size, "out of memory");
    }
    for (size_t i = 0; i < builder.count; i++)
        free((char *)builder.entries[i].name);
    free(builder.entries);
    free(host);
    free(binding);
    free(folder_json);
    free(folder_init);
    return rc;
}

/* ---- keys ---- */

static struct az_key *az_key_find(struct az_platform *platform, const char *app, const char *name, int create)
{
    for (struct az_key *k = platform->keys; k != NULL; k = k->next)
        if (strcmp(k->app, app) == 0 && strcmp(k->name, name) == 0)
            return k;
    if (!create)
        return NULL;
    struct az_key *k = calloc(1, sizeof *k);
    if (k == NULL || (k->app = strdup(app)) == NULL || (k->name = strdup(name)) == NULL) {
        if (k != NULL)
            free(k->app);
        free(k);
        return NULL;
    }
    k->platform = platform;
    k->next = platform->keys;
    platform->keys = k;
    return k;
}

/* The keys read: wiped (the settings changed); where this kernel deployed each function is kept. */
static void az_keys_wipe(struct az_platform *platform)
{
    for (struct az_key *k = platform->keys; k != NULL; k = k->next) {
        credfile_wipe_free(k->value);
        k->value = NULL;
    }
}

static void az_keys_forget(struct az_platform *platform)
{
    while (platform->keys != NULL) {
        struct az_key *k = platform->keys;
        platform->keys = k->next;
        free(k->app);
        free(k->name);
        credfile_wipe_free(k->value);
        free(k);
    }
}

/* ---- the sync state machine ---- */

static void az_sync_free(struct az_sync *sync)
{
    list_remove(&sync->node);
    if (sync->timer)
        reactor_cancel(sync->platform->reactor, sync->timer);
    free(sync->name);
    free(sync->app);
    free(sync->site);
    free(sync->scm);
    free(sync->zip);
    free(sync->location);
    json_decref(sync->env);
    json_decref(sync->settings); /* others' settings may hold secrets (connection strings): never shown */
    free(sync);
}

static void az_sync_finish(struct az_sync *sync, const char *error_type, const char *message)
{
    struct platform_outcome outcome = {.ok = error_type == NULL, .error_type = error_type, .message = message};
    char note[700];
    if (outcome.ok) {
        int drifted = sync->note[0] != '\0';
        outcome.action = sync->kind == PLATFORM_SYNC_REMOVE              ? "deleted"
                         : drifted && sync->kind == PLATFORM_SYNC_VERIFY ? "redeployed"
                         : sync->created                                 ? "deployed"
                         : sync->code_updated                            ? "updated code of"
                         : sync->config_updated                          ? "updated configuration of"
                                                                         : "up to date";
        snprintf(note, sizeof note, "%s%s%s", sync->note,
                 sync->note[0] && sync->timeout_uploaded ? "; " : "",
                 sync->timeout_uploaded ? "the timeout is host.json's functionTimeout, so the package was uploaded "
                                          "again" : "");
        outcome.note = note[0] ? note : NULL;
        struct az_key *known = sync->kind != PLATFORM_SYNC_SET_MEMORY
                                   ? az_key_find(sync->platform, sync->app, sync->name, 1)
                                   : NULL;
        if (known != NULL && sync->kind == PLATFORM_SYNC_REMOVE)
            known->deployed = known->timeout_s = 0;
        else if (known != NULL) {
            known->timeout_s = sync->timeout_s;
            known->deployed = 1;
        }
    }
    sync->done(sync->ctx, &outcome);
    az_sync_free(sync);
}

static void az_sync_call(struct az_sync *sync);

static void az_sync_on_timer(void *ctx)
{
    struct az_sync *sync = ctx;
    sync->timer = 0;
    az_sync_call(sync);
}

static void az_sync_later(struct az_sync *sync, long long delay_ms)
{
    sync->timer = reactor_timer(sync->platform->reactor, delay_ms, az_sync_on_timer, sync);
    if (sync->timer == 0)
        az_sync_finish(sync, "OutOfMemory", "cannot schedule the next call");
}

/* Remembers WHAT differs when it can only have been changed outside the notebook. */
static void az_sync_note(struct az_sync *sync, const char *what, int is_code)
{
    if (sync->note[0] || !(sync->kind == PLATFORM_SYNC_VERIFY || (sync->kind == PLATFORM_SYNC_CONFIGURE && is_code)))
        return;
    snprintf(sync->note, sizeof sync->note, "changed outside the notebook: %s", what);
}

static const char *az_setting(const struct az_sync *sync, const char *key)
{
    return json_string_value(json_object_get(sync->settings, key));
}

/* The memory the notebook asks for on this plan, 0 for "none to set". */
static int az_wanted_memory(const struct az_sync *sync)
{
    if (!sync->flex)
        return 0;
    return sync->memory_mb == AZ_DEFAULT_MEMORY ? AZ_FLEX_DEFAULT_MEMORY : sync->memory_mb;
}

/* The site read: the plan, and whether the cell's memory and timeout fit it. 0, or -1 (finished). */
static int az_sync_on_site(struct az_sync *sync, const json_t *site)
{
    const json_t *properties = json_object_get(site, "properties");
    const json_t *config = json_object_get(properties, "functionAppConfig");
    const char *sku = json_string_value(json_object_get(properties, "sku"));
    char message[700];
    sync->flex = json_is_object(config) || (sku != NULL && strcmp(sku, "FlexConsumption") == 0);
    snprintf(sync->plan, sizeof sync->plan, "%s", sync->flex ? "Flex Consumption"
                                                  : sku == NULL || strcmp(sku, "Dynamic") == 0 ? "Consumption"
                                                                                                : sku);
    sync->remote_memory = (long)json_integer_value(
        json_object_get(json_object_get(config, "scaleAndConcurrency"), "instanceMemoryMB"));
    if (!sync->flex && sync->memory_mb != AZ_DEFAULT_MEMORY) {
        snprintf(message, sizeof message, "memory=%d: the function app %s is on the %s plan, which has no memory "
                 "setting per function (Consumption instances have 1.5 GB; Premium and Dedicated plans the plan's "
                 "size): leave memory= out, or use a Flex Consumption app (512, 2048 or 4096 MB)", sync->memory_mb,
                 sync->app, sync->plan);
        az_sync_finish(sync, "InvalidOption", message);
        return -1;
    }
    if (!sync->flex && strcmp(sync->plan, "Consumption") == 0 && sync->timeout_s > AZ_CONSUMPTION_MAX_TIMEOUT_S) {
        snprintf(message, sizeof message, "timeout=%d: the function app %s is on the Consumption plan, whose longest "
                 "functionTimeout is 600 s; use timeout=600 or less, or a Flex Consumption app", sync->timeout_s,
                 sync->app);
        az_sync_finish(sync, "InvalidOption", message);
        return -1;
    }
    return 0;
}

/* Whether the app settings hold the cell's env= (and only the keys it lists). */
static int az_env_differs(const struct az_sync *sync, char *what, size_t size)
{
    const char *key;
    json_t *value;
    json_object_foreach(sync->env, key, value) {
        const char *remote = az_setting(sync, key);
        if (remote == NULL || strcmp(remote, json_string_value(value) ? json_string_value(value) : "") != 0) {
            snprintf(what, size, "its app setting %.100s is not the notebook's env= value", key);
            return 1;
        }
    }
    const char *keys = az_setting(sync, AZ_SETTING_ENV_KEYS);
    for (const char *p = keys ? keys : ""; *p;) {
        size_t n = strcspn(p, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), p);
        if (name[0] && json_object_get(sync->env, name) == NULL && az_setting(sync, name) != NULL) {
            snprintf(what, size, "its app setting %.100s is no longer in the notebook's env=", name);
            return 1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Settings and function read: what has to change. */
static void az_sync_decide(struct az_sync *sync)
{
    char what[400] = "", message[700];
    if (sync->kind == PLATFORM_SYNC_REMOVE) {
        if (!sync->function_exists) {
            snprintf(message, sizeof message, "%s is not deployed on azure (the app %s has no function %s); run its "
                     "%%%%cloud_function cell", sync->name, sync->app, sync->name);
            az_sync_finish(sync, "NotFound", message);
            return;
        }
        sync->step = AZ_STEP_DELETE;
        az_sync_call(sync);
        return;
    }
    const char *owner = az_setting(sync, AZ_SETTING_FUNCTION);
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY && owner != NULL && strcmp(owner, sync->name) != 0) {
        snprintf(message, sizeof message, "the function app %s holds the function %.100s deployed from a notebook, "
                 "and a zip deploy replaces all of an app's files: one app holds one function; leave %%platform azure "
                 "app= out (each function then goes to the app of its own name) or name another app", sync->app,
                 owner);
        az_sync_finish(sync, "AppInUse", message);
        return;
    }
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY && !sync->function_exists) {
        snprintf(message, sizeof message, "%s is not deployed on azure (the app %s has no function %s); run its "
                 "%%%%cloud_function cell", sync->name, sync->app, sync->name);
        az_sync_finish(sync, "NotFound", message);
        return;
    }
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY) {
        const char *hash = az_setting(sync, AZ_SETTING_CODE), *timeout = az_setting(sync, AZ_SETTING_TIMEOUT);
        char timeout_text[16];
        snprintf(timeout_text, sizeof timeout_text, "%d", sync->timeout_s);
        if (!sync->function_exists) {
            if (hash != NULL && sync->kind != PLATFORM_SYNC_DEPLOY)
                snprintf(sync->note, sizeof sync->note, "it had been deleted outside the notebook");
            sync->created = sync->need_upload = 1;
        } else if (hash == NULL || strcmp(hash, sync->code_hash) != 0) {
            snprintf(what, sizeof what, "its code is not the notebook's (app setting %s is %.12s..., the package "
                     "%.12s...)", AZ_SETTING_CODE, hash ? hash : "(none)", sync->code_hash);
            az_sync_note(sync, what, 1);
            sync->code_updated = sync->need_upload = 1;
        } else if (timeout == NULL || strcmp(timeout, timeout_text) != 0) {
            snprintf(what, sizeof what, "its timeout is %.12s s, the notebook's %d s", timeout ? timeout : "(unknown)",
                     sync->timeout_s);
            az_sync_note(sync, what, 0);
            sync->config_updated = sync->need_upload = sync->timeout_uploaded = 1;
        }
        if (az_env_differs(sync, what, sizeof what)) {
            az_sync_note(sync, what, 0);
            sync->config_updated = sync->need_settings = 1;
        }
        if (sync->need_upload)
            sync->need_settings = 1; /* records the new code and timeout */
    }
    int memory = az_wanted_memory(sync);
    if (memory > 0 && memory != sync->remote_memory) {
        snprintf(what, sizeof what, "its instance memory is %ld MB, the notebook's %d MB", sync->remote_memory, memory);
        az_sync_note(sync, what, 0);
        sync->config_updated = sync->need_memory = 1;
    }
    sync->step = sync->need_upload ? AZ_STEP_UPLOAD : sync->need_settings ? AZ_STEP_PUT_SETTINGS
                 : sync->need_memory ? AZ_STEP_MEMORY : AZ_STEP_SITE;
    if (sync->step == AZ_STEP_SITE)
        az_sync_finish(sync, NULL, NULL);
    else
        az_sync_call(sync);
}

/* After one change: the next one, or done. */
static void az_sync_next(struct az_sync *sync)
{
    if (sync->step == AZ_STEP_POLL && sync->need_settings)
        sync->step = AZ_STEP_PUT_SETTINGS;
    else if ((sync->step == AZ_STEP_POLL || sync->step == AZ_STEP_PUT_SETTINGS) && sync->need_memory)
        sync->step = AZ_STEP_MEMORY;
    else {
        az_sync_finish(sync, NULL, NULL);
        return;
    }
    az_sync_call(sync);
}

/* The deployment log's entries ([{"message": ...}]) as the end of one text, into the failure message. */
static void az_sync_on_log(struct az_sync *sync, const json_t *log)
{
    struct buffer text = {0};
    size_t i;
    json_t *entry;
    json_array_foreach(log, i, entry) {
        const char *line = json_string_value(json_object_get(entry, "message"));
        if (line != NULL)
            buffer_printf(&text, "%s%s", text.size ? "\n" : "", line);
    }
    char message[AZ_LOG_MAX + 2400];
    const char *tail = text.data != NULL ? (const char *)text.data : "";
    size_t n = text.size;
    snprintf(message, sizeof message, "%s%s%.*s", sync->failure, n ? "; its log ends:\n" : "",
             (int)(n > AZ_LOG_MAX ? AZ_LOG_MAX : n), n > AZ_LOG_MAX ? tail + n - AZ_LOG_MAX : tail);
    buffer_free(&text);
    az_sync_finish(sync, "DeploymentFailed", message);
}

/* A deployment's status (Kudu's: status 4 success, 3 failed, complete). */
static void az_sync_on_status(struct az_sync *sync, const json_t *status)
{
    json_int_t code = json_integer_value(json_object_get(status, "status"));
    int complete = json_is_true(json_object_get(status, "complete")) || code == 3 || code == 4;
    if (!complete) {
        az_sync_later(sync, sync->polls < 3 ? 250LL << sync->polls : 2000);
        sync->polls++;
        return;
    }
    if (code == 4) {
        az_sync_next(sync);
        return;
    }
    const char *id = json_string_value(json_object_get(status, "id"));
    const char *text = json_string_value(json_object_get(status, "status_text"));
    const char *log_url = json_string_value(json_object_get(status, "log_url"));
    snprintf(sync->failure, sizeof sync->failure, "the zip deploy of %s to the app %s failed (deployment %.80s%s%.300s)",
             sync->name, sync->app, id ? id : "?", text && text[0] ? ": " : "", text ? text : "");
    free(sync->location);
    sync->location = NULL;
    if (log_url != NULL)
        sync->location = strdup(log_url);
    else if (id != NULL && asprintf(&sync->location, "%s/api/deployments/%s/log", sync->scm, id) < 0)
        sync->location = NULL;
    if (sync->location == NULL) {
        az_sync_finish(sync, "DeploymentFailed", sync->failure);
        return;
    }
    sync->step = AZ_STEP_LOG;
    az_sync_call(sync);
}

static int az_retryable(const struct az_reply *reply)
{
    return reply->status == 429 || reply->status >= 500 || reply->status == 0;
}

static void az_sync_on_reply(void *ctx, const struct az_reply *reply)
{
    struct az_sync *sync = ctx;
    char message[2400];
    if (sync->platform->closing) {
        az_sync_finish(sync, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->ok) {
        sync->retries = 0;
        switch (sync->step) {
        case AZ_STEP_SITE:
            if (az_sync_on_site(sync, reply->json) < 0)
                return;
            sync->step = AZ_STEP_SETTINGS;
            az_sync_call(sync);
            return;
        case AZ_STEP_SETTINGS: {
            const json_t *properties = json_object_get(reply->json, "properties");
            json_decref(sync->settings);
            sync->settings = json_is_object(properties) ? json_deep_copy(properties) : json_object();
            sync->step = AZ_STEP_FUNCTION;
            az_sync_call(sync);
            return;
        }
        case AZ_STEP_FUNCTION:
            sync->function_exists = 1;
            az_sync_decide(sync);
            return;
        case AZ_STEP_UPLOAD: {
            const char *location = reply->http ? http_response_header(reply->http, "Location") : NULL;
            free(sync->location);
            sync->location = NULL;
            if (location != NULL && location[0] == '/')
                (void)(asprintf(&sync->location, "%s%s", sync->scm, location) < 0 && (sync->location = NULL));
            else if (location != NULL)
                sync->location = strdup(location);
            if (reply->status == 200) { /* a synchronous deploy: done already */
                az_sync_next(sync);
                return;
            }
            if (sync->location == NULL) {
                snprintf(message, sizeof message, "uploading %s: Kudu answered HTTP %ld without a Location to follow",
                         sync->name, reply->status);
                az_sync_finish(sync, "InvalidResponse", message);
                return;
            }
            sync->step = AZ_STEP_POLL;
            sync->polls = 0;
            az_sync_later(sync, 250);
            return;
        }
        case AZ_STEP_POLL:
            if (reply->status == 202) {
                if (sync->polls >= AZ_MAX_POLLS) {
                    snprintf(message, sizeof message, "the deployment of %s to the app %s had not finished after %d "
                             "checks (about 15 minutes); see its Deployment Center", sync->name, sync->app,
                             AZ_MAX_POLLS);
                    az_sync_finish(sync, "WaitTimeout", message);
                    return;
                }
                az_sync_later(sync, sync->polls < 3 ? 250LL << sync->polls : 2000);
                sync->polls++;
                return;
            }
            az_sync_on_status(sync, reply->json);
            return;
        case AZ_STEP_LOG:
            az_sync_on_log(sync, reply->json);
            return;
        case AZ_STEP_PUT_SETTINGS:
        case AZ_STEP_MEMORY:
            if (sync->kind == PLATFORM_SYNC_REMOVE)
                az_sync_finish(sync, NULL, NULL);
            else
                az_sync_next(sync);
            return;
        case AZ_STEP_DELETE: /* then the notebook's settings go too: the app is free for another function */
            sync->step = AZ_STEP_PUT_SETTINGS;
            az_sync_call(sync);
            return;
        }
    }
    if (reply->status == 404 && sync->step == AZ_STEP_FUNCTION) {
        sync->function_exists = 0;
        az_sync_decide(sync);
        return;
    }
    if (sync->step == AZ_STEP_LOG) { /* the log could not be read: the failure without it */
        az_sync_finish(sync, "DeploymentFailed", sync->failure);
        return;
    }
    double wait = az_retryable(reply) ? retry_delay_ms(&az_retry, sync->retries, reply->retry_after_ms) : -1;
    if (wait >= 0 && sync->step != AZ_STEP_UPLOAD) {
        sync->retries++;
        az_sync_later(sync, (long long)wait);
        return;
    }
    snprintf(message, sizeof message, "%s %s: %s", az_step_names[sync->step], sync->name, reply->message);
    az_sync_finish(sync, reply->error_type, message);
}

/* The app settings to write: the app's own kept, the notebook's env= and records set (a delete removes them). */
static json_t *az_sync_settings_body(const struct az_sync *sync)
{
    json_t *properties = json_deep_copy(sync->settings ? sync->settings : json_object());
    const char *keys = az_setting(sync, AZ_SETTING_ENV_KEYS);
    for (const char *p = keys ? keys : ""; *p;) { /* the notebook's previous env= */
        size_t n = strcspn(p, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), p);
        json_object_del(properties, name);
        p += n + (p[n] == ',');
    }
    if (sync->kind == PLATFORM_SYNC_REMOVE) {
        static const char *const ours[] = {AZ_SETTING_CODE, AZ_SETTING_TIMEOUT, AZ_SETTING_FUNCTION,
                                           AZ_SETTING_ENV_KEYS};
        for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
            json_object_del(properties, ours[i]);
        return json_pack("{s:o}", "properties", properties);
    }
    struct buffer names = {0};
    const char *key;
    json_t *value;
    json_object_foreach(sync->env, key, value) {
        json_object_set(properties, key, value);
        buffer_printf(&names, "%s%s", names.size ? "," : "", key);
    }
    buffer_append(&names, "", 1);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", sync->timeout_s);
    json_object_set_new(properties, AZ_SETTING_CODE, json_string(sync->code_hash));
    json_object_set_new(properties, AZ_SETTING_TIMEOUT, json_string(timeout));
    json_object_set_new(properties, AZ_SETTING_FUNCTION, json_string(sync->name));
    json_object_set_new(properties, AZ_SETTING_ENV_KEYS, json_string(names.failed ? "" : (char *)names.data));
    buffer_free(&names);
    return json_pack("{s:o}", "properties", properties);
}

static void az_sync_call(struct az_sync *sync)
{
    char message[1200] = "", *url = NULL, *text = NULL;
    json_t *body = NULL;
    struct az_call call = {.service = AZ_ARM, .method = "GET", .timeout_ms = AZ_CONTROL_TIMEOUT_MS};
    int built = 1;
    switch (sync->step) {
    case AZ_STEP_SITE:
        built = asprintf(&url, "%s?api-version=" AZ_API_VERSION, sync->site) >= 0;
        break;
    case AZ_STEP_SETTINGS:
        call.method = "POST";
        built = asprintf(&url, "%s/config/appsettings/list?api-version=" AZ_API_VERSION, sync->site) >= 0;
        break;
    case AZ_STEP_FUNCTION:
    case AZ_STEP_DELETE:
        call.method = sync->step == AZ_STEP_FUNCTION ? "GET" : "DELETE";
        built = asprintf(&url, "%s/functions/%s?api-version=" AZ_API_VERSION, sync->site, sync->name) >= 0;
        break;
    case AZ_STEP_UPLOAD:
        call = (struct az_call){.service = AZ_KUDU, .method = "POST", .content_type = "application/zip",
                                .body = sync->zip, .body_size = sync->zip_size, .timeout_ms = AZ_UPLOAD_TIMEOUT_MS};
        /* Flex Consumption apps take One Deploy instead of zip deploy; both answer a deployment to poll */
        built = asprintf(&url, sync->flex ? "%s/api/publish?RemoteBuild=false" : "%s/api/zipdeploy?isAsync=true",
                         sync->scm) >= 0;
        break;
    case AZ_STEP_POLL:
    case AZ_STEP_LOG:
        call.service = AZ_KUDU;
        built = (url = strdup(sync->location)) != NULL;
        break;
    case AZ_STEP_PUT_SETTINGS:
        call.method = "PUT";
        body = az_sync_settings_body(sync);
        built = body != NULL && asprintf(&url, "%s/config/appsettings?api-version=" AZ_API_VERSION, sync->site) >= 0;
        break;
    case AZ_STEP_MEMORY:
        call.method = "PATCH";
        body = json_pack("{s:{s:{s:{s:i}}}}", "properties", "functionAppConfig", "scaleAndConcurrency",
                         "instanceMemoryMB", az_wanted_memory(sync));
        built = body != NULL && asprintf(&url, "%s?api-version=" AZ_API_VERSION, sync->site) >= 0;
        break;
    }
    if (!built)
        url = NULL;
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        call.content_type = "application/json";
        call.body = text;
        call.body_size = text ? strlen(text) : 0;
        built = built && text != NULL;
    }
    call.url = url;
    int rc = built ? az_client_send(sync->platform->client, &call, az_sync_on_reply, sync, message, sizeof message)
                   : (snprintf(message, sizeof message, "out of memory"), -1);
    if (text != NULL) /* the settings body holds the app's settings: wiped */
        sodium_memzero(text, strlen(text));
    free(text);
    free(url);
    if (rc < 0)
        az_sync_finish(sync, built ? "NoCredentials" : "OutOfMemory", message);
}

/* Checks what needs no call: memory sizes, the image and arch options. 0, or -1 with MESSAGE. */
static int az_check_limits(const struct platform_function *function, char *message, size_t size)
{
    int known = function->memory_mb == AZ_DEFAULT_MEMORY;
    for (size_t i = 0; i < sizeof az_flex_sizes / sizeof az_flex_sizes[0]; i++)
        known |= function->memory_mb == az_flex_sizes[i];
    if (!known) {
        snprintf(message, size, "memory=%d: Azure Functions sets memory only on Flex Consumption apps, whose instances "
                 "have 512, 2048 or 4096 MB (leave memory= out for the plan's own)", function->memory_mb);
        return -1;
    }
    if (function->image != NULL) {
        snprintf(message, size, "image= is for aws: Azure Functions are deployed here from the zip");
        return -1;
    }
    if (function->arch != NULL && strcmp(function->arch, "x86_64") != 0) {
        snprintf(message, size, "arch=%s: Azure Functions' Python apps run on x86_64 here", function->arch);
        return -1;
    }
    if (function->max_instances > 0) {
        snprintf(message, size, "max_instances= is for gcf: set an Azure app's scale limit in the portal");
        return -1;
    }
    return 0;
}

/* The sync operation (platform.h): each kind is the same steps, read the function, compare, send what differs. */
static int az_sync(void *self, enum platform_sync kind, const struct platform_function *requested,
                   platform_done_fn done, void *ctx)
{
    struct az_platform *platform = self;
    struct platform_function limited = *requested; /* set_memory and remove name only the function */
    if (kind == PLATFORM_SYNC_SET_MEMORY || kind == PLATFORM_SYNC_REMOVE)
        limited.timeout_s = 30;
    if (kind == PLATFORM_SYNC_REMOVE)
        limited.memory_mb = AZ_DEFAULT_MEMORY;
    const struct platform_function *function = &limited;
    char message[900];
    if (az_client_ready(platform->client, message, sizeof message) < 0) {
        az_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    if (az_check_limits(function, message, sizeof message) < 0) {
        az_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    int needs_code = kind == PLATFORM_SYNC_DEPLOY || kind == PLATFORM_SYNC_CONFIGURE || kind == PLATFORM_SYNC_VERIFY;
    if (needs_code && function->package == NULL) {
        az_fail(done, ctx, "NoPackage", "the azure platform needs the package to compare with the deployed code");
        return 0;
    }
    struct az_sync *sync = calloc(1, sizeof *sync);
    if (sync == NULL) {
        az_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        return 0;
    }
    *sync = (struct az_sync){.platform = platform, .kind = kind, .step = AZ_STEP_SITE, .done = done, .ctx = ctx,
                             .memory_mb = function->memory_mb, .timeout_s = function->timeout_s};
    list_init(&sync->node);
    /* set_memory and remove find the app the function went into; a cell's run goes where %platform says */
    int remembered = kind == PLATFORM_SYNC_SET_MEMORY || kind == PLATFORM_SYNC_REMOVE;
    if (az_names(platform, function->name, remembered, &sync->app, &sync->name, message, sizeof message) < 0 ||
        az_site_path(platform, sync->app, &sync->site, message, sizeof message) < 0) {
        az_fail(done, ctx, "InvalidOption", message);
        az_sync_free(sync);
        return 0;
    }
    sync->env = function->env ? json_deep_copy(function->env) : json_object();
    sync->scm = az_credentials_scm_url(az_client_credentials(platform->client), sync->app);
    if (sync->env == NULL || sync->scm == NULL) {
        az_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        az_sync_free(sync);
        return 0;
    }
    if (needs_code) {
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, function->package, function->package_size);
        sodium_bin2hex(sync->code_hash, sizeof sync->code_hash, digest, sizeof digest);
        if (az_build_zip(function, sync->name, &sync->zip, &sync->zip_size, message, sizeof message) < 0) {
            az_fail(done, ctx, "InvalidPackage", message);
            az_sync_free(sync);
            return 0;
        }
    }
    list_push_front(&platform->syncs, &sync->node);
    az_sync_call(sync);
    return 0;
}

static int az_check(void *self, char *err, size_t err_size)
{
    struct az_platform *platform = self;
    if (az_client_ready(platform->client, err, err_size) < 0)
        return -1;
    const struct az_credentials *c = az_client_credentials(platform->client);
    if (!az_credentials_has_principal(c)) {
        snprintf(err, err_size, "deploying to Azure reads and writes the app through Azure Resource Manager, which "
                 "needs a service principal: set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID before "
                 "starting Jupyter (the publish profile reaches only Kudu)");
        return -1;
    }
    char *site = NULL; /* the subscription and the group are there (any app name makes the path) */
    int rc = az_site_path(platform, "app", &site, err, err_size);
    free(site);
    return rc;
}

/* ---- invoke ---- */

struct az_invoke {
    struct az_platform *platform;
    platform_done_fn done;
    void *ctx;
    unsigned flags;
    char *app, *name, *body, *url, *site;
    const char *key_from;        /* where the key came from, for a 401 */
    int key_retried;             /* a 401 with a cached key: read it again once */
    struct az_invoke *next_waiting; /* in its key's waiting list */
};

static void az_invoke_free(struct az_invoke *invoke)
{
    free(invoke->app);
    free(invoke->name);
    free(invoke->body);
    free(invoke->url);
    free(invoke->site);
    free(invoke);
}

static void az_invoke_fail(struct az_invoke *invoke, const char *type, const char *message)
{
    az_fail(invoke->done, invoke->ctx, type, message);
    az_invoke_free(invoke);
}

static void az_invoke_send(struct az_invoke *invoke, const char *key);
static void az_invoke_key(struct az_invoke *invoke);

static void az_on_invoked(void *ctx, const struct az_reply *reply)
{
    struct az_invoke *invoke = ctx;
    struct platform_outcome outcome = {0};
    json_t *result = NULL, *traceback = NULL;
    char message[2600];
    const struct http_response *http = reply->http;
    if (invoke->platform->closing) {
        az_invoke_fail(invoke, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->status == 401 && !invoke->key_retried && credfile_env("AZURE_FUNCTION_KEY") == NULL) { /* the cached key may have been renewed: read it again */
        struct az_key *k = az_key_find(invoke->platform, invoke->app, invoke->name, 0);
        if (k != NULL) {
            credfile_wipe_free(k->value);
            k->value = NULL;
        }
        invoke->key_retried = 1;
        az_invoke_key(invoke);
        return;
    }
    const struct az_key *known = az_key_find(invoke->platform, invoke->app, invoke->name, 0);
    if (http != NULL) {
        outcome.sent_ms = http->sent_ms;
        outcome.received_ms = http->received_ms;
        outcome.round_trip_ms = http->total_ms;
        if (http->error == NULL && http->body_size > 0)
            result = json_loadb(http->body, http->body_size, JSON_DECODE_ANY, NULL);
        if (result == NULL && http->error == NULL && http->body_size > 0) /* not JSON: the text is the result */
            result = json_stringn(http->body, http->body_size);
    }
    if (reply->ok) {
        outcome.ok = 1;
        outcome.result = result ? result : json_null();
    } else if (http != NULL && http_response_header(http, SHIM_ERROR_HEADER) != NULL) {
        shim_error_outcome(result, invoke->flags, &outcome, &traceback);
    } else if (reply->status == 401) {
        snprintf(message, sizeof message, "the function app %s refused the function key for %s (HTTP 401); the key "
                 "came from %s: %s", invoke->app, invoke->name, invoke->key_from,
                 strcmp(invoke->key_from, "ARM's listkeys") == 0
                     ? "the function's keys were read just now, so the app does not take them: check the app's "
                       "Function Keys page"
                     : "give the function's key (its Function Keys page, or `az functionapp function keys list`), or "
                       "leave the setting out to read it through ARM");
        outcome.error_type = "Unauthenticated";
        outcome.message = message;
    } else if (reply->status == 429 || reply->status == 502 || reply->status == 503) {
        snprintf(message, sizeof message, "the function app %s is busy (HTTP %ld)", invoke->app, reply->status);
        outcome.error_type = reply->status == 429 ? "TooManyRequests" : "ServiceUnavailable";
        outcome.message = message;
        outcome.throttled = 1;
        outcome.retry_after_ms = reply->retry_after_ms;
    } else if (reply->status == 504 || (reply->status == 500 && known != NULL && known->timeout_s > 0 &&
                                        http->total_ms >= known->timeout_s * 1000.0 * 0.95)) {
        char limit[32] = "";
        if (known != NULL && known->timeout_s > 0)
            snprintf(limit, sizeof limit, " of %d s", known->timeout_s);
        snprintf(message, sizeof message, "%s did not answer within its timeout%s (host.json's functionTimeout); "
                 "raise timeout= in its cell", invoke->name, limit);
        outcome.error_type = "FunctionTimeout";
        outcome.message = message;
    } else if (reply->status == 500) {
        snprintf(message, sizeof message, "the function app %s failed before %s answered (out of memory, its worker "
                 "ended, or a function that does not load): see the app's log stream or Application Insights",
                 invoke->app, invoke->name);
        outcome.error_type = "FunctionCrashed";
        outcome.message = message;
    } else if (reply->status == 404) {
        snprintf(message, sizeof message, "%s is not deployed on azure (the app %s has no function %s): run its "
                 "%%%%cloud_function cell, or link an existing one with deploy=false remote=APP/NAME", invoke->name,
                 invoke->app, invoke->name);
        outcome.error_type = "NotFound";
        outcome.message = message;
    } else {
        outcome.error_type = reply->error_type;
        outcome.message = reply->message;
        outcome.throttled = reply->status >= 500;
    }
    invoke->done(invoke->ctx, &outcome);
    json_decref(result);
    json_decref(traceback);
    az_invoke_free(invoke);
}

static void az_invoke_send(struct az_invoke *invoke, const char *key)
{
    char message[900];
    struct az_call call = {.service = AZ_APP, .method = "POST", .url = invoke->url,
                           .content_type = "application/json", .body = invoke->body,
                           .body_size = strlen(invoke->body), .function_key = key,
                           .timeout_ms = AZ_INVOKE_TIMEOUT_MS};
    if (az_client_send(invoke->platform->client, &call, az_on_invoked, invoke, message, sizeof message) < 0) {
        az_invoke_fail(invoke, "NoCredentials", message);
        return;
    }
}

/* An Event call's answer, which nobody waits for: a failure goes to the kernel's log. */
static void az_event_ended(void *ctx, const struct platform_outcome *outcome)
{
    char *name = ctx;
    if (!outcome->ok)
        log_warn("azure: the Event call of %s failed: %s: %.300s", name ? name : "a function",
                 outcome->error_type ? outcome->error_type : "", outcome->message ? outcome->message : "");
    free(name);
}

/* Hands the key K's waiting calls: KEY (send), or TYPE and MESSAGE (fail). */
static void az_key_wake(struct az_key *k, const char *key, const char *type, const char *message)
{
    struct az_invoke *waiting = k->waiting;
    k->waiting = NULL;
    while (waiting != NULL) {
        struct az_invoke *next = waiting->next_waiting;
        if (k->platform->closing)
            az_invoke_fail(waiting, "KernelStopping", "the kernel is shutting down");
        else if (key != NULL)
            az_invoke_send(waiting, key);
        else
            az_invoke_fail(waiting, type, message);
        waiting = next;
    }
}

/* ARM's listkeys answered: the key kept, and the calls waiting for it sent. */
static void az_on_keys(void *ctx, const struct az_reply *reply)
{
    struct az_key *k = ctx; /* keys live until the platform is freed, after its client */
    char message[2400] = "";
    const char *key = json_string_value(json_object_get(reply->json, "default"));
    k->fetching = 0;
    if (reply->ok && key != NULL) {
        credfile_wipe_free(k->value);
        k->value = strdup(key);
    } else if (reply->status == 404)
        snprintf(message, sizeof message, "%s is not deployed on azure (the app %s has no function %s): run its "
                 "%%%%cloud_function cell, or link an existing one with deploy=false remote=APP/NAME", k->name, k->app,
                 k->name);
    else
        snprintf(message, sizeof message, "reading the function key of %s: %s", k->name,
                 reply->ok ? "ARM's listkeys answer has no default key; set AZURE_FUNCTION_KEY to one of its keys"
                           : reply->message);
    az_key_wake(k, k->value, reply->status == 404 ? "NotFound" : reply->ok ? "NoFunctionKey" : reply->error_type,
                message[0] ? message : "out of memory");
}

/* Starts ARM's listkeys for K (one at a time per function); a failure to start fails its waiting calls. */
static void az_key_fetch(struct az_platform *platform, struct az_key *k)
{
    char message[900], *site = NULL, *url = NULL;
    if (k->fetching)
        return;
    if (az_site_path(platform, k->app, &site, message, sizeof message) == 0 &&
        asprintf(&url, "%s/functions/%s/listkeys?api-version=" AZ_API_VERSION, site, k->name) < 0) {
        url = NULL;
        snprintf(message, sizeof message, "out of memory");
    }
    struct az_call call = {.service = AZ_ARM, .method = "POST", .url = url, .timeout_ms = AZ_CONTROL_TIMEOUT_MS};
    k->fetching = url != NULL && az_client_send(platform->client, &call, az_on_keys, k, message, sizeof message) == 0;
    free(site);
    free(url);
    if (!k->fetching)
        az_key_wake(k, NULL, "NoFunctionKey", message);
}

/* Finds the key: AZURE_FUNCTION_KEY, the cache, else ARM's listkeys (calls wait for the one in flight). */
static void az_invoke_key(struct az_invoke *invoke)
{
    struct az_platform *platform = invoke->platform;
    const char *env = credfile_env("AZURE_FUNCTION_KEY");
    if (env != NULL) {
        invoke->key_from = "AZURE_FUNCTION_KEY";
        az_invoke_send(invoke, env);
        return;
    }
    invoke->key_from = "ARM's listkeys";
    struct az_key *k = az_key_find(platform, invoke->app, invoke->name, 1);
    if (k == NULL) {
        az_invoke_fail(invoke, "OutOfMemory", "cannot start the call");
        return;
    }
    if (k->value != NULL) {
        az_invoke_send(invoke, k->value);
        return;
    }
    invoke->next_waiting = k->waiting;
    k->waiting = invoke;
    az_key_fetch(platform, k);
}

static int az_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                     void *ctx)
{
    struct az_platform *platform = self;
    char message[900];
    if (az_client_ready(platform->client, message, sizeof message) < 0) {
        az_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    struct az_invoke *invoke = calloc(1, sizeof *invoke);
    if (invoke == NULL) {
        az_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    *invoke = (struct az_invoke){.platform = platform, .done = done, .ctx = ctx, .flags = flags};
    if (az_names(platform, name, 1, &invoke->app, &invoke->name, message, sizeof message) < 0) {
        az_invoke_fail(invoke, "InvalidOption", message);
        return 0;
    }
    char *base = az_credentials_app_url(az_client_credentials(platform->client), invoke->app);
    invoke->body = json_dumps(payload ? payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    if (base == NULL || invoke->body == NULL || asprintf(&invoke->url, "%s/api/%s", base, invoke->name) < 0) {
        invoke->url = NULL;
        free(base);
        az_invoke_fail(invoke, "OutOfMemory", "cannot start the call");
        return 0;
    }
    free(base);
    if ((long)strlen(invoke->body) > AZ_PAYLOAD_MAX) {
        snprintf(message, sizeof message, "the request is %zu bytes; the Functions host takes at most 100 MB",
                 strlen(invoke->body));
        az_invoke_fail(invoke, "RequestTooLarge", message);
        return 0;
    }
    if (flags & PLATFORM_INVOKE_EVENT) { /* the answer, when it comes, is only logged */
        char *id = strdup(invoke->name);
        platform_done_fn caller = done;
        void *caller_ctx = ctx;
        invoke->done = az_event_ended;
        invoke->ctx = id;
        invoke->flags &= ~PLATFORM_INVOKE_EVENT;
        json_t *accepted = json_pack("{s:i}", "StatusCode", 202);
        struct platform_outcome outcome = {.ok = 1, .result = accepted};
        az_invoke_key(invoke);
        caller(caller_ctx, &outcome);
        json_decref(accepted);
        return 0;
    }
    az_invoke_key(invoke);
    return 0;
}

/* ---- experiments: connections and the key ahead ---- */

static size_t az_prepare(void *self, const char *function, size_t count)
{
    struct az_platform *platform = self;
    char err[600], *app = NULL, *name = NULL;
    if (az_client_ready(platform->client, err, sizeof err) < 0 ||
        az_names(platform, function, 1, &app, &name, err, sizeof err) < 0)
        return 0; /* the calls will say why */
    if (credfile_env("AZURE_FUNCTION_KEY") == NULL) { /* the key, read ahead */
        struct az_key *k = az_key_find(platform, app, name, 1);
        if (k != NULL && k->value == NULL)
            az_key_fetch(platform, k);
    }
    char *base = az_credentials_app_url(az_client_credentials(platform->client), app);
    size_t opened = base != NULL ? az_client_prepare(platform->client, base, count) : 0;
    free(base);
    free(app);
    free(name);
    return opened;
}

static size_t az_preparing(void *self, const char *function)
{
    struct az_platform *platform = self;
    char err[600], *app = NULL, *name = NULL;
    if (az_client_credentials(platform->client) == NULL || az_names(platform, function, 1, &app, &name, err, sizeof err) < 0)
        return 0;
    struct az_key *k = az_key_find(platform, app, name, 0);
    char *base = az_credentials_app_url(az_client_credentials(platform->client), app);
    size_t waiting = (k != NULL && k->fetching) + (base != NULL ? az_client_preparing(platform->client, base) : 0);
    free(base);
    free(app);
    free(name);
    return waiting;
}

/* ---- settings ---- */

static int az_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct az_platform *platform = self;
    struct az_credentials_options options = {0};
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (text == NULL) {
            snprintf(err, err_size, "%s must be a string", key);
            return -1;
        }
        if (strcmp(key, "app") == 0)
            options.app = text;
        else if (strcmp(key, "resource_group") == 0)
            options.resource_group = text;
        else if (strcmp(key, "subscription") == 0)
            options.subscription = text;
        else if (strcmp(key, "publish_profile") == 0)
            options.publish_profile = text;
        else if (strcmp(key, "management") == 0)
            options.management = text;
        else if (strcmp(key, "app_url") == 0)
            options.app_url = text;
        else if (strcmp(key, "scm_url") == 0)
            options.scm_url = text;
        else if (strcmp(key, "function_key") == 0) {
            snprintf(err, err_size, "the function key never goes in the notebook (its cells are kept in the history "
                     "file): set AZURE_FUNCTION_KEY before starting Jupyter, or leave it out to read the key through "
                     "ARM");
            return -1;
        } else {
            snprintf(err, err_size, "unknown setting '%s' for azure; it knows app, resource_group, subscription, "
                     "publish_profile, management, app_url and scm_url", key);
            return -1;
        }
    }
    if (options.app != NULL && options.app[0] && !az_valid_app(options.app)) {
        snprintf(err, err_size, "app=%.80s is not a function app name (2 to 60 letters, digits and -)", options.app);
        return -1;
    }
    if (az_client_set(platform->client, &options, err, err_size) < 0) /* each line gives all */
        return -1;
    az_keys_wipe(platform);
    if (az_client_ready(platform->client, err, err_size) < 0)
        return -1;
    az_client_describe(platform->client, err, err_size);
    buffer_appendf_fixed(err, err_size, "; function keys %s", credfile_env("AZURE_FUNCTION_KEY") != NULL
                         ? "from AZURE_FUNCTION_KEY" : "from ARM's listkeys");
    return 0;
}

void *az_platform_new(struct reactor *reactor)
{
    struct az_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || (platform->client = az_client_new(reactor)) == NULL) {
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    list_init(&platform->syncs);
    return platform;
}

static void az_free(void *self)
{
    struct az_platform *platform = self;
    platform->closing = 1;
    az_client_free(platform->client); /* the calls in flight end, and their syncs and invokes with them */
    struct list_node *waiting;        /* those waiting to retry or poll */
    while ((waiting = list_first(&platform->syncs)) != NULL)
        az_sync_finish(list_entry(waiting, struct az_sync, node), "KernelStopping", "the kernel is shutting down");
    az_keys_forget(platform);
    free(platform);
}

const struct platform_ops az_platform_ops = {
    .name = "azure",
    .check = az_check,
    .sync = az_sync,
    .verifies = 1,
    .invoke = az_invoke,
    .prepare = az_prepare,
    .preparing = az_preparing,
    .apply_settings = az_apply_settings,
    .free = az_free,
};
