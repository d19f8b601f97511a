/* The control channel: message boundaries, verb/payload split, EOF, size
 * limit and the async-signal-safe crash report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"

static char buf[CONTROL_MAX_MESSAGE];

static int setup_pair(void **state)
{
    int *fds = malloc(2 * sizeof *fds);
    if (!fds || control_pair(fds) != 0) {
        free(fds);
        return -1;
    }
    *state = fds;
    return 0;
}

static int teardown_pair(void **state)
{
    int *fds = *state;
    close(fds[0]);
    close(fds[1]); /* EBADF when a test closed it already: harmless */
    free(fds);
    return 0;
}

/* Receives one message and checks verb, payload and length. */
static void expect_message(int fd, const char *verb, const char *payload)
{
    const char *p = NULL;
    long n = control_recv(fd, buf, sizeof buf, &p);
    size_t want_len = strlen(verb) + (*payload ? 1 + strlen(payload) : 0);
    if (n < 0)
        fail_msg("control_recv: %s", strerror(errno));
    assert_int_equal(n, (long)want_len);
    assert_string_equal(buf, verb);
    assert_non_null(p);
    assert_string_equal(p, payload);
}

static void test_pair_is_cloexec_and_seqpacket(void **state)
{
    int *fds = *state;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(fds[i], F_GETFD);
        assert_true(flags >= 0);
        assert_true(flags & FD_CLOEXEC);
        int type = 0;
        socklen_t len = sizeof type;
        assert_int_equal(getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &len),
                         0);
        assert_int_equal(type, SOCK_SEQPACKET);
    }
}

static void test_two_sends_two_recvs(void **state)
{
    int *fds = *state;
    assert_int_equal(control_send(fds[1], "ready", NULL), 0);
    assert_int_equal(control_send(fds[1], "run-done", "17"), 0);
    expect_message(fds[0], "ready", "");
    expect_message(fds[0], "run-done", "17");
    /* Nothing else is queued. */
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    const char *p;
    errno = 0;
    assert_int_equal(control_recv(fds[0], buf, sizeof buf, &p), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_both_directions(void **state)
{
    int *fds = *state;
    assert_int_equal(control_send(fds[0], "drain", NULL), 0);
    assert_int_equal(control_send(fds[0], "wake", NULL), 0);
    expect_message(fds[1], "drain", "");
    expect_message(fds[1], "wake", "");
}

static void test_payload_split_at_first_space(void **state)
{
    int *fds = *state;
    assert_int_equal(control_send(fds[1], "error", "pass `x`: cannot load"), 0);
    assert_int_equal(control_send(fds[1], "metrics", "{\"a\": [1, 2]}"), 0);
    assert_int_equal(control_send(fds[1], "error", ""), 0);
    expect_message(fds[0], "error", "pass `x`: cannot load");
    expect_message(fds[0], "metrics", "{\"a\": [1, 2]}");
    /* An empty payload still travels with its separating space. */
    const char *p = NULL;
    assert_int_equal(control_recv(fds[0], buf, sizeof buf, &p), 6);
    assert_string_equal(buf, "error");
    assert_string_equal(p, "");
}

static void test_eof_after_peer_closes(void **state)
{
    int *fds = *state;
    assert_int_equal(control_send(fds[1], "draining", NULL), 0);
    close(fds[1]);
    /* The queued message comes first, then EOF (repeatedly). */
    expect_message(fds[0], "draining", "");
    const char *p;
    assert_int_equal(control_recv(fds[0], buf, sizeof buf, &p), 0);
    assert_int_equal(control_recv(fds[0], buf, sizeof buf, &p), 0);
}

static void test_send_to_closed_peer_fails_without_signal(void **state)
{
    int *fds = *state;
    close(fds[0]);
    errno = 0;
    /* MSG_NOSIGNAL: EPIPE instead of a SIGPIPE that would kill us. */
    assert_int_equal(control_send(fds[1], "ready", NULL), -1);
    assert_int_equal(errno, EPIPE);
}

static void test_largest_message_round_trips(void **state)
{
    int *fds = *state;
    /* verb + space + payload = CONTROL_MAX_MESSAGE - 1 bytes: the limit. */
    size_t plen = CONTROL_MAX_MESSAGE - 1 - strlen("metrics ");
    char *payload = malloc(plen + 1);
    assert_non_null(payload);
    memset(payload, 'x', plen);
    payload[plen] = '\0';
    payload[plen - 1] = 'y';
    assert_int_equal(control_send(fds[1], "metrics", payload), 0);
    const char *p = NULL;
    long n = control_recv(fds[0], buf, sizeof buf, &p);
    assert_int_equal(n, CONTROL_MAX_MESSAGE - 1);
    assert_string_equal(buf, "metrics");
    assert_int_equal(strlen(p), plen);
    assert_int_equal(p[plen - 1], 'y');
    free(payload);
}

static void test_oversized_message_refused(void **state)
{
    int *fds = *state;
    size_t plen = CONTROL_MAX_MESSAGE - strlen("metrics ");
    char *payload = malloc(plen + 1);
    assert_non_null(payload);
    memset(payload, 'x', plen);
    payload[plen] = '\0';
    errno = 0;
    assert_int_equal(control_send(fds[1], "metrics", payload), -1);
    assert_int_equal(errno, EMSGSIZE);
    free(payload);
    /* Nothing was sent: the channel still carries the next message. */
    assert_int_equal(control_send(fds[1], "ready", NULL), 0);
    expect_message(fds[0], "ready", "");
}

static void expect_crash(int *fds, long long job, int step, int sig,
                         const char *want_payload)
{
    control_send_crash_signal_safe(fds[1], job, step, sig);
    expect_message(fds[0], "crash", want_payload);
}

static void test_crash_message_format(void **state)
{
    int *fds = *state;
    expect_crash(fds, 42, 3, 11, "42 3 11");
    expect_crash(fds, 7, -1, 6, "7 -1 6");
    expect_crash(fds, 0, 0, 0, "0 0 0");
    expect_crash(fds, 9007199254740993LL, 12, 7, "9007199254740993 12 7");
    expect_crash(fds, LLONG_MAX, INT_MAX, 31,
                 "9223372036854775807 2147483647 31");
    /* Extremes whose negation overflows a signed type. */
    expect_crash(fds, LLONG_MIN, INT_MIN, 8,
                 "-9223372036854775808 -2147483648 8");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_pair, teardown_pair)
    const struct CMUnitTest tests[] = {
        T(test_pair_is_cloexec_and_seqpacket),
        T(test_two_sends_two_recvs),
        T(test_both_directions),
        T(test_payload_split_at_first_space),
        T(test_eof_after_peer_closes),
        T(test_send_to_closed_peer_fails_without_signal),
        T(test_largest_message_round_trips),
        T(test_oversized_message_refused),
        T(test_crash_message_format),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
