/* gcf_metadata: whether faaset runs on Google (Compute Engine, Cloud Run,
 * Cloud Functions, GKE) and so may take its credentials from the metadata
 * server, decided without touching the network, as Google's client
 * libraries decide it:
 *
 *   METADATA_SERVER_DETECTION=none           never;
 *   GCE_METADATA_HOST (or GCE_METADATA_IP)=HOST[:PORT]
 *                                            yes, at that address;
 *   METADATA_SERVER_DETECTION=assume-present yes;
 *   /sys/class/dmi/id/product_name or bios_vendor starting with "Google"
 *                                            yes (a Compute Engine VM);
 *   K_SERVICE and K_REVISION set             yes (Cloud Run, Cloud Functions);
 *   otherwise                                no, and nothing is sent.
 *
 * The address defaults to metadata.google.internal. The first token
 * request (gcf_credentials) is the probe: it has a short timeout, so a
 * machine that only looks like Google fails fast with a sentence. */
#ifndef FAASET_GCF_METADATA_H
#define FAASET_GCF_METADATA_H

#include <stddef.h>

/* 1 with HOST ("metadata.google.internal", or the variable's value)
 * and WHY (what said so, for messages) filled, else 0 with WHY saying why
 * the metadata server was not considered. */
int gcf_metadata_detect(char *host, size_t host_size, char *why, size_t why_size);

#endif
