/* fk_discover with engine: trino, through a fake host with canned Trino
 * pages: the anti-join SQL (three-part names from `catalogs`, NOT EXISTS,
 * count_if, TABLESAMPLE BERNOULLI on large children), its counts read
 * back, tables without a connection, unmapped catalogs, Trino errors and
 * the statement timeout as the query's deadline (DELETE sent). */
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
#include "fk.h"

#define BASE "http://trino.test:8080"

static uint8_t key[16];

/* ---- fingerprints (as the fingerprint pass writes them) ----------------- */

static json_t *col_ints(long lo, long hi, long rows, bool pk)
{
    fk_kmv s;
    fk_kmv_init(&s, FK_KMV_K);
    for (long v = lo; v <= hi; v++) {
        char buf[24];
        uint64_t h;
        snprintf(buf, sizeof buf, "%ld", v);
        assert_int_equal(fk_hash_value(key, FK_CLASS_INTEGER, buf, &h), 0);
        fk_kmv_add(&s, h);
    }
    long n = hi - lo + 1;
    json_t *c = json_pack(
        "{s:s, s:f, s:I, s:I, s:I, s:f, s:o, s:b, s:b, s:[], s:I, s:I}",
        "typeClass", "integer", "nullFraction", 0.0, "sampleNonNull",
        (json_int_t)rows, "sampleDistinct", (json_int_t)n, "distinctEstimate",
        (json_int_t)n, "uniqueness", (double)n / (double)rows, "kmv",
        fk_kmv_to_json(&s), "primaryKey", pk, "unique", false, "top", "min",
        (json_int_t)lo, "max", (json_int_t)hi);
    assert_non_null(c);
    return c;
}

/* No `connection`: the table came from OpenMetadata. */
static json_t *table_fp(const char *schema, const char *table, long rows)
{
    json_t *t = json_pack("{s:i, s:n, s:s, s:s, s:I, s:I, s:{}, s:[]}",
                          "version", 1, "connection", "schema", schema, "table",
                          table, "rowCount", (json_int_t)rows, "sampleRows",
                          (json_int_t)(rows < 1000 ? rows : 1000), "columns",
                          "declaredForeignKeys");
    assert_non_null(t);
    return t;
}

static const char *fqn_of(const char *service, const char *table)
{
    static char buf[8][128];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 128, "%s.demo.bank.%s", service, table);
    return b;
}

/* customers(id 1..300), accounts(id 1..500, customer_id 1..300), both of
 * service `om_pg` unless said otherwise. */
static json_t *bank_store(const char *parent_service, long child_rows)
{
    json_t *store = json_object();
    json_t *cu = table_fp("bank", "customers", 300);
    json_object_set_new(json_object_get(cu, "columns"), "id",
                        col_ints(1, 300, 300, true));
    json_object_set_new(store, fqn_of(parent_service, "customers"),
                        json_pack("{s:o}", "fingerprint", cu));
    json_t *ac = table_fp("bank", "accounts", child_rows);
    json_object_set_new(json_object_get(ac, "columns"), "id",
                        col_ints(1, 500, 500, true));
    json_object_set_new(json_object_get(ac, "columns"), "customer_id",
                        col_ints(1, 300, 500, false));
    json_object_set_new(store, fqn_of("om_pg", "accounts"),
                        json_pack("{s:o}", "fingerprint", ac));
    return store;
}

/* ---- the pass through a wrapped fake host -------------------------------- */

static cs_host_api api;
static const cs_host_api *real;
static int http_sleep_ms;

static int w_http(cs_ctx *ctx, const cs_http_request *req,
                  cs_http_response *resp)
{
    if (http_sleep_ms > 0) {
        struct timespec ts = {0, http_sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return real->http(ctx, req, resp);
}

struct run {
    const cs_pass_desc *d;
    fake_host *fh;
    void *st;
};

static void start(struct run *r, const char *extra)
{
    char config[512];
    snprintf(config, sizeof config,
             "{\"engine\": \"trino\", \"trino_url\": \"" BASE "\", "
             "\"catalogs\": {\"om_pg.demo\": \"pg\", \"other\": \"lake\"}%s}",
             extra ? extra : "");
    fk_key_from_string("test", key);
    r->d = fake_host_load_pass("fk_discover");
    assert_non_null(r->d);
    r->fh = fake_host_new(r->d, config);
    assert_non_null(r->fh);
    real = fake_host_api(r->fh);
    api = *real;
    api.http = w_http;
    http_sleep_ms = 0;
    int rc = r->d->init(&api, fake_host_ctx(r->fh), &r->st);
    if (rc != CS_OK)
        fail_msg("init: %s", fake_host_error(r->fh));
}

static void stop(struct run *r)
{
    r->d->fini(r->st);
    fake_host_free(r->fh);
}

/* The anti-join answered with two counts, in two pages. */
static void counts(struct run *r, const char *checked, const char *violations)
{
    char last[512];
    snprintf(last, sizeof last,
             "{\"id\":\"qfk\",\"columns\":[{\"name\":\"checked\",\"type\":"
             "\"bigint\"},{\"name\":\"violations\",\"type\":\"bigint\"}],"
             "\"data\":[[%s,%s]]}",
             checked, violations);
    assert_int_equal(fake_host_add_http(r->fh, "POST", "/v1/statement", 200,
                                        "{\"id\":\"qfk\",\"nextUri\":\"" BASE
                                        "/v1/statement/queued/qfk/y/1\"}"),
                     0);
    assert_int_equal(
        fake_host_add_http(r->fh, "GET", "/queued/qfk/y/1", 200, last), 0);
}

static void finish(struct run *r, json_t *store)
{
    json_t *run = json_pack("[s,s]", fqn_of("om_pg", "customers"),
                            fqn_of("om_pg", "accounts"));
    assert_int_equal(fake_host_set_batch_json(r->fh, store, run), 0);
    int rc = r->d->finish(r->st, fake_host_ctx(r->fh));
    if (rc != CS_OK)
        fail_msg("finish: %d %s", rc, fake_host_error(r->fh));
}

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The customer_id edge of accounts, in `edges` or `rejected`. */
static json_t *edge(struct run *r, const char *list)
{
    json_t *fk = json_object_get(json_object_get(fake_host_batch_puts(r->fh),
                                                 fqn_of("om_pg", "accounts")),
                                 "fk");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(fk, list), i, e)
    {
        json_t *from = json_array_get(json_object_get(e, "fromColumns"), 0);
        if (strcmp(json_string_value(from), "customer_id") == 0)
            return e;
    }
    return NULL;
}

static const char *post_sql(struct run *r)
{
    json_t *first = json_array_get(fake_host_http_log(r->fh), 0);
    return first ? sval(first, "body") : "";
}

/* ---- tests -------------------------------------------------------------- */

static void test_confirmed_through_trino(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "500", "0");
    finish(&r, bank_store("om_pg", 500));
    json_t *e = edge(&r, "edges");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "confirmed");
    assert_string_equal(sval(e, "toTable"), "om_pg.demo.bank.customers");
    assert_int_equal(json_integer_value(json_object_get(e, "childRowsChecked")),
                     500);
    assert_non_null(strstr(sval(e, "reason"), "0 of 500"));
    assert_string_equal(
        post_sql(&r),
        "SELECT count(*) AS checked, count_if(x.orphan) AS violations FROM "
        "(SELECT NOT EXISTS (SELECT 1 FROM \"pg\".\"bank\".\"customers\" p "
        "WHERE p.\"id\" = c.\"customer_id\") AS orphan FROM "
        "\"pg\".\"bank\".\"accounts\" c WHERE c.\"customer_id\" IS NOT "
        "NULL) x");
    /* no Postgres connection is touched */
    assert_int_equal(json_array_size(fake_host_sql_log(r.fh)), 0);
    assert_true(fake_host_metric(r.fh, "fk_confirmed") == 1);
    stop(&r);
}

static void test_violations_reject(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "500", "7");
    finish(&r, bank_store("om_pg", 500));
    json_t *e = edge(&r, "rejected");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "rejected");
    assert_non_null(strstr(sval(e, "reason"), "7 of 500 child rows have no"));
    stop(&r);
}

static void test_large_child_is_sampled(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "1000000", "0");
    finish(&r, bank_store("om_pg", 5000000));
    assert_non_null(strstr(post_sql(&r), "\"pg\".\"bank\".\"accounts\" c "
                                         "TABLESAMPLE BERNOULLI (20.000000) "
                                         "WHERE"));
    json_t *e = edge(&r, "edges");
    assert_non_null(e);
    assert_true(json_is_true(json_object_get(e, "sampled")));
    stop(&r);
}

/* Trino joins across catalogs: a parent elsewhere is checked as well. */
static void test_parent_in_another_catalog(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    counts(&r, "500", "0");
    json_t *store = bank_store("other", 500);
    json_t *run = json_pack("[s,s]", fqn_of("other", "customers"),
                            fqn_of("om_pg", "accounts"));
    assert_int_equal(fake_host_set_batch_json(r.fh, store, run), 0);
    assert_int_equal(r.d->finish(r.st, fake_host_ctx(r.fh)), CS_OK);
    assert_non_null(
        strstr(post_sql(&r), "FROM \"lake\".\"bank\".\"customers\" p"));
    assert_non_null(
        strstr(post_sql(&r), "FROM \"pg\".\"bank\".\"accounts\" c"));
    json_t *e = edge(&r, "edges");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "confirmed");
    stop(&r);
}

static void test_unmapped_catalog_unconfirmed(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    json_t *store = bank_store("nowhere", 500);
    json_t *run = json_pack("[s,s]", fqn_of("nowhere", "customers"),
                            fqn_of("om_pg", "accounts"));
    assert_int_equal(fake_host_set_batch_json(r.fh, store, run), 0);
    assert_int_equal(r.d->finish(r.st, fake_host_ctx(r.fh)), CS_OK);
    json_t *e = edge(&r, "rejected");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "unconfirmed");
    assert_non_null(strstr(sval(e, "reason"), "nowhere.demo.bank.customers"));
    assert_non_null(strstr(sval(e, "reason"), "`catalogs`"));
    assert_int_equal(json_array_size(fake_host_http_log(r.fh)), 0);
    stop(&r);
}

static void test_trino_error_unconfirmed(void **state)
{
    (void)state;
    struct run r;
    start(&r, NULL);
    assert_int_equal(
        fake_host_add_http(
            r.fh, "POST", "/v1/statement", 200,
            "{\"id\":\"qfk\",\"error\":{\"message\":\"Access Denied: Cannot "
            "select from table pg.bank.accounts\",\"errorName\":"
            "\"PERMISSION_DENIED\"}}"),
        0);
    finish(&r, bank_store("om_pg", 500));
    json_t *e = edge(&r, "rejected");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "unconfirmed");
    assert_non_null(strstr(sval(e, "reason"), "PERMISSION_DENIED"));
    stop(&r);
}

/* statement_timeout_ms is the query's deadline: past it, DELETE. */
static void test_timeout_cancels(void **state)
{
    (void)state;
    struct run r;
    start(&r, ", \"statement_timeout_ms\": 40");
    assert_int_equal(fake_host_add_http(r.fh, "POST", "/v1/statement", 200,
                                        "{\"id\":\"qfk\",\"nextUri\":\"" BASE
                                        "/v1/statement/queued/qfk/y/1\"}"),
                     0);
    for (int i = 1; i < 20; i++) {
        char needle[64], body[256];
        snprintf(needle, sizeof needle, "/queued/qfk/y/%d", i);
        snprintf(body, sizeof body,
                 "{\"id\":\"qfk\",\"nextUri\":\"" BASE
                 "/v1/statement/queued/qfk/y/%d\"}",
                 i + 1);
        assert_int_equal(fake_host_add_http(r.fh, "GET", needle, 200, body), 0);
    }
    assert_int_equal(fake_host_add_http(r.fh, "DELETE", "/qfk/", 204, ""), 0);
    http_sleep_ms = 15;
    finish(&r, bank_store("om_pg", 500));
    json_t *e = edge(&r, "rejected");
    assert_non_null(e);
    assert_string_equal(sval(e, "status"), "unconfirmed");
    assert_non_null(strstr(sval(e, "reason"), "statement timeout (40 ms)"));
    json_t *log = fake_host_http_log(r.fh);
    json_t *last = json_array_get(log, json_array_size(log) - 1);
    assert_string_equal(sval(last, "method"), "DELETE");
    stop(&r);
}

static void test_engine_option(void **state)
{
    (void)state;
    const cs_pass_desc *d = fake_host_load_pass("fk_discover");
    assert_non_null(d);
    static const char *const bad[][2] = {
        {"{\"engine\": \"oracle\"}", "config.engine must be postgres or trino"},
        {"{\"engine\": \"trino\"}", "config.trino_url is required"}};
    for (size_t i = 0; i < 2; i++) {
        fake_host *fh = fake_host_new(d, bad[i][0]);
        void *st = NULL;
        assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st),
                         CS_ERR_INVALID);
        assert_non_null(strstr(fake_host_error(fh), bad[i][1]));
        fake_host_free(fh);
    }
    /* the Postgres engine skips a fingerprint without a connection */
    fake_host *fh = fake_host_new(d, NULL);
    void *st = NULL;
    assert_int_equal(d->init(fake_host_api(fh), fake_host_ctx(fh), &st), CS_OK);
    assert_int_equal(
        fake_host_set_batch_json(fh, bank_store("om_pg", 500), json_array()),
        0);
    assert_int_equal(d->finish(st, fake_host_ctx(fh)), CS_OK);
    assert_non_null(strstr(fake_host_logs(fh), "no string `connection`"));
    d->fini(st);
    fake_host_free(fh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confirmed_through_trino),
        cmocka_unit_test(test_violations_reject),
        cmocka_unit_test(test_large_child_is_sampled),
        cmocka_unit_test(test_parent_in_another_catalog),
        cmocka_unit_test(test_unmapped_catalog_unconfirmed),
        cmocka_unit_test(test_trino_error_unconfirmed),
        cmocka_unit_test(test_timeout_cancels),
        cmocka_unit_test(test_engine_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
