/* heartbeat: echo thread for the hb channel (see heartbeat.h). */
#include "heartbeat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

struct heartbeat {
    void *socket;
    pthread_t thread;
};

static void *heartbeat_run(void *arg)
{
    struct heartbeat *heartbeat = arg;
    zmq_proxy(heartbeat->socket, heartbeat->socket, NULL); /* returns on context shutdown */
    zmq_close(heartbeat->socket);
    return NULL;
}

struct heartbeat *heartbeat_start(void *context, const char *endpoint, char *err, unsigned long err_size)
{
    struct heartbeat *heartbeat = calloc(1, sizeof *heartbeat);
    if (heartbeat == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    heartbeat->socket = zmq_socket(context, ZMQ_ROUTER);
    int linger = 0;
    if (heartbeat->socket == NULL ||
        zmq_setsockopt(heartbeat->socket, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(heartbeat->socket, endpoint) < 0) {
        snprintf(err, err_size, "cannot bind heartbeat to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        if (heartbeat->socket != NULL)
            zmq_close(heartbeat->socket);
        free(heartbeat);
        return NULL;
    }
    if (pthread_create(&heartbeat->thread, NULL, heartbeat_run, heartbeat) != 0) {
        snprintf(err, err_size, "cannot start the heartbeat thread");
        zmq_close(heartbeat->socket);
        free(heartbeat);
        return NULL;
    }
    return heartbeat;
}

void heartbeat_join(struct heartbeat *heartbeat)
{
    if (heartbeat == NULL)
        return;
    pthread_join(heartbeat->thread, NULL);
    free(heartbeat);
}
