/*
 * The master <-> worker control channel: an AF_UNIX SOCK_SEQPACKET
 * socketpair, so every message keeps its boundaries.  Messages are text:
 * a verb, a space, and an optional payload.
 *   worker -> master: "ready", "error <reason>", "crash <job> <step> <sig>",
 *                     "metrics <json>", "draining", "run-done <id>"
 *   master -> worker: "drain", "wake"
 */
#ifndef HOST_CONTROL_H
#define HOST_CONTROL_H

#include <stddef.h>

#define CONTROL_MAX_MESSAGE (256 * 1024)

/* fds[0] for the master, fds[1] for the worker; both close-on-exec. */
int control_pair(int fds[2]);
/* Sends one message; 0 or -1 (errno set).  Never blocks for long: the
 * socket buffer is large and messages are small. */
int control_send(int fd, const char *verb, const char *payload);
/* Receives one message into buf (NUL-terminated).  Returns its length,
 * 0 on EOF, -1 on error (errno EAGAIN when non-blocking and empty).
 * *payload points after the verb's space (or at "" when none). */
long control_recv(int fd, char *buf, size_t buflen, const char **payload);
/* Async-signal-safe: formats and sends "crash <job> <step> <sig>". */
void control_send_crash_signal_safe(int fd, long long job, int step, int sig);

#endif
