#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int control_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        return -1;
    /* Metrics snapshots can be tens of KiB; make room so sends never
     * block the worker's main thread. */
    int size = 4 * CONTROL_MAX_MESSAGE;
    for (int i = 0; i < 2; i++) {
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    return 0;
}

int control_send(int fd, const char *verb, const char *payload)
{
    char buf[CONTROL_MAX_MESSAGE];
    int n = snprintf(buf, sizeof buf, "%s%s%s", verb, payload ? " " : "",
                     payload ? payload : "");
    if (n < 0 || (size_t)n >= sizeof buf) {
        errno = EMSGSIZE;
        return -1;
    }
    ssize_t w;
    do {
        w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    return w == n ? 0 : -1;
}

long control_recv(int fd, char *buf, size_t buflen, const char **payload)
{
    ssize_t n;
    do {
        n = recv(fd, buf, buflen - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n;
    buf[n] = '\0';
    char *sp = strchr(buf, ' ');
    if (sp) {
        *sp = '\0';
        *payload = sp + 1;
    } else {
        *payload = buf + n;
    }
    return n;
}

/* Writes the decimal form of v at the end of a buffer; returns start. */
static char *format_ll(char *end, long long v)
{
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *--end = '\0';
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

static size_t append(char *dst, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        dst[at++] = *s++;
    return at;
}

void control_send_crash_signal_safe(int fd, long long job, int step, int sig)
{
    char msg[96], num[32];
    size_t at = append(msg, 0, sizeof msg, "crash ");
    at = append(msg, at, sizeof msg, format_ll(num + sizeof num, job));
    at = append(msg, at, sizeof msg, " ");
    at = append(msg, at, sizeof msg, format_ll(num + sizeof num, step));
    at = append(msg, at, sizeof msg, " ");
    at = append(msg, at, sizeof msg, format_ll(num + sizeof num, sig));
    (void)!send(fd, msg, at, MSG_NOSIGNAL | MSG_DONTWAIT);
}
