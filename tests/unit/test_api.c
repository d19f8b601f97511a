/*
 * HTTP API server: a real server on a private libev loop running in a
 * background thread, exercised over loopback with libcurl from the test
 * thread.  Covers routing, auth and roles, limits, listen parsing, the
 * tokens file and MHD's idle timeout (which only fires if the ev_timer
 * glue works).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

#define OPERATOR_TOKEN "op-0123456789abcdef"
#define NAMELESS_TOKEN "op2-0123456789abcdef"
#define VIEWER_TOKEN "view-0123456789abcdef"
#define OTHER_TOKEN "other-0123456789abcdef"

/* ---- fixture: server + loop thread ------------------------------------- */

struct fx {
    char dir[64];
    char tokens[128];
    struct ev_loop *loop;
    struct api_server *s;
    ev_async stop;
    pthread_t thread;
    bool running;
    CURL *curl;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

static void *loop_main(void *arg)
{
    struct fx *fx = arg;
    ev_run(fx->loop, 0);
    return NULL;
}

static struct fx *fx_new(void)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    strcpy(fx->dir, "/tmp/cs-test-api-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->tokens, sizeof fx->tokens, "%s/tokens", fx->dir);
    write_file(fx->tokens, "# API tokens\n"
                           "\n"
                           "operator " OPERATOR_TOKEN " alice\n"
                           "  viewer\t" VIEWER_TOKEN " bob  \n"
                           "operator " NAMELESS_TOKEN "\n");
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(fx->loop);
    fx->curl = curl_easy_init();
    assert_non_null(fx->curl);
    return fx;
}

static void fx_run(struct fx *fx)
{
    ev_async_init(&fx->stop, on_stop);
    ev_async_start(fx->loop, &fx->stop);
    assert_int_equal(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
    fx->running = true;
}

static void fx_free(struct fx *fx)
{
    if (fx->running) {
        ev_async_send(fx->loop, &fx->stop);
        pthread_join(fx->thread, NULL);
    }
    api_stop(fx->s);
    ev_loop_destroy(fx->loop);
    curl_easy_cleanup(fx->curl);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
}

/* ---- handlers ------------------------------------------------------------ */

static void h_hello(void *ud, const struct api_request *req,
                    struct api_reply *reply)
{
    api_reply_json(reply, 200, json_pack("{s:s}", "hello", "world"));
}

/* Echoes what the handler saw, so the test can check it. */
static void h_echo(void *ud, const struct api_request *req,
                   struct api_reply *reply)
{
    api_reply_json(reply, 202,
                   json_pack("{s:s, s:s, s:s, s:I, s:s}", "method", req->method,
                             "path", req->path, "caller", req->caller, "len",
                             (json_int_t)req->body_len, "body", req->body));
}

static void h_args(void *ud, const struct api_request *req,
                   struct api_reply *reply)
{
    const char *limit = api_request_arg(req, "limit");
    const char *hdr = api_request_header(req, "X-Test");
    api_reply_json(reply, 200,
                   json_pack("{s:s?, s:s?, s:b}", "limit", limit, "x_test", hdr,
                             "missing_is_null",
                             api_request_arg(req, "nope") == NULL));
}

static void h_text(void *ud, const struct api_request *req,
                   struct api_reply *reply)
{
    reply->body = strdup("m_total 1\n");
    reply->content_type = "text/plain; version=0.0.4";
}

static void h_fail(void *ud, const struct api_request *req,
                   struct api_reply *reply)
{
    api_reply_error(reply, 409, "run %s is %s", "7", "busy");
}

static void add_routes(struct api_server *s)
{
    assert_int_equal(
        api_route(s, "GET", "/hello", API_ROLE_NONE, h_hello, NULL), 0);
    assert_int_equal(
        api_route(s, "GET", "/v1/status", API_ROLE_VIEWER, h_echo, NULL), 0);
    assert_int_equal(
        api_route(s, "POST", "/v1/runs", API_ROLE_OPERATOR, h_echo, NULL), 0);
    assert_int_equal(
        api_route(s, "GET", "/v1/runs", API_ROLE_VIEWER, h_echo, NULL), 0);
    assert_int_equal(
        api_route(s, "GET", "/v1/runs/*", API_ROLE_VIEWER, h_echo, NULL), 0);
    assert_int_equal(api_route(s, "GET", "/args", API_ROLE_NONE, h_args, NULL),
                     0);
    assert_int_equal(
        api_route(s, "GET", "/metrics", API_ROLE_NONE, h_text, NULL), 0);
    assert_int_equal(api_route(s, "GET", "/fail", API_ROLE_NONE, h_fail, NULL),
                     0);
    assert_int_equal(
        api_route(s, "GET", "no-slash", API_ROLE_NONE, h_fail, NULL), -1);
}

/* Server on 127.0.0.1:<free port>, routes registered, loop running. */
static struct fx *fx_start(bool with_tokens, const struct api_options *opts)
{
    struct fx *fx = fx_new();
    char err[512] = "";
    fx->s = api_start(fx->loop, "127.0.0.1:0", with_tokens ? fx->tokens : NULL,
                      opts, err, sizeof err);
    if (!fx->s)
        fail_msg("api_start: %s", err);
    assert_true(api_port(fx->s) > 0);
    add_routes(fx->s);
    fx_run(fx);
    return fx;
}

/* ---- client -------------------------------------------------------------- */

struct resp {
    long status;
    char body[8192];
    size_t len;
    char headers[4096];
    size_t hlen;
    json_t *json;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t k = sz * n;
    if (k > sizeof r->body - 1 - r->len)
        k = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t k = sz * n;
    if (k > sizeof r->headers - 1 - r->hlen)
        k = sizeof r->headers - 1 - r->hlen;
    memcpy(r->headers + r->hlen, p, k);
    r->hlen += k;
    r->headers[r->hlen] = '\0';
    return sz * n;
}

/* The value of response header `name` (first one), or "" */
static const char *header(const struct resp *r, const char *name, char *out,
                          size_t outlen)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *l = r->headers; l && *l; l = strchr(l, '\n')) {
        if (*l == '\n')
            l++;
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)len, v);
            return out;
        }
    }
    return out;
}

static void resp_free(struct resp *r)
{
    json_decref(r->json);
    free(r);
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t k = sz * n;
    if (k > u->len - u->pos)
        k = u->len - u->pos;
    memcpy(buf, u->data + u->pos, k);
    u->pos += k;
    return k;
}

/* One request; body may be NULL.  chunked sends the body without a
 * Content-Length.  Response JSON is parsed when the body is JSON. */
static struct resp *http(struct fx *fx, const char *method, const char *path,
                         const char *token, const char *body, bool chunked)
{
    struct resp *r = calloc(1, sizeof *r);
    char url[256], auth[128];
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: yes");
    struct upload up = {body, body ? strlen(body) : 0, 0};
    CURL *c = fx->curl;
    assert_non_null(r);
    curl_easy_reset(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", api_port(fx->s), path);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body && chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)up.len);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->json = json_loads(r->body, 0, NULL);
    return r;
}

/* Status, JSON content type, no-store and (for errors) an "error" text. */
static void assert_json_reply(const struct resp *r, long status)
{
    char v[256];
    if (r->status != status)
        fail_msg("expected %ld, got %ld: %s", status, r->status, r->body);
    assert_string_equal(header(r, "Content-Type", v, sizeof v),
                        "application/json");
    assert_string_equal(header(r, "Cache-Control", v, sizeof v), "no-store");
    assert_non_null(r->json);
    if (status >= 400)
        assert_true(json_is_string(json_object_get(r->json, "error")));
}

static const char *jstr(const struct resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "(missing)";
}

/* ---- tests: routing ------------------------------------------------------ */

static void test_get_route_json(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct resp *r = http(fx, "GET", "/hello", NULL, NULL, false);
    assert_json_reply(r, 200);
    assert_string_equal(jstr(r, "hello"), "world");
    resp_free(r);
    /* The same connection serves a second request (keep-alive). */
    r = http(fx, "GET", "/hello", NULL, NULL, false);
    assert_json_reply(r, 200);
    resp_free(r);
    fx_free(fx);
}

static void test_unknown_path_404(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct resp *r = http(fx, "GET", "/nope", NULL, NULL, false);
    assert_json_reply(r, 404);
    resp_free(r);
    r = http(fx, "GET", "/hello/more", NULL, NULL, false);
    assert_json_reply(r, 404);
    resp_free(r);
    fx_free(fx);
}

static void test_wrong_method_405(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    char v[128];
    struct resp *r = http(fx, "DELETE", "/hello", NULL, NULL, false);
    assert_json_reply(r, 405);
    assert_string_equal(header(r, "Allow", v, sizeof v), "GET");
    resp_free(r);
    r = http(fx, "PUT", "/v1/runs", OPERATOR_TOKEN, NULL, false);
    assert_json_reply(r, 405);
    assert_string_equal(header(r, "Allow", v, sizeof v), "POST, GET");
    resp_free(r);
    fx_free(fx);
}

static void test_prefix_routes(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct resp *r = http(fx, "GET", "/v1/runs/42", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "path"), "/v1/runs/42");
    resp_free(r);
    r = http(fx, "GET", "/v1/runs/42/x?y=1", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "path"), "/v1/runs/42/x");
    resp_free(r);
    r = http(fx, "GET", "/v1/runs", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "path"), "/v1/runs");
    resp_free(r);
    /* The bare prefix is neither the exact route nor below the prefix. */
    r = http(fx, "GET", "/v1/runs/", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 404);
    resp_free(r);
    r = http(fx, "GET", "/v1/runsX", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 404);
    resp_free(r);
    fx_free(fx);
}

static void test_query_args_and_headers(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct resp *r = http(fx, "GET", "/args?limit=5&x=1", NULL, NULL, false);
    assert_json_reply(r, 200);
    assert_string_equal(jstr(r, "limit"), "5");
    assert_string_equal(jstr(r, "x_test"), "yes");
    assert_true(json_is_true(json_object_get(r->json, "missing_is_null")));
    resp_free(r);
    r = http(fx, "GET", "/args", NULL, NULL, false);
    assert_json_reply(r, 200);
    assert_true(json_is_null(json_object_get(r->json, "limit")));
    resp_free(r);
    fx_free(fx);
}

static void test_content_type_and_error_reply(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    char v[128];
    struct resp *r = http(fx, "GET", "/metrics", NULL, NULL, false);
    assert_int_equal(r->status, 200);
    assert_string_equal(header(r, "Content-Type", v, sizeof v),
                        "text/plain; version=0.0.4");
    assert_string_equal(header(r, "Cache-Control", v, sizeof v), "no-store");
    assert_string_equal(r->body, "m_total 1\n");
    resp_free(r);
    r = http(fx, "GET", "/fail", NULL, NULL, false);
    assert_json_reply(r, 409);
    assert_string_equal(jstr(r, "error"), "run 7 is busy");
    resp_free(r);
    fx_free(fx);
}

/* ---- tests: auth --------------------------------------------------------- */

static void test_operator_route_auth(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    char v[128];
    struct resp *r = http(fx, "POST", "/v1/runs", NULL, "{}", false);
    assert_json_reply(r, 401);
    assert_string_equal(header(r, "WWW-Authenticate", v, sizeof v), "Bearer");
    resp_free(r);
    r = http(fx, "POST", "/v1/runs", OTHER_TOKEN, "{}", false);
    assert_json_reply(r, 401);
    resp_free(r);
    /* A prefix of a valid token is not valid. */
    r = http(fx, "POST", "/v1/runs", "op-0123456789abcde", "{}", false);
    assert_json_reply(r, 401);
    resp_free(r);
    r = http(fx, "POST", "/v1/runs", VIEWER_TOKEN, "{}", false);
    assert_json_reply(r, 403);
    resp_free(r);
    /* Loaded tokens are registered with the log redaction. */
    char redacted[256];
    log_redact("saw " OPERATOR_TOKEN " and " VIEWER_TOKEN, redacted,
               sizeof redacted);
    assert_null(strstr(redacted, OPERATOR_TOKEN));
    assert_null(strstr(redacted, VIEWER_TOKEN));
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, "{\"why\":\"test\"}",
             false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "caller"), "alice");
    assert_string_equal(jstr(r, "method"), "POST");
    assert_string_equal(jstr(r, "body"), "{\"why\":\"test\"}");
    assert_int_equal(json_integer_value(json_object_get(r->json, "len")), 14);
    resp_free(r);
    /* A token without a name is called after its role. */
    r = http(fx, "POST", "/v1/runs", NAMELESS_TOKEN, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "caller"), "operator");
    assert_string_equal(jstr(r, "body"), "");
    resp_free(r);
    fx_free(fx);
}

static void test_viewer_route_auth(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct resp *r = http(fx, "GET", "/v1/status", NULL, NULL, false);
    assert_json_reply(r, 401);
    resp_free(r);
    r = http(fx, "GET", "/v1/status", VIEWER_TOKEN, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "caller"), "bob");
    resp_free(r);
    r = http(fx, "GET", "/v1/status", OPERATOR_TOKEN, NULL, false);
    assert_json_reply(r, 202); /* higher roles include lower ones */
    resp_free(r);
    fx_free(fx);
}

static void test_no_tokens_file(void **state)
{
    struct fx *fx = fx_start(false, NULL);
    struct resp *r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, "{}", false);
    assert_json_reply(r, 403);
    assert_string_equal(jstr(r, "error"),
                        "no API tokens configured (api.tokens_file)");
    resp_free(r);
    /* Reading stays open. */
    r = http(fx, "GET", "/v1/status", NULL, NULL, false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "caller"), "anonymous");
    resp_free(r);
    fx_free(fx);
}

static void test_reload_tokens(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    char err[512] = "", bad[160], good[160];
    snprintf(bad, sizeof bad, "%s/bad", fx->dir);
    snprintf(good, sizeof good, "%s/good", fx->dir);
    write_file(bad, "operator short\n");
    write_file(good, "operator " OTHER_TOKEN " carol\n");
    /* The loop thread is idle between requests; reload from here is safe
     * only because no request is in flight. */
    assert_int_equal(api_reload_tokens(fx->s, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "/bad:1: token too short"));
    struct resp *r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, "{}", false);
    assert_json_reply(r, 202); /* old set kept */
    resp_free(r);
    assert_int_equal(api_reload_tokens(fx->s, good, err, sizeof err), 0);
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, "{}", false);
    assert_json_reply(r, 401);
    resp_free(r);
    r = http(fx, "POST", "/v1/runs", OTHER_TOKEN, "{}", false);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "caller"), "carol");
    resp_free(r);
    fx_free(fx);
}

/* Each bad file fails api_start with file:line and the reason. */
static void test_tokens_file_errors(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"# c\nviewer " VIEWER_TOKEN "\nadmin " OTHER_TOKEN "\n",
         ":3: unknown role \"admin\""},
        {"viewer short-token\n", ":1: token too short (11 characters"},
        {"\n\noperator " OTHER_TOKEN " a b\n",
         ":3: expected \"<role> <token> [name]\""},
        {"operator\n", ":1: expected \"<role> <token> [name]\""},
        {"viewer " VIEWER_TOKEN "\noperator " VIEWER_TOKEN "\n",
         ":2: duplicate token (also on line 1)"},
        {OTHER_TOKEN " operator\n", ":1: unknown role \"...\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx *fx = fx_new();
        char err[512] = "", want[256];
        write_file(fx->tokens, cases[i].text);
        fx->s = api_start(fx->loop, "127.0.0.1:0", fx->tokens, NULL, err,
                          sizeof err);
        assert_null(fx->s);
        snprintf(want, sizeof want, "%s%s", fx->tokens, cases[i].want);
        if (strncmp(err, want, strlen(want)))
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, want);
        /* Never print a token in an error. */
        assert_null(strstr(err, OTHER_TOKEN));
        assert_null(strstr(err, VIEWER_TOKEN));
        fx_free(fx);
    }
    struct fx *fx = fx_new();
    char err[512] = "";
    fx->s = api_start(fx->loop, "127.0.0.1:0", "/nonexistent/tokens", NULL, err,
                      sizeof err);
    assert_null(fx->s);
    assert_string_equal(
        err, "api.tokens_file /nonexistent/tokens: No such file or directory");
    fx_free(fx);
}

/* ---- tests: limits ------------------------------------------------------- */

static void test_body_limit(void **state)
{
    struct api_options o = {.max_body_bytes = 64};
    struct fx *fx = fx_start(true, &o);
    char big[4096], just[65];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(just, 'y', 64);
    just[64] = '\0';
    struct resp *r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, just, false);
    assert_json_reply(r, 202);
    assert_int_equal(json_integer_value(json_object_get(r->json, "len")), 64);
    resp_free(r);
    big[65] = '\0'; /* declared Content-Length one byte over */
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, big, false);
    assert_json_reply(r, 413);
    resp_free(r);
    big[65] = 'x';
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, big, false);
    assert_json_reply(r, 413);
    resp_free(r);
    /* No Content-Length: counted while reading. */
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, big, true);
    assert_json_reply(r, 413);
    resp_free(r);
    r = http(fx, "POST", "/v1/runs", OPERATOR_TOKEN, just, true);
    assert_json_reply(r, 202);
    assert_string_equal(jstr(r, "body"), just);
    resp_free(r);
    fx_free(fx);
}

/* An idle connection is closed after request_timeout_s: proves MHD's
 * timeouts run from the ev_timer. */
static void test_idle_connection_timeout(void **state)
{
    struct api_options o = {.request_timeout_s = 1};
    struct fx *fx = fx_start(true, &o);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)api_port(fx->s)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(sock >= 0);
    assert_int_equal(connect(sock, (struct sockaddr *)&a, sizeof a), 0);
    const char *partial = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    assert_true(write(sock, partial, strlen(partial)) > 0);
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int n = poll(&p, 1, 5000);
    assert_int_equal(n, 1);
    char buf[64];
    ssize_t got = read(sock, buf, sizeof buf);
    assert_true(got <= 0); /* closed, no reply to the unfinished request */
    close(sock);
    fx_free(fx);
}

/* ---- tests: listen ------------------------------------------------------- */

static void test_bad_listen_addresses(void **state)
{
    static const struct {
        const char *listen;
        const char *want;
    } cases[] = {
        {"localhost", "api.listen \"localhost\": expected host:port"},
        {"127.0.0.1", "api.listen \"127.0.0.1\": expected host:port"},
        {"::1:80", "api.listen \"::1:80\": expected host:port"},
        {"[::1", "api.listen \"[::1\": expected host:port"},
        {"[::1]80", "api.listen \"[::1]80\": expected host:port"},
        {"127.0.0.1:99999", "api.listen \"127.0.0.1:99999\": port must be"},
        {"127.0.0.1:http", "api.listen \"127.0.0.1:http\": port must be"},
        {"127.0.0.1:", "api.listen \"127.0.0.1:\": port must be"},
        {"no-such-host.invalid:80",
         "api.listen no-such-host.invalid:80: cannot resolve"},
        {"192.0.2.1:0", "api.listen 192.0.2.1:0: Cannot assign requested"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        char err[256] = "";
        struct api_server *s =
            api_start(loop, cases[i].listen, NULL, NULL, err, sizeof err);
        assert_null(s);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)))
            fail_msg("%s: got \"%s\"", cases[i].listen, err);
        ev_loop_destroy(loop);
    }
}

static void test_port_in_use(void **state)
{
    struct fx *fx = fx_start(true, NULL);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    char listen[64], err[256] = "", want[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", api_port(fx->s));
    struct api_server *s = api_start(loop, listen, NULL, NULL, err, sizeof err);
    assert_null(s);
    snprintf(want, sizeof want, "api.listen %s: Address already in use",
             listen);
    assert_string_equal(err, want);
    ev_loop_destroy(loop);
    fx_free(fx);
}

/* ":0" binds every address (IPv4 included); "[::1]:0" binds IPv6
 * loopback when the host has IPv6; names resolve. */
static void test_wildcard_and_ipv6(void **state)
{
    const char *listens[] = {":0", "[::1]:0", "localhost:0"};
    for (size_t i = 0; i < 3; i++) {
        struct fx *fx = fx_new();
        char err[256] = "";
        fx->s = api_start(fx->loop, listens[i], NULL, NULL, err, sizeof err);
        if (!fx->s && i == 1 && strstr(err, "Cannot assign")) {
            fx_free(fx); /* no IPv6 here */
            continue;
        }
        if (!fx->s)
            fail_msg("%s: %s", listens[i], err);
        add_routes(fx->s);
        fx_run(fx);
        if (i == 0) { /* reachable over IPv4 loopback */
            struct resp *r = http(fx, "GET", "/hello", NULL, NULL, false);
            assert_json_reply(r, 200);
            resp_free(r);
        }
        fx_free(fx);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_route_json),
        cmocka_unit_test(test_unknown_path_404),
        cmocka_unit_test(test_wrong_method_405),
        cmocka_unit_test(test_prefix_routes),
        cmocka_unit_test(test_query_args_and_headers),
        cmocka_unit_test(test_content_type_and_error_reply),
        cmocka_unit_test(test_operator_route_auth),
        cmocka_unit_test(test_viewer_route_auth),
        cmocka_unit_test(test_no_tokens_file),
        cmocka_unit_test(test_reload_tokens),
        cmocka_unit_test(test_tokens_file_errors),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_idle_connection_timeout),
        cmocka_unit_test(test_bad_listen_addresses),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_wildcard_and_ipv6),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
