/* heartbeat: the hb channel. A thread echoes every message straight back on a
 * ROUTER socket (zmq_proxy with the socket as both ends), so the frontend sees
 * the kernel alive even while a cell keeps the main loop busy. */
#ifndef FAASET_HEARTBEAT_H
#define FAASET_HEARTBEAT_H

struct heartbeat;

/* Binds ENDPOINT in CONTEXT and starts the echo thread. Returns NULL with ERR on failure. */
struct heartbeat *heartbeat_start(void *context, const char *endpoint, char *err, unsigned long err_size);

/* Stops the thread. Call after zmq_ctx_shutdown(CONTEXT), which ends the proxy. */
void heartbeat_join(struct heartbeat *heartbeat);

#endif
