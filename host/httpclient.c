/*
 * The host's HTTP client: one libcurl easy handle per http_client, reset
 * (not recreated) between requests so that kept-alive connections are
 * reused.  Every request is egress-checked before curl sees it.
 */
#include "httpclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "egress.h"
#include "log.h"

#ifndef CS_VERSION
#define CS_VERSION "dev"
#endif

struct http_client {
    CURL *easy;
    const struct mf_egress_rule *rules;
    size_t n_rules;
    struct http_client_options opts;
    unsigned int seed; /* jitter; rand_r keeps threads independent */
};

/* What one attempt collected. */
struct attempt {
    char *body;
    size_t len, cap, max;
    int too_large;
    char *content_type;
    char *retry_after;
};

/* Before any thread starts; 0 or -1. */
int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* After every client is freed. */
void http_global_cleanup(void)
{
    curl_global_cleanup();
}

static void apply_defaults(struct http_client_options *o)
{
    if (o->default_timeout_ms <= 0)
        o->default_timeout_ms = 30000;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 5000;
    if (o->default_max_retries < 0)
        o->default_max_retries = 3;
    if (o->backoff_initial_ms <= 0)
        o->backoff_initial_ms = 200;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = 10000;
    if (o->max_response_bytes == 0)
        o->max_response_bytes = 64u << 20;
}

/* opts may be NULL (all defaults); a zero field means its default, except
 * default_max_retries where 0 means "no retries" (use -1 for the default).
 * Returns NULL when out of memory. */
struct http_client *http_client_new(const struct mf_egress_rule *rules,
                                    size_t n_rules,
                                    const struct http_client_options *opts)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    c->rules = rules;
    c->n_rules = n_rules;
    if (opts)
        c->opts = *opts;
    else
        c->opts.default_max_retries = -1;
    apply_defaults(&c->opts);
    c->seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)c;
    return c;
}

/* Closes kept-alive connections; NULL is allowed. */
void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    free(c);
}

/* Frees what a request filled and zeroes resp; safe to call twice. */
void http_response_clear(cs_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    free(resp->retry_after);
    memset(resp, 0, sizeof *resp);
}

/* ---- callbacks ---------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct attempt *a = userp;
    size_t n = size * nmemb;
    if (a->len + n > a->max) {
        a->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *p = realloc(a->body, cap);
        if (!p)
            return 0;
        a->body = p;
        a->cap = cap;
    }
    memcpy(a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

/* Value of "Name: value\r\n" if the line is that header, malloc'd. */
static char *header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return NULL;
    const char *v = line + k + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return strndup(v, (size_t)(end - v));
}

static void replace(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct attempt *a = userp;
    size_t n = size * nmemb;
    char *v;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after "100 Continue"): forget the last one's */
        replace(&a->content_type, NULL);
        replace(&a->retry_after, NULL);
    } else if ((v = header_value(data, n, "content-type")) != NULL) {
        replace(&a->content_type, v);
    } else if ((v = header_value(data, n, "retry-after")) != NULL) {
        replace(&a->retry_after, v);
    }
    return n;
}

static void attempt_reset(struct attempt *a)
{
    free(a->body);
    free(a->content_type);
    free(a->retry_after);
    size_t max = a->max;
    memset(a, 0, sizeof *a);
    a->max = max;
}

/* ---- request set-up ----------------------------------------------------- */

/* Copies what the pass's (possibly older) request struct has; fields it
 * does not have keep their defaults. */
static void read_request(const cs_http_request *req, cs_http_request *r)
{
    memset(r, 0, sizeof *r);
    r->max_retries = -1;
    size_t n = req->struct_size < sizeof *r ? req->struct_size : sizeof *r;
    memcpy(r, req, n);
    if (!r->method)
        r->method = "GET";
}

static int method_ok(const char *m)
{
    static const char *const ok[] = {"GET",   "POST",   "PUT",
                                     "PATCH", "DELETE", "HEAD"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

static void set_method(CURL *e, const cs_http_request *r)
{
    const char *body = r->body ? r->body : "";
    size_t len = r->body ? r->body_len : 0;
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "POST") == 0 || r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* Custom headers plus "Expect:" (no 100-continue round trip). */
static struct curl_slist *build_headers(const cs_http_request *r, int *oom)
{
    struct curl_slist *list = NULL, *t;
    *oom = 0;
    for (const char *const *h = r->headers; h && *h; h++) {
        if (!(t = curl_slist_append(list, *h)))
            goto fail;
        list = t;
    }
    if (!(t = curl_slist_append(list, "Expect:")))
        goto fail;
    return t;
fail:
    curl_slist_free_all(list);
    *oom = 1;
    return NULL;
}

static void setup_easy(struct http_client *c, const cs_http_request *r,
                       struct curl_slist *headers, struct attempt *a,
                       char *errbuf)
{
    CURL *e = c->easy;
    curl_easy_reset(e); /* keeps the connection cache */
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    long timeout =
        r->timeout_ms > 0 ? r->timeout_ms : c->opts.default_timeout_ms;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)c->opts.max_response_bytes);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "catalog-sync/" CS_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    set_method(e, r);
}

/* ---- retries ------------------------------------------------------------ */

static int status_retryable(long s)
{
    return s == 429 || s == 502 || s == 503 || s == 504;
}

static int curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Exponential backoff with "equal jitter": a random delay in
 * [d/2, d] where d doubles per retry, capped at backoff_max_ms. */
static long backoff_ms(struct http_client *c, int retry)
{
    long d = c->opts.backoff_initial_ms;
    for (int i = 0; i < retry && d < c->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > c->opts.backoff_max_ms)
        d = c->opts.backoff_max_ms;
    long half = d / 2;
    return half + (half > 0 ? (long)(rand_r(&c->seed) % (half + 1)) : 0);
}

/* Retry-After as delta-seconds or an HTTP-date (RFC 9110 10.2.3; LiteLLM
 * sends the first, some proxies the second); -1 when absent or
 * unreadable, so the backoff applies.  Capped at backoff_max_ms. */
static long retry_after_ms(struct http_client *c, const char *v)
{
    long s;
    if (!v || !*v)
        return -1;
    if (strspn(v, "0123456789") == strlen(v)) {
        s = strtol(v, NULL, 10); /* LONG_MAX on overflow: capped below */
    } else {
        time_t at = curl_getdate(v, NULL);
        if (at == (time_t)-1)
            return -1;
        time_t now = time(NULL);
        s = at > now ? (long)(at - now) : 0;
    }
    if (s > c->opts.backoff_max_ms / 1000)
        return c->opts.backoff_max_ms;
    return s * 1000;
}

/* Same thread as the client's requests.  See httpclient.h. */
long http_client_retry_delay_ms(struct http_client *c, int retry,
                                const char *retry_after)
{
    long wait = retry_after_ms(c, retry_after);
    return wait >= 0 ? wait : backoff_ms(c, retry);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- the request -------------------------------------------------------- */

/* Errors may quote a URL with user:pass@: they are redacted. */
#define fail(err, errlen, code, ...) log_redactf(err, errlen, code, __VA_ARGS__)

/* The URL as shown in messages: without query string or fragment, which
 * often carry API keys. */
static const char *url_for_msg(const char *url, char *buf, size_t len)
{
    snprintf(buf, len, "%.*s", (int)strcspn(url, "?#"), url);
    return buf;
}

/* Egress check: the URL must parse, be http(s), and name an allowed
 * host:port. */
static int check_target(struct http_client *c, const char *url, char *err,
                        size_t errlen)
{
    char host[256], why[512], u[512];
    int port = 0;
    if (egress_url_target(url, host, sizeof host, &port, why, sizeof why) < 0)
        return fail(err, errlen, CS_ERR_INVALID, "%s", why);
    if (strncasecmp(url, "http://", 7) != 0 &&
        strncasecmp(url, "https://", 8) != 0)
        return fail(err, errlen, CS_ERR_INVALID,
                    "URL \"%s\": only http and https are allowed",
                    url_for_msg(url, u, sizeof u));
    if (!egress_allowed(c->rules, c->n_rules, host, port))
        return fail(err, errlen, CS_ERR_EGRESS,
                    "egress refused: %s:%d is not in the manifest's egress "
                    "list",
                    host, port);
    return CS_OK;
}

static int curl_failure(const cs_http_request *r, CURLcode rc,
                        const struct attempt *a, const char *errbuf, size_t max,
                        char *err, size_t errlen)
{
    const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
    char u[512];
    if (a->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return fail(err, errlen, CS_ERR,
                    "%s %s: response exceeds the limit of %zu bytes", r->method,
                    url_for_msg(r->url, u, sizeof u), max);
    int code = CS_ERR;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        code = CS_ERR_TIMEOUT;
    else if (curl_retryable(rc))
        code = CS_ERR_UNAVAILABLE;
    return fail(err, errlen, code, "%s %s: %s", r->method,
                url_for_msg(r->url, u, sizeof u), why);
}

static void hand_over(struct attempt *a, long status, cs_http_response *resp)
{
    resp->status = status;
    resp->body = a->body;
    resp->body_len = a->len;
    resp->content_type = a->content_type;
    resp->retry_after = a->retry_after;
    memset(a, 0, sizeof *a);
}

/* Runs attempts until success, a non-retryable outcome or the retry
 * budget is spent. */
static int perform(struct http_client *c, const cs_http_request *r,
                   struct curl_slist *headers, cs_http_response *resp,
                   int *retries, char *err, size_t errlen)
{
    int max =
        r->max_retries >= 0 ? r->max_retries : c->opts.default_max_retries;
    struct attempt a = {.max = c->opts.max_response_bytes};
    char errbuf[CURL_ERROR_SIZE];
    for (;;) {
        attempt_reset(&a);
        errbuf[0] = '\0';
        setup_easy(c, r, headers, &a, errbuf);
        CURLcode rc = curl_easy_perform(c->easy);
        long status = 0, wait = -1;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
            if (!status_retryable(status) || *retries >= max) {
                if (!a.body && !(a.body = calloc(1, 1)))
                    return attempt_reset(&a),
                           fail(err, errlen, CS_ERR_NOMEM, "out of memory");
                hand_over(&a, status, resp);
                return CS_OK;
            }
            wait = retry_after_ms(c, a.retry_after);
        } else if (a.too_large || !curl_retryable(rc) || *retries >= max) {
            int code = curl_failure(r, rc, &a, errbuf,
                                    c->opts.max_response_bytes, err, errlen);
            attempt_reset(&a);
            return code;
        }
        sleep_ms(wait >= 0 ? wait : backoff_ms(c, *retries));
        (*retries)++;
    }
}

/* One thread at a time per client.  See httpclient.h for the outcomes. */
int http_client_request(struct http_client *c, const cs_http_request *req,
                        cs_http_response *resp, int *retries_out, char *err,
                        size_t errlen)
{
    int retries = 0;
    if (retries_out)
        *retries_out = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!c || !req || !resp)
        return fail(err, errlen, CS_ERR_INVALID, "http request: no %s",
                    !c     ? "client"
                    : !req ? "request"
                           : "response");
    memset(resp, 0, sizeof *resp);
    cs_http_request r;
    char u[512];
    read_request(req, &r);
    if (!r.url)
        return fail(err, errlen, CS_ERR_INVALID, "http request: no URL");
    if (!method_ok(r.method))
        return fail(err, errlen, CS_ERR_INVALID,
                    "http request %s: unsupported method \"%s\"",
                    url_for_msg(r.url, u, sizeof u), r.method);
    int rc = check_target(c, r.url, err, errlen);
    if (rc != CS_OK)
        return rc;
    int oom;
    struct curl_slist *headers = build_headers(&r, &oom);
    if (oom)
        return fail(err, errlen, CS_ERR_NOMEM, "%s %s: out of memory", r.method,
                    url_for_msg(r.url, u, sizeof u));
    rc = perform(c, &r, headers, resp, &retries, err, errlen);
    /* Drop pointers into this call's stack and the caller's request;
     * the connection cache survives a reset. */
    curl_easy_reset(c->easy);
    curl_slist_free_all(headers);
    if (retries_out)
        *retries_out = retries;
    return rc;
}
