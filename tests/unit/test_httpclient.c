/* The host HTTP client against a scripted local server (libmicrohttpd,
 * one thread per connection so that a slow handler blocks nobody). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpclient.h"

#define BIG_BODY 100000

static struct MHD_Daemon *server;
static int port, closed_port;
static atomic_int hits, connections, flaky_left, ratelimit_left;
static struct mf_egress_rule rules[2];
static char host_rule[64], closed_rule[64];

/* ---- the scripted server ------------------------------------------------ */

struct req_state {
    char body[256];
    size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *body, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static ssize_t big_chunks(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= BIG_BODY)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max < 1000 ? max : 1000;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

static enum MHD_Result reply_big(struct MHD_Connection *c, int chunked)
{
    struct MHD_Response *r;
    if (chunked) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                              big_chunks, NULL, NULL);
    } else {
        char *body = malloc(BIG_BODY);
        memset(body, 'x', BIG_BODY);
        r = MHD_create_response_from_buffer(BIG_BODY, body,
                                            MHD_RESPMEM_MUST_FREE);
    }
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url,
                             const char *method, struct req_state *st)
{
    char out[320];
    if (strcmp(url, "/ok") == 0)
        return reply(c, 200, "hello", NULL);
    if (strcmp(url, "/flaky") == 0)
        return atomic_fetch_sub(&flaky_left, 1) > 0
                   ? reply(c, 503, "busy", NULL)
                   : reply(c, 200, "recovered", NULL);
    if (strcmp(url, "/ratelimit") == 0)
        return atomic_fetch_sub(&ratelimit_left, 1) > 0
                   ? reply(c, 429, "slow down", "1")
                   : reply(c, 200, "thanks", NULL);
    if (strcmp(url, "/redirect") == 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        snprintf(out, sizeof out, "http://127.0.0.1:%d/ok", port);
        MHD_add_response_header(r, "Location", out);
        enum MHD_Result ret = MHD_queue_response(c, 302, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/unavailable") == 0)
        return reply(c, 503, "down", NULL);
    if (strcmp(url, "/slow") == 0) {
        sleep(1);
        return reply(c, 200, "late", NULL);
    }
    if (strcmp(url, "/big") == 0 || strcmp(url, "/bigchunked") == 0)
        return reply_big(c, strcmp(url, "/bigchunked") == 0);
    if (strcmp(url, "/headers") == 0) {
        const char *v =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test");
        return reply(c, 200, v ? v : "(none)", NULL);
    }
    snprintf(out, sizeof out, "%s:%.*s", method, (int)st->len, st->body);
    return reply(c, 200, out, NULL); /* /echo */
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        *con_cls = st;
        atomic_fetch_add(&hits, 1);
        return st ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (n > sizeof st->body - st->len)
            n = sizeof st->body - st->len;
        memcpy(st->body + st->len, upload, n);
        st->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    return route(c, url, method, st);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&connections, 1);
}

/* A port nobody listens on: bind, read it back, close. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    close(fd);
    return ntohs(a.sin_port);
}

static int start_server(void **state)
{
    (void)state;
    assert_int_equal(http_global_init(), 0);
    server = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!server)
        return -1;
    port = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT)->port;
    closed_port = free_port();
    snprintf(host_rule, sizeof host_rule, "127.0.0.1");
    snprintf(closed_rule, sizeof closed_rule, "127.0.0.1");
    rules[0] = (struct mf_egress_rule){.host = host_rule, .port = port};
    rules[1] =
        (struct mf_egress_rule){.host = closed_rule, .port = closed_port};
    return port && closed_port ? 0 : -1;
}

static int stop_server(void **state)
{
    (void)state;
    MHD_stop_daemon(server);
    http_global_cleanup();
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static struct http_client *client_with(long backoff_ms, long backoff_max_ms,
                                       size_t max_bytes)
{
    struct http_client_options o = {
        .default_timeout_ms = 5000,
        .connect_timeout_ms = 1000,
        .default_max_retries = 3,
        .backoff_initial_ms = backoff_ms,
        .backoff_max_ms = backoff_max_ms,
        .max_response_bytes = max_bytes,
    };
    struct http_client *c = http_client_new(rules, 2, &o);
    assert_non_null(c);
    return c;
}

static cs_http_request request(const char *method, const char *path, int p)
{
    static char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p, path);
    cs_http_request r = {.struct_size = sizeof r,
                         .method = method,
                         .url = url,
                         .max_retries = -1};
    return r;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int reset_counters(void **state)
{
    (void)state;
    atomic_store(&hits, 0);
    atomic_store(&flaky_left, 0);
    atomic_store(&ratelimit_left, 0);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_get_ok_ignores_env_proxy(void **state)
{
    (void)state;
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/ok", port);
    cs_http_response resp;
    char err[256] = "";
    int retries = -1;
    int rc = http_client_request(c, &r, &resp, &retries, err, sizeof err);
    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");
    if (rc != CS_OK)
        fail_msg("request failed: %d %s", rc, err);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello");
    assert_int_equal(resp.body_len, 5);
    assert_string_equal(resp.content_type, "text/plain");
    assert_null(resp.retry_after);
    assert_int_equal(retries, 0);
    assert_int_equal(atomic_load(&hits), 1);
    http_response_clear(&resp);
    assert_null(resp.body);
    http_client_free(c);
}

static void test_retries_503_then_ok(void **state)
{
    (void)state;
    atomic_store(&flaky_left, 2);
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/flaky", port);
    cs_http_response resp;
    char err[256];
    int retries = -1;
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err), CS_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "recovered");
    assert_int_equal(retries, 2);
    assert_int_equal(atomic_load(&hits), 3);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_retries_exhausted_returns_last_status(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/unavailable", port);
    r.max_retries = 1;
    cs_http_response resp;
    char err[256];
    int retries = -1;
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err), CS_OK);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.body, "down");
    assert_int_equal(retries, 1);
    assert_int_equal(atomic_load(&hits), 2);
    http_response_clear(&resp);

    r.max_retries = 0; /* no retry at all */
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err), CS_OK);
    assert_int_equal(resp.status, 503);
    assert_int_equal(retries, 0);
    assert_int_equal(atomic_load(&hits), 3);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_429_honours_retry_after(void **state)
{
    (void)state;
    atomic_store(&ratelimit_left, 1);
    struct http_client *c = client_with(10, 5000, 0);
    cs_http_request r = request("GET", "/ratelimit", port);
    cs_http_response resp;
    char err[256];
    int retries = -1;
    double t0 = now_ms();
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err), CS_OK);
    double elapsed = now_ms() - t0;
    assert_int_equal(resp.status, 200);
    assert_int_equal(retries, 1);
    assert_true(elapsed >= 950);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_retry_after_capped_by_backoff_max(void **state)
{
    (void)state;
    atomic_store(&ratelimit_left, 1);
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/ratelimit", port);
    cs_http_response resp;
    char err[256];
    double t0 = now_ms();
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_OK);
    assert_int_equal(resp.status, 200);
    assert_true(now_ms() - t0 < 700);
    assert_int_equal(atomic_load(&hits), 2);
    http_response_clear(&resp);
    http_client_free(c);
}

static void test_timeout(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/slow?api_key=k3y", port);
    r.timeout_ms = 200;
    r.max_retries = 0;
    cs_http_response resp;
    char err[256] = "";
    double t0 = now_ms();
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_ERR_TIMEOUT);
    assert_true(now_ms() - t0 < 900);
    assert_non_null(strstr(err, "/slow"));
    assert_null(strstr(err, "k3y")); /* query strings stay out of errors */
    assert_null(resp.body);
    http_client_free(c);
}

static void test_egress_refused_without_connecting(void **state)
{
    (void)state;
    int before = atomic_load(&connections);
    struct http_client *c = client_with(10, 100, 0);
    char url[128], want[160], err[256] = "";
    snprintf(url, sizeof url, "http://localhost:%d/ok", port);
    cs_http_request r = {.struct_size = sizeof r, .url = url};
    cs_http_response resp;
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_ERR_EGRESS);
    snprintf(want, sizeof want,
             "egress refused: localhost:%d is not in the manifest's egress "
             "list",
             port);
    assert_string_equal(err, want);

    /* an allowed host on another port is refused too */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", port + 1);
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_ERR_EGRESS);

    /* not http(s) */
    snprintf(url, sizeof url, "ftp://127.0.0.1:%d/ok", port);
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_ERR_INVALID);

    assert_int_equal(atomic_load(&hits), 0);
    assert_int_equal(atomic_load(&connections), before);
    http_client_free(c);
}

static void test_keepalive_reuses_connection(void **state)
{
    (void)state;
    cs_http_response resp;
    char err[256];
    int before = atomic_load(&connections);
    struct http_client *c = client_with(10, 100, 0);
    for (int i = 0; i < 3; i++) {
        cs_http_request r = request("GET", "/ok", port);
        assert_int_equal(
            http_client_request(c, &r, &resp, NULL, err, sizeof err), CS_OK);
        assert_int_equal(resp.status, 200);
        http_response_clear(&resp);
    }
    http_client_free(c);
    assert_int_equal(atomic_load(&connections) - before, 1);

    /* the counter does count: three clients, three connections */
    before = atomic_load(&connections);
    for (int i = 0; i < 3; i++) {
        c = client_with(10, 100, 0);
        cs_http_request r = request("GET", "/ok", port);
        assert_int_equal(
            http_client_request(c, &r, &resp, NULL, err, sizeof err), CS_OK);
        http_response_clear(&resp);
        http_client_free(c);
    }
    assert_int_equal(atomic_load(&connections) - before, 3);
}

static void test_max_response_size(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 100, 10000);
    const char *paths[] = {"/big", "/bigchunked"};
    for (int i = 0; i < 2; i++) {
        cs_http_request r = request("GET", paths[i], port);
        cs_http_response resp;
        char err[256] = "";
        assert_int_equal(
            http_client_request(c, &r, &resp, NULL, err, sizeof err), CS_ERR);
        assert_non_null(strstr(err, "exceeds the limit of 10000 bytes"));
        assert_non_null(strstr(err, paths[i]));
        assert_null(resp.body);
    }
    /* a client with room gets the whole body */
    struct http_client *roomy = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/bigchunked", port);
    cs_http_response resp;
    char err[256] = "";
    assert_int_equal(
        http_client_request(roomy, &r, &resp, NULL, err, sizeof err), CS_OK);
    assert_int_equal(resp.body_len, BIG_BODY);
    http_response_clear(&resp);
    http_client_free(roomy);
    http_client_free(c);
}

static void test_connection_refused_is_unavailable(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 50, 0);
    cs_http_request r = request("GET", "/ok", closed_port);
    r.max_retries = 2;
    cs_http_response resp;
    char err[256] = "";
    int retries = -1;
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err),
        CS_ERR_UNAVAILABLE);
    assert_int_equal(retries, 2);
    assert_non_null(strstr(err, "GET http://127.0.0.1:"));
    http_client_free(c);
}

static void expect_body(struct http_client *c, cs_http_request *r,
                        const char *body)
{
    cs_http_response resp;
    char err[256] = "";
    int rc = http_client_request(c, r, &resp, NULL, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("%s %s: %d %s", r->method, r->url, rc, err);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, body);
    http_response_clear(&resp);
}

static void test_methods_bodies_headers(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 100, 0);
    const char *methods[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (int i = 0; i < 4; i++) {
        cs_http_request r = request(methods[i], "/echo", port);
        r.body = "abcdef";
        r.body_len = 3; /* not NUL-terminated at body_len */
        char want[32];
        snprintf(want, sizeof want, "%s:abc", methods[i]);
        expect_body(c, &r, want);
    }
    cs_http_request r = request("DELETE", "/echo", port);
    expect_body(c, &r, "DELETE:");
    r = request("GET", "/echo", port); /* after a POST: really a GET again */
    expect_body(c, &r, "GET:");
    r = request("HEAD", "/ok", port);
    expect_body(c, &r, "");

    const char *headers[] = {"X-Test: yes please", NULL};
    r = request("GET", "/headers", port);
    r.headers = headers;
    expect_body(c, &r, "yes please");

    r = request("TRACE", "/ok", port);
    cs_http_response resp;
    char err[256] = "";
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_ERR_INVALID);
    assert_non_null(strstr(err, "TRACE"));
    http_client_free(c);
}

static void test_redirect_not_followed(void **state)
{
    (void)state;
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/redirect", port);
    cs_http_response resp;
    char err[256];
    assert_int_equal(http_client_request(c, &r, &resp, NULL, err, sizeof err),
                     CS_OK);
    assert_int_equal(resp.status, 302);
    assert_int_equal(atomic_load(&hits), 1); /* /ok was not requested */
    http_response_clear(&resp);
    http_client_free(c);
}

/* A pass built against an older, shorter cs_http_request gets defaults
 * for the fields it does not have (here: max_retries = host default). */
static void test_short_request_struct(void **state)
{
    (void)state;
    atomic_store(&flaky_left, 1);
    struct http_client *c = client_with(10, 100, 0);
    cs_http_request r = request("GET", "/flaky", port);
    r.struct_size = offsetof(cs_http_request, timeout_ms);
    r.max_retries = 0; /* beyond struct_size: must be ignored */
    cs_http_response resp;
    char err[256];
    int retries = -1;
    assert_int_equal(
        http_client_request(c, &r, &resp, &retries, err, sizeof err), CS_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(retries, 1);
    http_response_clear(&resp);
    http_client_free(c);
}

/* The wait a caller running its own attempts gets: Retry-After as
 * seconds or as an HTTP date, capped; else the jittered backoff. */
static void test_retry_delay_for_own_attempts(void **state)
{
    (void)state;
    struct http_client *c = client_with(200, 10000, 0);
    assert_int_equal(http_client_retry_delay_ms(c, 0, "3"), 3000);
    assert_int_equal(http_client_retry_delay_ms(c, 0, "3600"), 10000);
    char date[64];
    time_t at = time(NULL) + 5;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    long d = http_client_retry_delay_ms(c, 0, date);
    assert_true(d >= 4000 && d <= 5000);
    /* A date in the past: retry at once. */
    assert_int_equal(
        http_client_retry_delay_ms(c, 0, "Wed, 21 Oct 2015 07:28:00 GMT"), 0);
    /* No usable header: equal jitter in [d/2, d], d = 200 ms x 2^retry. */
    for (int i = 0; i < 20; i++) {
        long b0 = http_client_retry_delay_ms(c, 0, NULL);
        long b2 = http_client_retry_delay_ms(c, 2, "soon");
        assert_true(b0 >= 100 && b0 <= 200);
        assert_true(b2 >= 400 && b2 <= 800);
    }
    http_client_free(c);
}

#define T(f) cmocka_unit_test_setup(f, reset_counters)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_ok_ignores_env_proxy),
        T(test_retries_503_then_ok),
        T(test_retries_exhausted_returns_last_status),
        T(test_429_honours_retry_after),
        T(test_retry_after_capped_by_backoff_max),
        T(test_timeout),
        T(test_egress_refused_without_connecting),
        T(test_keepalive_reuses_connection),
        T(test_max_response_size),
        T(test_connection_refused_is_unavailable),
        T(test_methods_bodies_headers),
        T(test_redirect_not_followed),
        T(test_short_request_struct),
        T(test_retry_delay_for_own_attempts),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
