/* SQL connections by name against the throwaway cluster (fixture `pg`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgtest.h"
#include "sqlconn.h"

static char *dsn;
static int pg_port;
static char dsn_blocked[512], dsn_multi[512], dsn_wrong_port[512];
static char probe_app[64];
static struct mf_connection conns[5];
static struct mf_egress_rule egress[1];
static struct manifest m;
static struct sql_pool *pool;

/* ---- fixture ------------------------------------------------------------ */

static int find_port(const char *d)
{
    const char *p = strstr(d, "port=");
    return p ? atoi(p + 5) : 0;
}

static int setup(void **state)
{
    (void)state;
    dsn = pgtest_new_database("sqlconn");
    if (!dsn)
        return 0; /* every test skips */
    pg_port = find_port(dsn);
    snprintf(probe_app, sizeof probe_app, "egress_probe_%d", (int)getpid());
    /* localhost is not on the list (127.0.0.1 is): a would-be connection
     * would show up in pg_stat_activity under probe_app */
    snprintf(dsn_blocked, sizeof dsn_blocked,
             "host=localhost port=%d user=postgres dbname=postgres "
             "application_name=%s",
             pg_port, probe_app);
    snprintf(dsn_multi, sizeof dsn_multi,
             "host=127.0.0.1,db.evil.example port=%d user=postgres", pg_port);
    snprintf(dsn_wrong_port, sizeof dsn_wrong_port,
             "host=127.0.0.1 port=1 user=postgres password=hunter2secret "
             "dbname=nope connect_timeout=2");

    egress[0] = (struct mf_egress_rule){.host = "127.0.0.1", .port = 0};
    conns[0] = (struct mf_connection){
        .name = "main", .dsn = dsn, .statement_timeout_ms = 30000};
    conns[1] = (struct mf_connection){
        .name = "short", .dsn = dsn, .statement_timeout_ms = 100};
    conns[2] = (struct mf_connection){.name = "blocked", .dsn = dsn_blocked};
    conns[3] = (struct mf_connection){.name = "multi", .dsn = dsn_multi};
    conns[4] =
        (struct mf_connection){.name = "wrongport", .dsn = dsn_wrong_port};
    memset(&m, 0, sizeof m);
    m.connections = conns;
    m.n_connections = 5;
    m.egress = egress;
    m.n_egress = 1;
    pool = sql_pool_new(&m);
    return pool ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sql_pool_free(pool);
    free(dsn);
    return 0;
}

#define NEED_PG()                                                              \
    do {                                                                       \
        if (!dsn)                                                              \
            skip();                                                            \
    } while (0)

/* Runs sql on `conn` and returns the single value (malloc'd) or fails. */
static char *scalar(const char *conn, const char *sql, int n,
                    const char *const *params)
{
    cs_sql_result *r = NULL;
    char err[512] = "";
    int rc = sql_pool_query(pool, conn, sql, n, params, &r, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("%s: %s -> %d %s", conn, sql, rc, err);
    assert_int_equal(sql_result_nrows(r), 1);
    const char *v = sql_result_value(r, 0, 0);
    char *copy = v ? strdup(v) : NULL;
    sql_result_free(r);
    return copy;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- tests -------------------------------------------------------------- */

static void test_query_params_nulls_types(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[512] = "";
    assert_int_equal(sql_pool_query(pool, "main",
                                    "create type mood as enum ('ok', 'sad')", 0,
                                    NULL, &r, err, sizeof err),
                     CS_OK);
    assert_int_equal(sql_result_nrows(r), 0);
    sql_result_free(r);

    const char *params[] = {"42", "sad"};
    int rc = sql_pool_query(
        pool, "main",
        "select $1::int4 as n, null::text as t, 'x'::varchar as v, "
        "$2::mood as m, array[1,2]::int4[] as a, "
        "'2026-01-02 03:04:05+00'::timestamptz as ts, 1.5::numeric as num",
        2, params, &r, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("query failed: %s", err);
    assert_int_equal(sql_result_nrows(r), 1);
    assert_int_equal(sql_result_ncols(r), 7);
    const char *names[] = {"n", "t", "v", "m", "a", "ts", "num"};
    const char *types[] = {"int4",  "text",        "varchar", "mood",
                           "_int4", "timestamptz", "numeric"};
    for (int i = 0; i < 7; i++) {
        assert_string_equal(sql_result_colname(r, i), names[i]);
        assert_string_equal(sql_result_coltype(r, i), types[i]);
    }
    assert_string_equal(sql_result_coltype(r, 3), "mood"); /* cached */
    assert_string_equal(sql_result_value(r, 0, 0), "42");
    assert_null(sql_result_value(r, 0, 1));
    assert_string_equal(sql_result_value(r, 0, 2), "x");
    assert_string_equal(sql_result_value(r, 0, 3), "sad");
    assert_string_equal(sql_result_value(r, 0, 4), "{1,2}");
    assert_string_equal(sql_result_value(r, 0, 6), "1.5");
    assert_null(sql_result_value(r, 1, 0));
    assert_null(sql_result_value(r, 0, 7));
    assert_null(sql_result_coltype(r, 7));
    sql_result_free(r);
}

static void test_session_settings(void **state)
{
    (void)state;
    NEED_PG();
    char *v =
        scalar("main", "select current_setting('application_name')", 0, NULL);
    assert_string_equal(v, "catalog-sync");
    free(v);
    v = scalar("main", "show statement_timeout", 0, NULL);
    assert_string_equal(v, "30s");
    free(v);
    v = scalar("short", "show statement_timeout", 0, NULL);
    assert_string_equal(v, "100ms");
    free(v);
}

static void test_server_error_keeps_connection(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[512] = "";
    char *pid1 = scalar("main", "select pg_backend_pid()", 0, NULL);
    assert_int_equal(
        sql_pool_query(pool, "main", "selec 1", 0, NULL, &r, err, sizeof err),
        CS_ERR);
    assert_null(r);
    assert_non_null(strstr(err, "connection \"main\""));
    assert_non_null(strstr(err, "42601"));
    assert_non_null(strstr(err, "syntax error"));
    char *pid2 = scalar("main", "select pg_backend_pid()", 0, NULL);
    assert_string_equal(pid1, pid2);
    free(pid1);
    free(pid2);
}

static void test_statement_timeout(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[512] = "";
    double t0 = now_ms();
    assert_int_equal(sql_pool_query(pool, "short", "select pg_sleep(1)", 0,
                                    NULL, &r, err, sizeof err),
                     CS_ERR_TIMEOUT);
    assert_true(now_ms() - t0 < 900);
    assert_non_null(strstr(err, "57014"));
    assert_non_null(strstr(err, "connection \"short\""));
    char *v = scalar("short", "select 1", 0, NULL); /* still usable */
    assert_string_equal(v, "1");
    free(v);
}

static void test_unknown_connection(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[512] = "";
    assert_int_equal(
        sql_pool_query(pool, "nope", "select 1", 0, NULL, &r, err, sizeof err),
        CS_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "\"nope\""));
    assert_int_equal(
        sql_pool_query(pool, "main", NULL, 0, NULL, &r, err, sizeof err),
        CS_ERR_INVALID);
}

static void test_egress_refused(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[512] = "", want[128];
    double t0 = now_ms();
    assert_int_equal(sql_pool_query(pool, "blocked", "select 1", 0, NULL, &r,
                                    err, sizeof err),
                     CS_ERR_EGRESS);
    assert_true(now_ms() - t0 < 200);
    assert_null(r);
    assert_non_null(strstr(err, "connection \"blocked\""));
    snprintf(want, sizeof want,
             "localhost:%d is not in the manifest's egress list", pg_port);
    assert_non_null(strstr(err, want));

    /* nothing was opened under the probe's application_name */
    const char *params[] = {probe_app};
    char *n = scalar("main",
                     "select count(*) from pg_stat_activity "
                     "where application_name = $1",
                     1, params);
    assert_string_equal(n, "0");
    free(n);

    /* every host of a multi-host DSN must be allowed */
    assert_int_equal(
        sql_pool_query(pool, "multi", "select 1", 0, NULL, &r, err, sizeof err),
        CS_ERR_EGRESS);
    snprintf(want, sizeof want, "db.evil.example:%d", pg_port);
    assert_non_null(strstr(err, want));
}

static void wait_backend_gone(const char *pid)
{
    char *admin = pgtest_admin_dsn();
    assert_non_null(admin);
    PGconn *c = PQconnectdb(admin);
    free(admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *params[] = {pid};
    PGresult *res = PQexecParams(c, "select pg_terminate_backend($1::int)", 1,
                                 NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    for (int i = 0; i < 100; i++) {
        res = PQexecParams(c,
                           "select count(*) from pg_stat_activity "
                           "where pid = $1::int",
                           1, NULL, params, NULL, NULL, 0);
        int gone = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
        PQclear(res);
        if (gone)
            break;
        usleep(20000);
    }
    PQfinish(c);
}

static void test_reconnect_after_terminate(void **state)
{
    (void)state;
    NEED_PG();
    char *pid1 = scalar("main", "select pg_backend_pid()", 0, NULL);
    wait_backend_gone(pid1);
    char *pid2 = scalar("main", "select pg_backend_pid()", 0, NULL);
    assert_string_not_equal(pid1, pid2);
    free(pid1);
    free(pid2);
}

static void test_password_redacted(void **state)
{
    (void)state;
    NEED_PG();
    cs_sql_result *r = NULL;
    char err[1024] = "";
    int rc = sql_pool_query(pool, "wrongport", "select 1", 0, NULL, &r, err,
                            sizeof err);
    assert_int_equal(rc, CS_ERR_UNAVAILABLE);
    assert_null(r);
    assert_non_null(strstr(err, "connection \"wrongport\""));
    /* libpq names host and port; the DSN, password and all, stays out. */
    assert_non_null(strstr(err, "127.0.0.1"));
    assert_null(strstr(err, "hunter2secret"));
    assert_null(strstr(err, "password"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_params_nulls_types),
        cmocka_unit_test(test_session_settings),
        cmocka_unit_test(test_server_error_keeps_connection),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_unknown_connection),
        cmocka_unit_test(test_egress_refused),
        cmocka_unit_test(test_reconnect_after_terminate),
        cmocka_unit_test(test_password_redacted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
