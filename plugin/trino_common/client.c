/*
 * The Trino client protocol over host->http():
 *
 *   POST {url}/v1/statement   (SQL body, X-Trino-* headers)
 *   GET  nextUri ... until an answer has no nextUri
 *   DELETE nextUri             to cancel (deadline, stop, row cap)
 *
 * Every answer may carry `columns` (once known), `data` (rows in column
 * order) and `error` (the query failed).  The coordinator long-polls, so
 * the loop needs no sleep of its own; only 502/503/504 (a proxy or a
 * restarting coordinator) are retried, after 50-100 ms, which the host is
 * told not to do itself (max_retries 0) so that every wait is bounded by
 * the query's deadline here.
 */
#include "trino.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRIES 4              /* per request, on 502/503/504 */
#define CANCEL_TIMEOUT_MS 2000 /* the DELETE's own bound */

struct run {
    const trino_conf *c;
    const cs_host_api *h;
    cs_ctx *ctx;
    const trino_query *q;
    long long deadline; /* monotonic ms; 0: none */
    trino_result *res;
    trino_error *err;
    char *next; /* nextUri, owned; NULL once the query is over */
    bool paged; /* the last answer was a page (the server's word on it) */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

static const char *qid(const struct run *r)
{
    return r->res->query_id ? r->res->query_id : "(not started)";
}

/* Records why the query failed; returns status. */
static int fail(struct run *r, int status, const char *name, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->err->status = status;
    snprintf(r->err->name, sizeof r->err->name, "%s", name ? name : "");
    vsnprintf(r->err->message, sizeof r->err->message, fmt, ap);
    va_end(ap);
    return status;
}

/* CS_OK while the query may go on, else the reason to cancel it. */
static int check_time(struct run *r)
{
    if (r->h->should_stop(r->ctx))
        return fail(r, CS_ERR_STOPPING, "",
                    "Trino query %s cancelled: the worker is stopping", qid(r));
    if (r->deadline && now_ms() >= r->deadline)
        return fail(r, CS_ERR_TIMEOUT, "",
                    "Trino query %s cancelled: it ran past its deadline of "
                    "%ld ms",
                    qid(r), r->q->timeout_ms);
    return CS_OK;
}

/* The request's timeout: what is left of the deadline (host default
 * without one). */
static long request_timeout(const struct run *r)
{
    if (!r->deadline)
        return 0;
    long long left = r->deadline - now_ms();
    return left > 1 ? (long)left : 1;
}

/* Session headers go on the POST only; who we are goes on every request. */
static void headers(const struct run *r, bool post, char lines[3][320],
                    const char *out[7])
{
    int n = 0;
    out[n++] = r->c->user;
    if (r->c->auth)
        out[n++] = r->c->auth;
    if (post) {
        out[n++] = "X-Trino-Source: catalog-sync";
        if (r->q->catalog) {
            snprintf(lines[0], 320, "X-Trino-Catalog: %s", r->q->catalog);
            out[n++] = lines[0];
        }
        if (r->q->schema) {
            snprintf(lines[1], 320, "X-Trino-Schema: %s", r->q->schema);
            out[n++] = lines[1];
        }
    }
    out[n] = NULL;
}

static bool retryable(long status)
{
    return status == 502 || status == 503 || status == 504;
}

/* One call through the host, no retry there. */
static int call(struct run *r, const char *method, const char *url,
                const char *const *hdrs, cs_http_response *resp)
{
    const char *body = strcmp(method, "POST") == 0 ? r->q->sql : NULL;
    cs_http_request req = {.struct_size = sizeof req,
                           .method = method,
                           .url = url,
                           .headers = hdrs,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .timeout_ms = request_timeout(r),
                           .max_retries = 0};
    memset(resp, 0, sizeof *resp);
    int rc = r->h->http(r->ctx, &req, resp);
    if (rc == CS_ERR_TIMEOUT && r->deadline)
        return fail(r, CS_ERR_TIMEOUT, "",
                    "Trino query %s cancelled: no answer within its deadline "
                    "of %ld ms",
                    qid(r), r->q->timeout_ms);
    if (rc != CS_OK) /* the host's reason: egress, timeout, transport */
        return fail(r,
                    rc == CS_ERR_NOMEM || rc == CS_ERR_EGRESS ||
                            rc == CS_ERR_TIMEOUT
                        ? rc
                        : CS_ERR_UNAVAILABLE,
                    "", "Trino query %s: %s %s: %s", qid(r), method, url,
                    r->h->last_error(r->ctx));
    return CS_OK;
}

/* The first line of a non-JSON error body, short. */
static void body_line(const cs_http_response *resp, char *buf, size_t len)
{
    const char *b = resp->body ? resp->body : "";
    int n = (int)strcspn(b, "\r\n");
    snprintf(buf, len, "%.*s", n > 200 ? 200 : n, b);
}

/* A request with the 502/503/504 retries; CS_OK means a 200 in *resp. */
static int request(struct run *r, const char *method, const char *url,
                   cs_http_response *resp)
{
    char lines[3][320];
    const char *hdrs[7];
    headers(r, strcmp(method, "POST") == 0, lines, hdrs);
    for (int attempt = 0;; attempt++) {
        int rc = check_time(r);
        if (rc == CS_OK)
            rc = call(r, method, url, hdrs, resp);
        if (rc != CS_OK)
            return rc;
        if (resp->status == 200)
            return CS_OK;
        long st = resp->status;
        char line[256];
        body_line(resp, line, sizeof line);
        r->h->http_response_free(resp);
        if (!retryable(st) || attempt == RETRIES)
            return fail(r, retryable(st) ? CS_ERR_UNAVAILABLE : CS_ERR, "",
                        "Trino answered %ld to %s %s%s%s%s", st, method, url,
                        *line ? ": " : "", line,
                        retryable(st) ? " (after retries)" : "");
        r->h->metric_add(r->ctx, "trino_retries", 1);
        sleep_ms(50 + 25 * (attempt < 2 ? attempt : 2));
    }
}

/* DELETE nextUri: best effort, bounded, never retried. */
static void cancel(struct run *r)
{
    if (!r->next)
        return;
    const char *hdrs[3] = {r->c->user, r->c->auth, NULL};
    cs_http_request req = {.struct_size = sizeof req,
                           .method = "DELETE",
                           .url = r->next,
                           .headers = hdrs,
                           .timeout_ms = CANCEL_TIMEOUT_MS,
                           .max_retries = 0};
    cs_http_response resp;
    memset(&resp, 0, sizeof resp);
    if (r->h->http(r->ctx, &req, &resp) == CS_OK)
        r->h->http_response_free(&resp);
    else
        r->h->log(r->ctx, CS_LOG_WARN, "Trino query %s: cancelling: %s", qid(r),
                  r->h->last_error(r->ctx));
    free(r->next);
    r->next = NULL;
}

/* ---- pages ------------------------------------------------------------- */

static int status_of(const char *name)
{
    static const char *const missing[] = {"TABLE_NOT_FOUND", "SCHEMA_NOT_FOUND",
                                          "CATALOG_NOT_FOUND", NULL};
    for (int i = 0; missing[i]; i++)
        if (strcmp(name, missing[i]) == 0)
            return CS_ERR_NOT_FOUND;
    return strcmp(name, "EXCEEDED_TIME_LIMIT") == 0 ? CS_ERR_TIMEOUT : CS_ERR;
}

static int page_error(struct run *r, const json_t *error)
{
    char msg[448];
    const char *name = json_string_value(json_object_get(error, "errorName"));
    trino_error_message(error, msg, sizeof msg);
    return fail(r, status_of(name ? name : ""), name,
                "Trino query %s failed: %s", qid(r), msg);
}

static int set_columns(trino_result *res, const json_t *cols)
{
    size_t n = json_array_size(cols);
    res->names = calloc(n, sizeof *res->names);
    res->types = calloc(n, sizeof *res->types);
    if (!res->names || !res->types)
        return -1;
    res->ncols = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(cols, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        res->names[i] = strdup(name ? name : "");
        res->types[i] = strdup(type ? type : "");
        if (!res->names[i] || !res->types[i])
            return -1;
    }
    return 0;
}

static int grow(trino_result *res)
{
    if (res->nrows < res->cap)
        return 0;
    size_t cap = res->cap ? 2 * res->cap : 64;
    char **cells = realloc(res->cells, cap * res->ncols * sizeof *cells);
    if (!cells)
        return -1;
    res->cells = cells;
    res->cap = cap;
    return 0;
}

/* Appends one row (an array of ncols values); 0, -1 (memory), -2 (shape). */
static int add_row(trino_result *res, const json_t *row)
{
    if (json_array_size(row) != res->ncols)
        return -2;
    if (grow(res) != 0)
        return -1;
    char **cells = res->cells + res->nrows * res->ncols;
    for (size_t c = 0; c < res->ncols; c++) {
        if (trino_cell_text(json_array_get(row, c), &cells[c]) != 0) {
            while (c > 0)
                free(cells[--c]);
            return -1;
        }
    }
    res->nrows++;
    return 0;
}

static int add_rows(struct run *r, const json_t *data)
{
    size_t i;
    const json_t *row;
    json_array_foreach(data, i, row)
    {
        if (r->q->max_rows && r->res->nrows >= r->q->max_rows) {
            r->res->truncated = true;
            return CS_OK;
        }
        int e = add_row(r->res, row);
        if (e == -1)
            return fail(r, CS_ERR_NOMEM, "", "Trino query %s: out of memory",
                        qid(r));
        if (e == -2)
            return fail(r, CS_ERR, "",
                        "Trino query %s: a row of %zu values for %zu columns",
                        qid(r), json_array_size(row), r->res->ncols);
    }
    return CS_OK;
}

static int take_next(struct run *r, const json_t *page)
{
    const char *next = json_string_value(json_object_get(page, "nextUri"));
    free(r->next);
    r->next = next ? strdup(next) : NULL;
    if (next && !r->next)
        return fail(r, CS_ERR_NOMEM, "", "Trino query %s: out of memory",
                    qid(r));
    return CS_OK;
}

static int take_id(struct run *r, const json_t *page)
{
    const char *id = json_string_value(json_object_get(page, "id"));
    if (r->res->query_id || !id)
        return CS_OK;
    r->res->query_id = strdup(id);
    return r->res->query_id ? CS_OK
                            : fail(r, CS_ERR_NOMEM, "", "out of memory");
}

/* One QueryResults page. */
static int take_page(struct run *r, const json_t *page)
{
    r->paged = true;
    int rc = take_id(r, page);
    if (rc == CS_OK)
        rc = take_next(r, page);
    const json_t *error = json_object_get(page, "error");
    if (rc == CS_OK && json_is_object(error))
        return page_error(r, error);
    const json_t *cols = json_object_get(page, "columns");
    const json_t *data = json_object_get(page, "data");
    if (rc == CS_OK && !r->res->names && json_array_size(cols) > 0 &&
        set_columns(r->res, cols) != 0)
        rc = fail(r, CS_ERR_NOMEM, "", "Trino query %s: out of memory", qid(r));
    if (rc == CS_OK && json_array_size(data) > 0 && !r->res->names)
        rc = fail(r, CS_ERR, "", "Trino query %s: rows before any columns",
                  qid(r));
    if (rc == CS_OK && json_array_size(data) > 0)
        rc = add_rows(r, data);
    return rc;
}

static int fetch(struct run *r, const char *method, const char *url)
{
    cs_http_response resp;
    int rc = request(r, method, url, &resp);
    if (rc != CS_OK)
        return rc;
    json_t *page = json_loadb(resp.body, resp.body_len, 0, NULL);
    r->h->http_response_free(&resp);
    if (!json_is_object(page))
        rc = fail(r, CS_ERR, "",
                  "Trino query %s: %s %s answered 200 with a body that is "
                  "not a JSON object",
                  qid(r), method, url);
    else
        rc = take_page(r, page);
    json_decref(page);
    return rc;
}

static bool line_safe(const char *s)
{
    return !s || strpbrk(s, "\r\n") == NULL;
}

/* See trino.h. */
int trino_run(const trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
              const trino_query *q, trino_result **out, trino_error *err)
{
    struct run r = {.c = c, .h = h, .ctx = ctx, .q = q, .err = err};
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (!h->http)
        return fail(&r, CS_ERR_DENIED, "",
                    "Trino query: this pass has no network access (it "
                    "consumes a raw aspect)");
    if (!c->url || !q->sql || !line_safe(q->catalog) || !line_safe(q->schema))
        return fail(&r, CS_ERR_INVALID, "",
                    "Trino query: no trino_url, no SQL, or a catalog or "
                    "schema name holding a line break");
    if (!(r.res = calloc(1, sizeof *r.res)))
        return fail(&r, CS_ERR_NOMEM, "", "out of memory");
    r.deadline = q->timeout_ms > 0 ? now_ms() + q->timeout_ms : 0;
    char *post_url = NULL;
    int rc;
    if (asprintf(&post_url, "%s/v1/statement", c->url) < 0) {
        post_url = NULL;
        rc = fail(&r, CS_ERR_NOMEM, "", "out of memory");
    } else {
        rc = fetch(&r, "POST", post_url);
    }
    free(post_url);
    while (rc == CS_OK && r.next && !r.res->truncated) {
        char *url = r.next;
        r.next = NULL; /* the page sets the next one */
        r.paged = false;
        rc = fetch(&r, "GET", url);
        if (rc != CS_OK && !r.paged)
            r.next = url; /* still the query's address, to cancel it */
        else
            free(url);
    }
    cancel(&r); /* a no-op once the last page came */
    if (rc != CS_OK) {
        trino_result_free(r.res);
        return rc;
    }
    *out = r.res;
    return CS_OK;
}

/* See trino.h. */
void trino_result_free(trino_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    for (size_t i = 0; r->names && i < r->ncols; i++)
        free(r->names[i]);
    for (size_t i = 0; r->types && i < r->ncols; i++)
        free(r->types[i]);
    free(r->cells);
    free(r->names);
    free(r->types);
    free(r->query_id);
    free(r);
}

/* See trino.h. */
const char *trino_cell(const trino_result *r, size_t row, size_t col)
{
    if (row >= r->nrows || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}
