/* connection: the Jupyter connection file (transport, ip, five ports, key,
 * signature scheme) read and checked, and the ZeroMQ endpoint of each socket.
 * The key is a secret: it lives here and in wire's signer, and is never logged. */
#ifndef FAASET_CONNECTION_H
#define FAASET_CONNECTION_H

#include <stddef.h>

enum connection_channel { CHANNEL_SHELL, CHANNEL_CONTROL, CHANNEL_STDIN, CHANNEL_IOPUB, CHANNEL_HB, CHANNEL_COUNT };

struct connection_info {
    char transport[8];          /* "tcp" or "ipc" */
    char ip[256];               /* address, or the ipc path prefix */
    int ports[CHANNEL_COUNT];
    char *key;                  /* signing key bytes (may be empty: unsigned) */
    size_t key_len;
};

/* Reads and validates PATH. Returns 0, or -1 with a readable reason in ERR. */
int connection_load(const char *path, struct connection_info *info, char *err, size_t err_size);

/* Writes the endpoint of CHANNEL ("tcp://127.0.0.1:5555" or "ipc://kernel-ipc-5555"). */
void connection_endpoint(const struct connection_info *info, enum connection_channel channel,
                         char *out, size_t out_size);

const char *connection_channel_name(enum connection_channel channel);

/* Wipes and frees the key. */
void connection_free(struct connection_info *info);

#endif
