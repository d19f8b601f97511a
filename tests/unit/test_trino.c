/* trino_common through a fake host: the statement protocol (nextUri pages,
 * 502/503/504 retries, error objects, HTTP failures, deadline, stop and
 * row cap with DELETE), the options, value conversion, FQN -> catalog
 * mapping and identifier quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_host.h"
#include "trino.h"

#define BASE "http://trino.test:8080"

/* A descriptor that only carries the shared options, for the defaults. */
static const cs_option_decl options[] = {TRINO_OPTION_DECLS,
                                         {NULL, 0, NULL, NULL, 0}};
static const cs_aspect_decl produces[] = {{"x", 0}, {NULL, 0}};
static const cs_pass_desc desc = {CS_PASS_HEADER, .name = "trino_test",
                                  .kind = CS_PASS_ENTITY, .produces = produces,
                                  .options = options};

/* The fake host's table with a few functions wrapped by the test. */
static cs_host_api api;
static const cs_host_api *real;
static int http_sleep_ms;      /* each request takes this long */
static int http_timeout_after; /* requests before the host times out; <0 */
static int stop_after;         /* should_stop() true after n calls; <0 */
static char secrets[4][128];
static int nsecrets;

static int w_http(cs_ctx *ctx, const cs_http_request *req,
                  cs_http_response *resp)
{
    if (http_sleep_ms > 0) {
        struct timespec ts = {0, http_sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (http_timeout_after == 0 && strcmp(req->method, "DELETE") != 0) {
        (void)real->http(ctx, req, resp); /* logged, like a sent request */
        real->http_response_free(resp);
        return CS_ERR_TIMEOUT;
    }
    if (http_timeout_after > 0)
        http_timeout_after--;
    return real->http(ctx, req, resp);
}

static int w_should_stop(cs_ctx *ctx)
{
    (void)ctx;
    return stop_after == 0 ? 1 : (stop_after > 0 ? (stop_after--, 0) : 0);
}

static void w_secret(cs_ctx *ctx, const char *value)
{
    (void)ctx;
    if (nsecrets < 4)
        snprintf(secrets[nsecrets++], sizeof secrets[0], "%s", value);
}

struct t {
    fake_host *fh;
    trino_conf conf;
};

static void start(struct t *t, const char *config)
{
    t->fh = fake_host_new(&desc, config);
    assert_non_null(t->fh);
    real = fake_host_api(t->fh);
    api = *real;
    api.http = w_http;
    api.should_stop = w_should_stop;
    api.secret_register = w_secret;
    http_sleep_ms = 0;
    http_timeout_after = -1;
    stop_after = -1;
    nsecrets = 0;
    assert_int_equal(
        trino_conf_init(&t->conf, &api, fake_host_ctx(t->fh), true), CS_OK);
}

static void stop(struct t *t)
{
    trino_conf_free(&t->conf);
    fake_host_free(t->fh);
}

static int run(struct t *t, const char *sql, long timeout_ms, size_t max_rows,
               trino_result **r, trino_error *err)
{
    trino_query q = {.sql = sql,
                     .catalog = "demo_pg",
                     .schema = "bank",
                     .timeout_ms = timeout_ms,
                     .max_rows = max_rows};
    return trino_run(&t->conf, &api, fake_host_ctx(t->fh), &q, r, err);
}

static void http(struct t *t, const char *method, const char *needle,
                 long status, const char *body)
{
    assert_int_equal(fake_host_add_http(t->fh, method, needle, status, body),
                     0);
}

/* A page of query q1: next = token of the nextUri (0: none). */
static char *page(int next, const char *rest)
{
    static char buf[8][1024];
    static int k;
    char *b = buf[k++ % 8];
    if (next)
        snprintf(b, 1024,
                 "{\"id\":\"q1\",\"nextUri\":\"" BASE
                 "/v1/statement/executing/q1/y1/%d\"%s%s}",
                 next, *rest ? "," : "", rest);
    else
        snprintf(b, 1024, "{\"id\":\"q1\"%s%s}", *rest ? "," : "", rest);
    return b;
}

#define COLS                                                                   \
    "\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":"           \
    "\"email\",\"type\":\"varchar(40)\"}]"

static json_t *log_at(struct t *t, size_t i)
{
    return json_array_get(fake_host_http_log(t->fh), i);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static bool has_header(json_t *req, const char *line)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(req, "headers"), i, h)
    {
        if (strcmp(json_string_value(h), line) == 0)
            return true;
    }
    return false;
}

/* ---- protocol ----------------------------------------------------------- */

static void test_pages_are_followed(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "/\", \"trino_user\": \"profiler\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, "\"stats\":{}"));
    http(&t, "GET", "/q1/y1/1", 200,
         page(2, COLS ",\"data\":[[1,\"a@x.org\"],[2,null]]"));
    http(&t, "GET", "/q1/y1/2", 200, page(3, COLS ",\"data\":[[3,\"c\"]]"));
    http(&t, "GET", "/q1/y1/3", 200, page(0, COLS));
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT * FROM t", 5000, 0, &r, &err), CS_OK);
    assert_string_equal(r->query_id, "q1");
    assert_int_equal(r->ncols, 2);
    assert_int_equal(r->nrows, 3);
    assert_false(r->truncated);
    assert_string_equal(r->names[1], "email");
    assert_string_equal(r->types[1], "varchar(40)");
    assert_string_equal(trino_cell(r, 0, 0), "1");
    assert_string_equal(trino_cell(r, 0, 1), "a@x.org");
    assert_null(trino_cell(r, 1, 1));
    assert_string_equal(trino_cell(r, 2, 1), "c");
    trino_result_free(r);
    /* the POST carries the session headers and the SQL; the base URL's
     * trailing slash is dropped */
    json_t *post = log_at(&t, 0);
    assert_string_equal(str(post, "url"), BASE "/v1/statement");
    assert_string_equal(str(post, "body"), "SELECT * FROM t");
    assert_true(has_header(post, "X-Trino-User: profiler"));
    assert_true(has_header(post, "X-Trino-Source: catalog-sync"));
    assert_true(has_header(post, "X-Trino-Catalog: demo_pg"));
    assert_true(has_header(post, "X-Trino-Schema: bank"));
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 4);
    json_t *get = log_at(&t, 3);
    assert_string_equal(str(get, "method"), "GET");
    assert_string_equal(str(get, "url"),
                        BASE "/v1/statement/executing/q1/y1/3");
    assert_true(has_header(get, "X-Trino-User: profiler"));
    assert_false(has_header(get, "X-Trino-Catalog: demo_pg"));
    stop(&t);
}

static void test_503_then_success(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 503, "Service Unavailable");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 502, "Bad Gateway");
    http(&t, "GET", "/q1/y1/1", 200, page(0, COLS ",\"data\":[[7,\"x\"]]"));
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_OK);
    assert_int_equal(r->nrows, 1);
    trino_result_free(r);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 4);
    assert_true(fake_host_metric(t.fh, "trino_retries") == 2);
    stop(&t);
}

static void test_503_forever_is_unavailable(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    for (int i = 0; i < 8; i++)
        http(&t, "POST", "/v1/statement", 503, "Service Unavailable");
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err),
                     CS_ERR_UNAVAILABLE);
    assert_null(r);
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 5);
    assert_non_null(strstr(err.message, "503"));
    assert_non_null(strstr(err.message, "after retries"));
    stop(&t);
}

static void test_error_object(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200,
         page(0, "\"error\":{\"message\":\"line 1:15: Table "
                 "'demo_pg.bank.gone' does not exist\",\"errorCode\":46,"
                 "\"errorName\":\"TABLE_NOT_FOUND\",\"errorType\":"
                 "\"USER_ERROR\"}"));
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT * FROM gone", 5000, 0, &r, &err),
                     CS_ERR_NOT_FOUND);
    assert_string_equal(err.name, "TABLE_NOT_FOUND");
    assert_non_null(strstr(err.message, "Trino query q1 failed"));
    assert_non_null(strstr(err.message, "TABLE_NOT_FOUND"));
    assert_non_null(strstr(err.message, "'demo_pg.bank.gone' does not exist"));
    /* a finished query is not cancelled */
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 2);
    stop(&t);
}

static void test_error_hides_values(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200,
         page(0, "\"error\":{\"message\":\"Cannot cast 'secret@x.org' to "
                 "INT\",\"errorName\":\"INVALID_CAST_ARGUMENT\"}"));
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_ERR);
    assert_non_null(strstr(err.message, "INVALID_CAST_ARGUMENT"));
    assert_non_null(strstr(err.message, "Cannot cast '\xe2\x80\xa6' to INT"));
    assert_null(strstr(err.message, "secret@x.org"));
    stop(&t);
}

static void test_http_status_fails(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 401,
         "Basic authentication or X-Trino-User must be sent\nmore");
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_ERR);
    assert_non_null(strstr(err.message, "Trino answered 401 to POST"));
    assert_non_null(strstr(err.message, "X-Trino-User must be sent"));
    assert_null(strstr(err.message, "more"));
    assert_int_equal(json_array_size(fake_host_http_log(t.fh)), 1);
    stop(&t);
}

static void test_not_json_fails(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, "<html>proxy</html>");
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_ERR);
    assert_non_null(strstr(err.message, "not a JSON object"));
    stop(&t);
}

/* The coordinator keeps the query queued: the deadline passes, the query
 * is cancelled at its current nextUri. */
static void test_deadline_cancels(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    for (int i = 1; i < 40; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "/q1/y1/%d", i);
        http(&t, "GET", needle, 200, page(i + 1, "\"stats\":{}"));
    }
    http(&t, "DELETE", "/q1/", 204, "");
    http_sleep_ms = 10;
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT pg_sleep(9)", 45, 0, &r, &err),
                     CS_ERR_TIMEOUT);
    assert_null(r);
    assert_non_null(strstr(err.message, "deadline of 45 ms"));
    json_t *log = fake_host_http_log(t.fh);
    size_t n = json_array_size(log);
    assert_true(n >= 3 && n < 12);
    json_t *del = json_array_get(log, n - 1),
           *prev = json_array_get(log, n - 2);
    assert_string_equal(str(del, "method"), "DELETE");
    /* the DELETE goes to the last nextUri the server gave */
    char want[128];
    snprintf(want, sizeof want, BASE "/v1/statement/executing/q1/y1/%zu",
             n - 1);
    assert_string_equal(str(del, "url"), want);
    assert_string_equal(str(prev, "method"), "GET");
    stop(&t);
}

/* The host's own timeout on a request is the deadline too. */
static void test_host_timeout_cancels(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200, page(2, ""));
    http(&t, "DELETE", "/q1/", 204, "");
    http_timeout_after = 1;
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_ERR_TIMEOUT);
    json_t *log = fake_host_http_log(t.fh);
    json_t *del = json_array_get(log, json_array_size(log) - 1);
    assert_string_equal(str(del, "method"), "DELETE");
    assert_string_equal(str(del, "url"),
                        BASE "/v1/statement/executing/q1/y1/1");
    stop(&t);
}

static void test_stop_cancels(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200, page(2, ""));
    http(&t, "DELETE", "/q1/", 204, "");
    stop_after = 2; /* before the POST, before the first GET */
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 0, 0, &r, &err), CS_ERR_STOPPING);
    assert_non_null(strstr(err.message, "stopping"));
    json_t *log = fake_host_http_log(t.fh);
    assert_int_equal(json_array_size(log), 3);
    assert_string_equal(str(log_at(&t, 2), "method"), "DELETE");
    assert_string_equal(str(log_at(&t, 2), "url"),
                        BASE "/v1/statement/executing/q1/y1/2");
    stop(&t);
}

static void test_row_cap(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200, page(2, COLS ",\"data\":[[1,\"a\"]]"));
    http(&t, "GET", "/q1/y1/2", 200,
         page(3, COLS ",\"data\":[[2,\"b\"],[3,\"c\"]]"));
    http(&t, "DELETE", "/q1/", 204, "");
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 2, &r, &err), CS_OK);
    assert_int_equal(r->nrows, 2);
    assert_true(r->truncated);
    trino_result_free(r);
    assert_string_equal(str(log_at(&t, 3), "method"), "DELETE");
    /* a result of exactly the cap is complete, not truncated */
    fake_host_next_run(t.fh, 0);
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200,
         page(2, COLS ",\"data\":[[1,\"a\"],[2,\"b\"]]"));
    http(&t, "GET", "/q1/y1/2", 200, page(0, COLS));
    assert_int_equal(run(&t, "SELECT 1", 5000, 2, &r, &err), CS_OK);
    assert_false(r->truncated);
    trino_result_free(r);
    stop(&t);
}

/* ---- options ------------------------------------------------------------ */

static void test_token_and_options(void **state)
{
    (void)state;
    setenv("CS_TEST_TRINO_TOKEN", "tok-123456789", 1);
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\","
              " \"trino_token_env\": \"CS_TEST_TRINO_TOKEN\"}");
    assert_int_equal(nsecrets, 1);
    assert_string_equal(secrets[0], "tok-123456789");
    http(&t, "POST", "/v1/statement", 200, page(1, ""));
    http(&t, "GET", "/q1/y1/1", 200, page(0, COLS));
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_OK);
    trino_result_free(r);
    assert_true(
        has_header(log_at(&t, 0), "Authorization: Bearer tok-123456789"));
    assert_true(
        has_header(log_at(&t, 1), "Authorization: Bearer tok-123456789"));
    assert_true(has_header(log_at(&t, 0), "X-Trino-User: catalog-sync"));
    stop(&t);
    unsetenv("CS_TEST_TRINO_TOKEN");

    /* the token option wins over the environment; none at all: no header */
    start(&t,
          "{\"trino_url\": \"" BASE "\", \"trino_token\": \"from-config\"}");
    assert_string_equal(t.conf.auth, "Authorization: Bearer from-config");
    stop(&t);
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    assert_null(t.conf.auth);
    stop(&t);
}

static void test_bad_options(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{}", "config.trino_url is required"},
        {"{\"trino_url\": \"trino:8080\"}", "http:// or https://"},
        {"{\"trino_url\": \"" BASE "\", \"catalogs\": {\"svc\": 3}}",
         "config.catalogs.svc must be a string"},
        {"{\"trino_url\": \"" BASE "\", \"trino_user\": \"\"}", "trino_user"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_host *fh = fake_host_new(&desc, bad[i][0]);
        assert_non_null(fh);
        trino_conf c;
        assert_int_equal(
            trino_conf_init(&c, fake_host_api(fh), fake_host_ctx(fh), true),
            CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), bad[i][1]));
        fake_host_free(fh);
    }
    /* no URL is fine when the caller does not need one */
    fake_host *fh = fake_host_new(&desc, "{}");
    trino_conf c;
    assert_int_equal(
        trino_conf_init(&c, fake_host_api(fh), fake_host_ctx(fh), false),
        CS_OK);
    assert_null(c.url);
    trino_conf_free(&c);
    fake_host_free(fh);
}

/* A raw-aspect consumer's host table has no http: refused, not crashed. */
static void test_no_network(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\"}");
    api.http = NULL;
    trino_result *r = NULL;
    trino_error err;
    assert_int_equal(run(&t, "SELECT 1", 5000, 0, &r, &err), CS_ERR_DENIED);
    assert_non_null(strstr(err.message, "no network access"));
    stop(&t);
}

/* ---- values, names ------------------------------------------------------ */

static void cell_is(const char *json, const char *want)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    char *out = (char *)"unset";
    assert_int_equal(trino_cell_text(v, &out), 0);
    if (want) {
        assert_non_null(out);
        assert_string_equal(out, want);
    } else {
        assert_null(out);
    }
    free(out);
    json_decref(v);
}

static void test_values(void **state)
{
    (void)state;
    cell_is("null", NULL);
    cell_is("\"abc\"", "abc");
    cell_is("\"12.50\"", "12.50"); /* decimals arrive as strings */
    cell_is("\"2024-01-02 10:00:00.000000 UTC\"",
            "2024-01-02 10:00:00.000000 UTC");
    cell_is("42", "42");
    cell_is("-9007199254740993", "-9007199254740993");
    cell_is("1.5", "1.5");
    cell_is("0.1", "0.1");
    cell_is("3.0", "3");
    cell_is("1e20", "1e+20");
    cell_is("\"NaN\"", "NaN");
    cell_is("true", "true");
    cell_is("false", "false");
    cell_is("[1, \"a\", null]", "[1,\"a\",null]");
    cell_is("{\"k\": 1}", "{\"k\":1}");
}

static void test_quote_ident(void **state)
{
    (void)state;
    char *q = trino_quote_ident("we\"ird");
    assert_string_equal(q, "\"we\"\"ird\"");
    free(q);
    q = trino_quote_ident("");
    assert_string_equal(q, "\"\"");
    free(q);
}

static void test_fqn_split(void **state)
{
    (void)state;
    json_t *p = trino_fqn_split("svc.\"my.db\".s.\"odd\"\"name\"");
    assert_int_equal(json_array_size(p), 4);
    assert_string_equal(json_string_value(json_array_get(p, 1)), "my.db");
    assert_string_equal(json_string_value(json_array_get(p, 3)), "odd\"name");
    json_decref(p);
    assert_null(trino_fqn_split("a..b"));
    assert_null(trino_fqn_split("a.\"b"));
    assert_null(trino_fqn_split("a.\"b\"c"));
    assert_null(trino_fqn_split(""));
}

static void name_is(struct t *t, const char *fqn, const char *schema,
                    const char *table, const char *want)
{
    char err[256] = "";
    char *n = trino_table_name(&t->conf, fqn, schema, table, err, sizeof err);
    if (!want) {
        assert_null(n);
        assert_non_null(strstr(err, fqn));
        assert_non_null(strstr(err, "`catalogs`"));
        return;
    }
    if (!n)
        fail_msg("%s: %s", fqn, err);
    assert_string_equal(n, want);
    free(n);
}

static void test_catalog_mapping(void **state)
{
    (void)state;
    struct t t;
    start(&t, "{\"trino_url\": \"" BASE "\", \"catalogs\": {"
              "\"demo_pg.demo\": \"pg_demo\", \"demo_pg\": \"pg_other\","
              " \"lake\": \"hive\", \"svc.\\\"my.db\\\"\": \"dotted\"}}");
    /* service.database wins over the bare service */
    name_is(&t, "demo_pg.demo.bank.customers", NULL, NULL,
            "\"pg_demo\".\"bank\".\"customers\"");
    name_is(&t, "demo_pg.sales.bank.customers", NULL, NULL,
            "\"pg_other\".\"bank\".\"customers\"");
    name_is(&t, "lake.raw.events.clicks", NULL, NULL,
            "\"hive\".\"events\".\"clicks\"");
    /* catalogSync names win over FQN parts; quotes are doubled */
    name_is(&t, "lake.raw.events.x", "ev\"s", "Clicks",
            "\"hive\".\"ev\"\"s\".\"Clicks\"");
    /* a quoted database part is looked up as the FQN writes it */
    name_is(&t, "svc.\"my.db\".s.\"we\"\"ird\"", NULL, NULL,
            "\"dotted\".\"s\".\"we\"\"ird\"");
    name_is(&t, "other.db.s.t", NULL, NULL, NULL);
    assert_string_equal(trino_catalog_of(&t.conf, "lake.raw.events.clicks"),
                        "hive");
    assert_null(trino_catalog_of(&t.conf, "lake"));
    stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_are_followed),
        cmocka_unit_test(test_503_then_success),
        cmocka_unit_test(test_503_forever_is_unavailable),
        cmocka_unit_test(test_error_object),
        cmocka_unit_test(test_error_hides_values),
        cmocka_unit_test(test_http_status_fails),
        cmocka_unit_test(test_not_json_fails),
        cmocka_unit_test(test_deadline_cancels),
        cmocka_unit_test(test_host_timeout_cancels),
        cmocka_unit_test(test_stop_cancels),
        cmocka_unit_test(test_row_cap),
        cmocka_unit_test(test_token_and_options),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_quote_ident),
        cmocka_unit_test(test_fqn_split),
        cmocka_unit_test(test_catalog_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
