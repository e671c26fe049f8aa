/* server: the kernel process's event loop. It binds the five Jupyter
 * sockets from the connection file, runs the heartbeat thread, and polls the
 * shell, control and stdin sockets, a signal self-pipe and the reactor's
 * one fd (the local runtime's pipes, the platforms' sockets and workers) on
 * one thread, handing everything to the dispatcher. It is the
 * only owner of the ZeroMQ sockets (they are not thread safe). */
#ifndef FAASET_SERVER_H
#define FAASET_SERVER_H

struct server_options {
    const char *connection_file;
    const char *python;
    const char *interrupt_mode;
};

/* Runs until a shutdown_request or SIGTERM. Returns the process exit code. */
int server_run(const struct server_options *options);

#endif
