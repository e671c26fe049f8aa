/* gcf_metadata: is this machine on Google (see gcf_metadata.h). Reads
 * environment variables and two DMI files; never the network. */
#include "gcf_metadata.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "credfile.h"

#define GCF_METADATA_DEFAULT_HOST "metadata.google.internal"

/* 1 when the first line of the DMI file PATH starts with "Google". */
static int gcf_metadata_dmi_says_google(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    char line[128] = "";
    int google = fgets(line, sizeof line, file) != NULL && strncmp(line, "Google", 6) == 0;
    fclose(file);
    return google;
}

int gcf_metadata_detect(char *host, size_t host_size, char *why, size_t why_size)
{
    const char *detection = credfile_env("METADATA_SERVER_DETECTION");
    const char *named = credfile_env("GCE_METADATA_HOST");
    if (named == NULL)
        named = credfile_env("GCE_METADATA_IP");
    snprintf(host, host_size, "%s", named != NULL ? named : GCF_METADATA_DEFAULT_HOST);
    if (detection != NULL && strcasecmp(detection, "none") == 0) {
        snprintf(why, why_size, "METADATA_SERVER_DETECTION=none");
        return 0;
    }
    if (named != NULL) {
        snprintf(why, why_size, "%s names it",
                 credfile_env("GCE_METADATA_HOST") != NULL ? "GCE_METADATA_HOST" : "GCE_METADATA_IP");
        return 1;
    }
    if (detection != NULL && strcasecmp(detection, "assume-present") == 0) {
        snprintf(why, why_size, "METADATA_SERVER_DETECTION=assume-present");
        return 1;
    }
    if (gcf_metadata_dmi_says_google("/sys/class/dmi/id/product_name") ||
        gcf_metadata_dmi_says_google("/sys/class/dmi/id/bios_vendor")) {
        snprintf(why, why_size, "this machine is a Google Compute Engine VM");
        return 1;
    }
    if (credfile_env("K_SERVICE") != NULL && credfile_env("K_REVISION") != NULL) {
        snprintf(why, why_size, "this runs on Cloud Run (K_SERVICE is set)");
        return 1;
    }
    snprintf(why, why_size, "this machine is not on Google, so its metadata server was not asked");
    return 0;
}
