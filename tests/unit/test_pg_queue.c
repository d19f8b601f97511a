/*
 * State store and job queue against a real Postgres (ctest fixture `pg`):
 * migrations, the run life cycle, claim exclusivity and leases, exactly
 * once completion, stage advancement, watermark commit and the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgtest.h"
#include "queue.h"
#include "state.h"

static char err[1024];

/* A connection to a fresh database, migrated; skips without a cluster. */
static PGconn *connect_dsn(const char *dsn)
{
    PGconn *c = state_connect(dsn, "test_pg_queue", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    return c;
}

static char *new_db(void)
{
    char *dsn = pgtest_new_database("queue");
    if (!dsn)
        skip();
    return dsn;
}

static PGconn *migrated(const char *dsn)
{
    PGconn *c = connect_dsn(dsn);
    assert_int_equal(state_migrate(c, err, sizeof err), STATE_SCHEMA_VERSION);
    return c;
}

/* The single value of a scalar query, as a number. */
static int64_t scalar(PGconn *c, const char *sql)
{
    PGresult *r = state_exec(c, sql, 0, NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(PQntuples(r), 1);
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void exec_ok(PGconn *c, const char *sql)
{
    if (state_exec_cmd(c, sql, 0, NULL, err, sizeof err) < 0)
        fail_msg("%s", err);
}

/* A processing run with n upsert entities t0..t{n-1} at stage 0. */
static int64_t processing_run(PGconn *c, size_t n, json_t *watermarks)
{
    int64_t run_id, claimed;
    bool created;
    assert_int_equal(queue_create_run(c, "manual", "tester", 1, &run_id,
                                      &created, err, sizeof err),
                     0);
    assert_int_equal(
        queue_claim_discovery(c, "disc", 60, &claimed, err, sizeof err), 1);
    assert_int_equal(claimed, run_id);
    struct discovered *items = calloc(n ? n : 1, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        char fqn[64];
        snprintf(fqn, sizeof fqn, "db.public.t%zu", i);
        items[i].fqn = strdup(fqn);
        items[i].source = "discovery_postgres";
        items[i].op = JOB_UPSERT;
        items[i].entity = json_pack("{s:s, s:i}", "name", fqn, "n", (int)i);
    }
    if (queue_commit_discovery(c, run_id, "disc", items, n, watermarks, 0, err,
                               sizeof err) < 0)
        fail_msg("%s", err);
    for (size_t i = 0; i < n; i++) {
        free(items[i].fqn);
        json_decref(items[i].entity);
    }
    free(items);
    return run_id;
}

/* ---- migrations and connection ---------------------------------------- */

static void test_migrate_idempotent(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    assert_int_equal(state_migrate(c, err, sizeof err), STATE_SCHEMA_VERSION);
    assert_int_equal(scalar(c, "SELECT count(*) FROM "
                               "catalog_sync.schema_migrations"),
                     STATE_SCHEMA_VERSION);
    PQfinish(c);
    free(dsn);
}

struct migrate_arg {
    const char *dsn;
    int version;
    char err[512];
};

static void *migrate_thread(void *p)
{
    struct migrate_arg *a = p;
    PGconn *c = state_connect(a->dsn, "migrate", a->err, sizeof a->err);
    a->version = c ? state_migrate(c, a->err, sizeof a->err) : -1;
    PQfinish(c);
    return NULL;
}

static void test_migrate_concurrent(void **state)
{
    char *dsn = new_db();
    struct migrate_arg a[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].dsn = dsn;
        assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        if (a[i].version != STATE_SCHEMA_VERSION)
            fail_msg("migration %d: %s", i, a[i].err);
    }
    PGconn *c = connect_dsn(dsn);
    assert_int_equal(scalar(c, "SELECT count(*) FROM "
                               "catalog_sync.schema_migrations"),
                     STATE_SCHEMA_VERSION);
    assert_int_equal(scalar(c, "SELECT count(*) FROM pg_tables WHERE "
                               "schemaname = 'catalog_sync'"),
                     9);
    PQfinish(c);
    free(dsn);
}

static void test_migrate_refuses_newer(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    exec_ok(c, "INSERT INTO catalog_sync.schema_migrations VALUES (99, "
               "now())");
    assert_int_equal(state_migrate(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 99"));
    assert_non_null(strstr(err, "newer"));
    /* Refusing changed nothing. */
    assert_int_equal(
        scalar(c, "SELECT max(version) FROM catalog_sync.schema_migrations"),
        99);
    PQfinish(c);
    free(dsn);
}

static void test_connect_error_redacts_password(void **state)
{
    const char *dsns[] = {
        "host=127.0.0.1 port=1 user=u password=Sup3rSecret dbname=x",
        "postgresql://u:Sup3rSecret@127.0.0.1:1/x",
        "postgresql://u@127.0.0.1:1/x?password=Sup3rSecret",
    };
    for (size_t i = 0; i < sizeof dsns / sizeof dsns[0]; i++) {
        err[0] = '\0';
        assert_null(state_connect(dsns[i], "t", err, sizeof err));
        assert_non_null(strstr(err, "cannot connect"));
        assert_non_null(strstr(err, "127.0.0.1"));
        if (strstr(err, "Sup3rSecret"))
            fail_msg("password leaked: %s", err);
    }
}

static void test_exec_error_names_statement(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    assert_int_equal(state_exec_cmd(c, "SELECT   nope FROM\n nowhere", 0, NULL,
                                    err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "SELECT nope FROM nowhere"));
    assert_non_null(strstr(err, "nowhere\" does not exist"));
    PQfinish(c);
    free(dsn);
}

/* ---- runs and discovery ----------------------------------------------- */

static void test_create_run_returns_active(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    int64_t a, b, active;
    bool created;
    assert_int_equal(
        queue_create_run(c, "schedule", NULL, 1, &a, &created, err, sizeof err),
        0);
    assert_true(created);
    assert_int_equal(
        queue_create_run(c, "manual", "op", 1, &b, &created, err, sizeof err),
        0);
    assert_false(created);
    assert_int_equal(a, b);
    assert_int_equal(queue_active_run(c, &active, err, sizeof err), 0);
    assert_int_equal(active, a);
    assert_int_equal(queue_fail_run(c, a, "test", err, sizeof err), 0);
    assert_int_equal(queue_active_run(c, &active, err, sizeof err), 0);
    assert_int_equal(active, 0);
    assert_int_equal(
        queue_create_run(c, "manual", "op", 2, &b, &created, err, sizeof err),
        0);
    assert_true(created);
    assert_true(b > a);
    PQfinish(c);
    free(dsn);
}

static void test_discovery_claim_and_lease(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    int64_t run_id, got;
    bool created;
    assert_int_equal(queue_create_run(c, "manual", NULL, 1, &run_id, &created,
                                      err, sizeof err),
                     0);
    assert_int_equal(queue_claim_discovery(c, "A", 60, &got, err, sizeof err),
                     1);
    assert_int_equal(got, run_id);
    assert_int_equal(queue_claim_discovery(c, "B", 60, &got, err, sizeof err),
                     0);
    /* A renews, B still cannot take it; then A's lease runs out. */
    assert_int_equal(queue_renew_leases(c, "A", 60, err, sizeof err), 0);
    assert_int_equal(queue_claim_discovery(c, "B", 60, &got, err, sizeof err),
                     0);
    exec_ok(c, "UPDATE catalog_sync.runs SET lease_until = now() - "
               "interval '1 second'");
    assert_int_equal(queue_claim_discovery(c, "B", 60, &got, err, sizeof err),
                     1);
    assert_int_equal(got, run_id);

    struct discovered d = {"db.s.t", "src", JOB_UPSERT,
                           json_pack("{s:s}", "name", "t")};
    json_t *wm = json_pack("{s:i}", "src", 7);
    /* A lost the run: its commit is refused and writes nothing. */
    assert_int_equal(
        queue_commit_discovery(c, run_id, "A", &d, 1, wm, 0, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "no longer held by A"));
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.jobs"), 0);
    assert_int_equal(
        queue_commit_discovery(c, run_id, "B", &d, 1, wm, 0, err, sizeof err),
        0);
    /* A second commit of the same run is refused too. */
    assert_int_equal(
        queue_commit_discovery(c, run_id, "B", &d, 1, wm, 0, err, sizeof err),
        -1);
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.jobs"), 1);
    struct run_row row;
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_string_equal(row.status, "processing");
    assert_int_equal(row.total, 1);
    assert_int_equal(row.queued, 1);
    assert_true(row.started_at > 0);
    assert_true(row.finished_at == 0);
    queue_run_row_clear(&row);
    /* Staged, not committed. */
    json_t *v = NULL;
    assert_int_equal(queue_get_watermark(c, "src", &v, err, sizeof err), 0);
    assert_null(v);
    json_decref(d.entity);
    json_decref(wm);
    PQfinish(c);
    free(dsn);
}

static void test_commit_many_and_empty(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t run_id = processing_run(c, 10000, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("commit_discovery of 10000 entities: %.3f s\n", secs);
    assert_true(secs < 20);
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.jobs "
                               "WHERE status = 'queued' AND stage = 0"),
                     10000);
    assert_int_equal(scalar(c, "SELECT entities_total FROM catalog_sync.runs"),
                     10000);
    assert_int_equal(
        scalar(c, "SELECT (entity->>'n')::int FROM catalog_sync.jobs WHERE "
                  "fqn = 'db.public.t4242'"),
        4242);
    exec_ok(c, "DELETE FROM catalog_sync.runs");

    /* Nothing discovered: the run completes at once, watermark committed. */
    json_t *wm = json_pack("{s:{s:s}}", "src", "hash", "abc");
    run_id = processing_run(c, 0, wm);
    struct run_row row;
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_string_equal(row.status, "completed");
    assert_int_equal(row.total, 0);
    assert_true(row.finished_at > 0);
    queue_run_row_clear(&row);
    json_t *v = NULL;
    assert_int_equal(queue_get_watermark(c, "src", &v, err, sizeof err), 1);
    assert_true(json_equal(v, json_object_get(wm, "src")));
    json_decref(v);
    json_decref(wm);
    PQfinish(c);
    free(dsn);
}

/* ---- claiming --------------------------------------------------------- */

static void test_claim_exclusive_two_connections(void **state)
{
    char *dsn = new_db();
    PGconn *a = migrated(dsn), *b = connect_dsn(dsn);
    processing_run(a, 100, NULL);
    struct job *ja, *jb;
    size_t na, nb;
    assert_int_equal(
        queue_claim_jobs(a, "A", 60, 60, &ja, &na, err, sizeof err), 0);
    assert_int_equal(
        queue_claim_jobs(b, "B", 60, 60, &jb, &nb, err, sizeof err), 0);
    assert_int_equal(na, 60);
    assert_int_equal(nb, 40);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(ja[i].attempts, 1);
        assert_non_null(ja[i].entity);
        assert_string_equal(
            json_string_value(json_object_get(ja[i].entity, "name")),
            ja[i].fqn);
        for (size_t k = 0; k < nb; k++)
            assert_true(ja[i].id != jb[k].id);
    }
    /* Batches come in id order. */
    for (size_t i = 1; i < na; i++)
        assert_true(ja[i - 1].id < ja[i].id);
    size_t nc;
    struct job *jc;
    assert_int_equal(
        queue_claim_jobs(b, "B", 60, 60, &jc, &nc, err, sizeof err), 0);
    assert_int_equal(nc, 0);
    queue_jobs_free(ja, na);
    queue_jobs_free(jb, nb);
    PQfinish(a);
    PQfinish(b);
    free(dsn);
}

static void test_retried_jobs_claimed_alone(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    processing_run(c, 10, NULL);
    struct job *j;
    size_t n;
    /* Three jobs claimed by a worker that dies (leases expire). */
    assert_int_equal(
        queue_claim_jobs(c, "dead", 60, 3, &j, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    int64_t first = j[0].id;
    queue_jobs_free(j, n);
    exec_ok(c, "UPDATE catalog_sync.jobs SET lease_until = now() - "
               "interval '1 second' WHERE owner = 'dead'");
    /* Fresh jobs exist: a batch of fresh ones only. */
    assert_int_equal(queue_claim_jobs(c, "w", 60, 100, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(j[i].attempts, 1);
    queue_jobs_free(j, n);
    /* Only retried ones left: one per claim. */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(
            queue_claim_jobs(c, "w", 60, 100, &j, &n, err, sizeof err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(j[0].attempts, 2);
        if (k == 0)
            assert_int_equal(j[0].id, first);
        queue_jobs_free(j, n);
    }
    assert_int_equal(queue_claim_jobs(c, "w", 60, 100, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 0);
    PQfinish(c);
    free(dsn);
}

static json_t *two_aspects(void)
{
    return json_pack("{s:{s:i}, s:[s]}", "profile", "rows", 5, "pii", "email");
}

static void test_lease_expiry_and_lost_claim(void **state)
{
    char *dsn = new_db();
    PGconn *a = migrated(dsn), *b = connect_dsn(dsn);
    processing_run(a, 1, NULL);
    struct job *ja, *jb;
    size_t na, nb;
    assert_int_equal(
        queue_claim_jobs(a, "A", 60, 10, &ja, &na, err, sizeof err), 0);
    assert_int_equal(na, 1);
    assert_int_equal(
        queue_claim_jobs(b, "B", 60, 10, &jb, &nb, err, sizeof err), 0);
    assert_int_equal(nb, 0);
    exec_ok(a, "UPDATE catalog_sync.jobs SET lease_until = now() - "
               "interval '1 second'");
    assert_int_equal(
        queue_claim_jobs(b, "B", 60, 10, &jb, &nb, err, sizeof err), 0);
    assert_int_equal(nb, 1);
    assert_int_equal(jb[0].id, ja[0].id);
    assert_int_equal(jb[0].attempts, 2);
    /* A's renewal no longer touches the job; its completion is a no-op. */
    assert_int_equal(queue_renew_leases(a, "A", 60, err, sizeof err), 0);
    assert_int_equal(scalar(a, "SELECT count(*) FROM catalog_sync.jobs "
                               "WHERE owner = 'B' AND status = 'running'"),
                     1);
    json_t *asp = two_aspects();
    assert_int_equal(queue_complete_job(a, &ja[0], "A", asp, NULL, false,
                                        "profile", err, sizeof err),
                     0);
    assert_int_equal(scalar(a, "SELECT count(*) FROM catalog_sync.aspects"), 0);
    assert_int_equal(scalar(a, "SELECT count(*) FROM catalog_sync.audit_log"),
                     0);
    assert_int_equal(queue_renew_leases(b, "B", 60, err, sizeof err), 0);
    assert_int_equal(queue_complete_job(b, &jb[0], "B", asp, NULL, false,
                                        "profile", err, sizeof err),
                     1);
    /* Completing twice does nothing the second time. */
    assert_int_equal(queue_complete_job(b, &jb[0], "B", asp, NULL, false,
                                        "profile", err, sizeof err),
                     0);
    assert_int_equal(scalar(a, "SELECT count(*) FROM catalog_sync.aspects"), 2);
    assert_int_equal(scalar(a, "SELECT count(*) FROM catalog_sync.audit_log"),
                     1);
    json_decref(asp);
    queue_jobs_free(ja, na);
    queue_jobs_free(jb, nb);
    PQfinish(a);
    PQfinish(b);
    free(dsn);
}

/* ---- completing ------------------------------------------------------- */

static void test_complete_job_writes_aspects_and_audit(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    int64_t run_id = processing_run(c, 2, NULL);
    struct job *j;
    size_t n;
    assert_int_equal(queue_claim_jobs(c, "w", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 2);
    json_t *asp = two_aspects();
    assert_int_equal(queue_complete_job(c, &j[0], "w", asp, NULL, false,
                                        "profile,pii", err, sizeof err),
                     1);
    json_t *errors = json_pack("{s:s}", "pii", "recognizer timed out");
    json_t *partial = json_pack("{s:{s:i}}", "profile", "rows", 9);
    assert_int_equal(queue_complete_job(c, &j[1], "w", partial, errors, true,
                                        "profile", err, sizeof err),
                     1);
    json_t *v = NULL;
    assert_int_equal(
        queue_get_aspect(c, j[0].fqn, "profile", &v, err, sizeof err), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "rows")), 5);
    json_decref(v);
    assert_int_equal(queue_get_aspect(c, j[0].fqn, "fk", &v, err, sizeof err),
                     0);
    assert_null(v);

    PGresult *r = state_exec(
        c,
        "SELECT entity, action, target, new_value::text, "
        "evidence->>'job_id', evidence->>'passes', run_id, pass FROM "
        "catalog_sync.audit_log ORDER BY id",
        0, NULL, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 2);
    assert_string_equal(PQgetvalue(r, 0, 0), j[0].fqn);
    assert_string_equal(PQgetvalue(r, 0, 1), "aspects.write");
    assert_string_equal(PQgetvalue(r, 0, 2), "state:catalog_sync.aspects");
    assert_string_equal(PQgetvalue(r, 0, 3), "[\"pii\", \"profile\"]");
    assert_int_equal(strtoll(PQgetvalue(r, 0, 4), NULL, 10), j[0].id);
    assert_string_equal(PQgetvalue(r, 0, 5), "profile,pii");
    assert_int_equal(strtoll(PQgetvalue(r, 0, 6), NULL, 10), run_id);
    PQclear(r);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'failed' AND last_error = 'pii: recognizer timed out' "
                  "AND errors->>'pii' = 'recognizer timed out'"),
        1);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'done' AND finished_at IS NOT NULL"),
        1);
    /* A value Postgres cannot store fails the whole statement. */
    json_t *nul = json_pack("{s:s%}", "x", "a\0b", (size_t)3);
    exec_ok(c, "UPDATE catalog_sync.jobs SET status = 'running', owner = "
               "'w'");
    assert_int_equal(queue_complete_job(c, &j[0], "w", nul, NULL, false, "p",
                                        err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "cs_complete_upsert"));
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.audit_log"),
                     2);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'running'"),
        2);
    json_decref(nul);
    /* A non-object aspects argument is refused before any write. */
    json_t *bad = json_array();
    assert_int_equal(queue_complete_job(c, &j[0], "w", bad, NULL, false, "p",
                                        err, sizeof err),
                     -1);
    assert_non_null(strstr(err, j[0].fqn));
    json_decref(bad);
    json_decref(asp);
    json_decref(errors);
    json_decref(partial);
    queue_jobs_free(j, n);
    PQfinish(c);
    free(dsn);
}

static void test_delete_job_removes_aspects(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    json_t *val = json_pack("{s:i}", "rows", 1);
    assert_int_equal(queue_put_aspect(c, 0, "profile", "db.s.gone", "profile",
                                      val, err, sizeof err),
                     0);
    assert_int_equal(
        queue_put_aspect(c, 0, "fk", "db.s.gone", "fk", val, err, sizeof err),
        0);
    json_decref(val);
    int64_t run_id, got;
    bool created;
    assert_int_equal(queue_create_run(c, "manual", NULL, 1, &run_id, &created,
                                      err, sizeof err),
                     0);
    assert_int_equal(queue_claim_discovery(c, "d", 60, &got, err, sizeof err),
                     1);
    struct discovered d = {"db.s.gone", "src", JOB_DELETE, NULL};
    assert_int_equal(
        queue_commit_discovery(c, run_id, "d", &d, 1, NULL, 0, err, sizeof err),
        0);
    struct job *j;
    size_t n;
    assert_int_equal(queue_claim_jobs(c, "w", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(j[0].op, JOB_DELETE);
    assert_null(j[0].entity);
    if (queue_complete_job(c, &j[0], "w", NULL, NULL, false, "", err,
                           sizeof err) != 1)
        fail_msg("%s", err);
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.aspects"), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.audit_log WHERE action "
                  "= 'aspects.delete' AND entity = 'db.s.gone' AND "
                  "old_value = '[\"fk\", \"profile\"]'"),
        1);
    queue_jobs_free(j, n);
    PQfinish(c);
    free(dsn);
}

static void test_record_crash_fails_after_max(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    processing_run(c, 1, NULL);
    struct job *j;
    size_t n;
    assert_int_equal(queue_claim_jobs(c, "w1", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 1);
    int64_t id = j[0].id;
    queue_jobs_free(j, n);
    assert_int_equal(
        queue_record_crash(c, id, 2, "SIGSEGV in profile", err, sizeof err), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'queued' AND crashes = 1 AND owner IS NULL"),
        1);
    assert_int_equal(queue_claim_jobs(c, "w2", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(j[0].crashes, 1);
    assert_int_equal(j[0].attempts, 2);
    queue_jobs_free(j, n);
    assert_int_equal(
        queue_record_crash(c, id, 2, "SIGSEGV in profile", err, sizeof err), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'failed' AND crashes = 2 AND last_error = 'SIGSEGV in "
                  "profile'"),
        1);
    assert_int_equal(queue_claim_jobs(c, "w3", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 0);
    PQfinish(c);
    free(dsn);
}

static void test_claim_cap_fails_endless_job(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    processing_run(c, 2, NULL);
    /* One job was claimed 4 times, its worker killed each time. */
    exec_ok(c, "UPDATE catalog_sync.jobs SET status = 'running', owner = "
               "'x', attempts = 4, lease_until = now() - interval '1 s' "
               "WHERE fqn = 'db.public.t0'");
    struct job *j;
    size_t n;
    assert_int_equal(
        queue_claim_jobs_capped(c, "w", 60, 10, 4, &j, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(j[0].fqn, "db.public.t1");
    queue_jobs_free(j, n);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE fqn = "
                  "'db.public.t0' AND status = 'failed' AND last_error = "
                  "'claimed 4 times without completing (worker killed?)'"),
        1);
    PQfinish(c);
    free(dsn);
}

static void test_release_owner(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    processing_run(c, 4, NULL);
    const char *owners[] = {"h:1:2:t1", "h:1:2:t2", "h:1:20:t1", "h:1:2:t1"};
    struct job *j;
    size_t n;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            queue_claim_jobs(c, owners[i], 600, 1, &j, &n, err, sizeof err), 0);
        assert_int_equal(n, 1);
        queue_jobs_free(j, n);
    }
    /* Renewal by process prefix covers both threads, not generation 20. */
    exec_ok(c, "UPDATE catalog_sync.jobs SET lease_until = now()");
    assert_int_equal(queue_renew_leases(c, "h:1:2", 600, err, sizeof err), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE lease_until "
                  "> now() + interval '1 minute'"),
        2);
    assert_int_equal(queue_release_owner(c, "h:1:2", err, sizeof err), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'queued' AND crashes = 0 AND attempts = 1 AND owner IS "
                  "NULL"),
        2);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'running' AND owner = 'h:1:20:t1'"),
        1);
    /* A fresh job is still there; then the released ones come one at a
     * time (they were claimed before). */
    assert_int_equal(
        queue_claim_jobs(c, owners[3], 60, 10, &j, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(j[0].attempts, 1);
    queue_jobs_free(j, n);
    assert_int_equal(
        queue_claim_jobs(c, owners[3], 60, 10, &j, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(j[0].attempts, 2);
    queue_jobs_free(j, n);
    PQfinish(c);
    free(dsn);
}

/* ---- stages, completion, report --------------------------------------- */

/* Claims everything claimable and completes each job; `fail_fqn` fails. */
static void drain(PGconn *c, const char *fail_fqn)
{
    for (;;) {
        struct job *j;
        size_t n;
        assert_int_equal(
            queue_claim_jobs(c, "w", 60, 50, &j, &n, err, sizeof err), 0);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            bool fail = fail_fqn && strcmp(j[i].fqn, fail_fqn) == 0;
            char name[32];
            snprintf(name, sizeof name, "s%d", j[i].stage);
            json_t *asp = json_pack("{s:i}", name, j[i].stage);
            json_t *errs = fail ? json_pack("{s:s}", "p", "boom") : NULL;
            assert_int_equal(queue_complete_job(c, &j[i], "w", asp, errs, fail,
                                                "p", err, sizeof err),
                             1);
            json_decref(asp);
            json_decref(errs);
        }
        queue_jobs_free(j, n);
    }
}

static bool ready(PGconn *c, int64_t run_id, int *stage)
{
    int64_t *ids;
    int *stages;
    size_t n;
    assert_int_equal(
        queue_runs_ready_to_advance(c, &ids, &stages, &n, err, sizeof err), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == run_id) {
            found = true;
            *stage = stages[i];
        }
    }
    free(ids);
    free(stages);
    return found;
}

static void test_advance_flow_and_report(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn), *other = connect_dsn(dsn);
    json_t *old = json_pack("{s:i}", "v", 1);
    assert_int_equal(queue_audit(c, 0, "test", NULL, "t", "seed", NULL, NULL,
                                 old, NULL, err, sizeof err),
                     0);
    exec_ok(c, "INSERT INTO catalog_sync.watermarks (source, value) VALUES "
               "('src', '{\"v\": 1}')");
    json_t *wm = json_pack("{s:{s:i}}", "src", "v", 2);
    int64_t run_id = processing_run(c, 3, wm);
    int stage = -1;
    assert_false(ready(c, run_id, &stage));
    drain(c, "db.public.t1");
    assert_true(ready(c, run_id, &stage));
    assert_int_equal(stage, 0);
    struct run_row row;
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_int_equal(row.done, 2);
    assert_int_equal(row.failed, 1);
    assert_int_equal(row.queued + row.running, 0);
    queue_run_row_clear(&row);

    assert_int_equal(queue_try_lock_run(c, run_id, err, sizeof err), 1);
    assert_int_equal(queue_try_lock_run(other, run_id, err, sizeof err), 0);
    assert_int_equal(queue_enqueue_stage(c, run_id, 1, err, sizeof err), 2);
    assert_int_equal(queue_enqueue_stage(c, run_id, 1, err, sizeof err), 0);
    assert_false(ready(c, run_id, &stage));
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_int_equal(row.stage, 1);
    assert_int_equal(row.queued, 2);
    assert_int_equal(row.failed, 1);
    assert_int_equal(row.total, 3);
    queue_run_row_clear(&row);
    drain(c, NULL);
    assert_true(ready(c, run_id, &stage));
    assert_int_equal(stage, 1);
    /* A batch stage has no jobs; the entity stage after it copies from
     * stage 1. */
    assert_int_equal(queue_set_stage(c, run_id, 2, err, sizeof err), 0);
    assert_true(ready(c, run_id, &stage));
    assert_int_equal(stage, 2);
    char **fqns;
    size_t nf;
    assert_int_equal(queue_run_entities(c, run_id, &fqns, &nf, err, sizeof err),
                     0);
    assert_int_equal(nf, 3);
    assert_string_equal(fqns[0], "db.public.t0");
    assert_string_equal(fqns[2], "db.public.t2");
    for (size_t i = 0; i < nf; i++)
        free(fqns[i]);
    free(fqns);
    assert_int_equal(queue_enqueue_stage(c, run_id, 3, err, sizeof err), 2);
    /* Not while jobs are open; the watermark waits for the run. */
    assert_int_equal(queue_complete_run(c, run_id, err, sizeof err), -1);
    assert_non_null(strstr(err, "still has 2 queued or running jobs"));
    json_t *v = NULL;
    assert_int_equal(queue_get_watermark(c, "src", &v, err, sizeof err), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "v")), 1);
    json_decref(v);
    drain(c, NULL);
    assert_true(ready(c, run_id, &stage));
    assert_int_equal(queue_complete_run(c, run_id, err, sizeof err), 0);
    assert_int_equal(queue_complete_run(c, run_id, err, sizeof err), -1);
    assert_int_equal(queue_unlock_run(c, run_id, err, sizeof err), 0);
    assert_int_equal(queue_try_lock_run(other, run_id, err, sizeof err), 1);
    assert_false(ready(c, run_id, &stage));

    assert_int_equal(queue_get_watermark(c, "src", &v, err, sizeof err), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "v")), 2);
    json_decref(v);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.audit_log WHERE action "
                  "= 'watermark.commit' AND pass = 'src' AND target = "
                  "'state:catalog_sync.watermarks' AND old_value = "
                  "'{\"v\": 1}' AND new_value = '{\"v\": 2}'"),
        1);
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_string_equal(row.status, "completed");
    assert_int_equal(row.done, 2);
    assert_int_equal(row.failed, 1);
    assert_int_equal(row.total, 3);
    assert_string_equal(row.requested_by, "tester");
    queue_run_row_clear(&row);

    json_t *rep = NULL;
    assert_int_equal(queue_run_report(c, run_id, &rep, err, sizeof err), 0);
    json_t *run = json_object_get(rep, "run");
    assert_string_equal(json_string_value(json_object_get(run, "status")),
                        "completed");
    assert_int_equal(json_integer_value(json_object_get(run, "id")), run_id);
    assert_null(json_object_get(run, "pending_watermarks"));
    json_t *ents = json_object_get(rep, "entities");
    assert_int_equal(json_object_size(ents), 3);
    json_t *t0 = json_object_get(ents, "db.public.t0");
    json_t *t1 = json_object_get(ents, "db.public.t1");
    assert_string_equal(json_string_value(json_object_get(t0, "status")),
                        "done");
    assert_string_equal(json_string_value(json_object_get(t0, "op")), "upsert");
    json_t *asp = json_object_get(t0, "aspects");
    /* s0, s1, s3, and `table` from the job row */
    assert_int_equal(json_object_size(asp), 4);
    assert_true(json_is_object(json_object_get(asp, "table")));
    assert_int_equal(json_integer_value(json_object_get(asp, "s3")), 3);
    assert_string_equal(json_string_value(json_object_get(t1, "status")),
                        "failed");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t1, "errors"), "p")),
        "boom");
    json_decref(rep);
    assert_int_equal(queue_run_report(c, 9999, &rep, err, sizeof err), -1);
    /* The failures alone, as `once` without --report reads them. */
    json_t *fails = NULL;
    assert_int_equal(queue_run_failures(c, run_id, &fails, err, sizeof err), 0);
    assert_int_equal(json_array_size(fails), 1);
    json_t *f0 = json_array_get(fails, 0);
    assert_string_equal(json_string_value(json_object_get(f0, "fqn")),
                        "db.public.t1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f0, "errors"), "p")),
        "boom");
    json_decref(fails);
    json_decref(old);
    json_decref(wm);
    PQfinish(c);
    PQfinish(other);
    free(dsn);
}

static void test_fail_run_closes_jobs(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    int64_t run_id = processing_run(c, 4, NULL);
    assert_int_equal(
        queue_fail_run(c, run_id, "source vanished", err, sizeof err), 0);
    struct run_row row;
    assert_int_equal(queue_get_run(c, run_id, &row, err, sizeof err), 1);
    assert_string_equal(row.status, "failed");
    assert_string_equal(row.error, "source vanished");
    assert_int_equal(row.failed, 4);
    queue_run_row_clear(&row);
    struct job *j;
    size_t n;
    assert_int_equal(queue_claim_jobs(c, "w", 60, 10, &j, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 0);
    struct run_row *rows;
    assert_int_equal(queue_list_runs(c, 10, &rows, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, run_id);
    queue_run_row_clear(&rows[0]);
    free(rows);
    PQfinish(c);
    free(dsn);
}

static void test_pass_state_and_aspects(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    json_t *v = json_pack("{s:s}", "cursor", "abc"), *got = NULL;
    assert_int_equal(queue_state_get(c, "p", "k", &got, err, sizeof err), 0);
    assert_int_equal(queue_state_put(c, "p", "k", v, err, sizeof err), 0);
    assert_int_equal(queue_state_get(c, "p", "k", &got, err, sizeof err), 1);
    assert_true(json_equal(got, v));
    json_decref(got);
    assert_int_equal(queue_state_put(c, "p", "k", NULL, err, sizeof err), 0);
    assert_int_equal(queue_state_get(c, "p", "k", &got, err, sizeof err), 0);
    json_t *fp = json_integer(7);
    assert_int_equal(queue_put_aspect(c, 0, "fk", "a.b.c", "fingerprint", fp,
                                      err, sizeof err),
                     0);
    assert_int_equal(queue_put_aspect(c, 0, "fk", "a.b.d", "fingerprint", v,
                                      err, sizeof err),
                     0);
    json_t *all = NULL;
    assert_int_equal(queue_all_aspects(c, "fingerprint", &all, err, sizeof err),
                     0);
    assert_int_equal(json_object_size(all), 2);
    assert_int_equal(json_integer_value(json_object_get(all, "a.b.c")), 7);
    json_decref(all);
    assert_int_equal(queue_all_aspects(c, "nothing", &all, err, sizeof err), 0);
    assert_int_equal(json_object_size(all), 0);
    json_decref(all);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.audit_log WHERE action "
                  "= 'aspects.write' AND field = 'fingerprint'"),
        2);
    json_decref(fp);
    json_decref(v);
    PQfinish(c);
    free(dsn);
}

/* ---- concurrency ------------------------------------------------------ */

struct worker_arg {
    const char *dsn;
    const char *owner;
    long completed;
    char err[512];
};

static void *worker_thread(void *p)
{
    struct worker_arg *a = p;
    PGconn *c = state_connect(a->dsn, a->owner, a->err, sizeof a->err);
    json_t *asp = json_pack("{s:b}", "noop", 1);
    int idle = 0;
    while (c && idle < 3) {
        struct job *j;
        size_t n;
        if (queue_claim_jobs(c, a->owner, 60, 32, &j, &n, a->err,
                             sizeof a->err) < 0)
            break;
        idle = n ? 0 : idle + 1;
        for (size_t i = 0; i < n; i++) {
            int rc = queue_complete_job(c, &j[i], a->owner, asp, NULL, false,
                                        "noop", a->err, sizeof a->err);
            if (rc == 1)
                a->completed++;
        }
        queue_jobs_free(j, n);
    }
    json_decref(asp);
    PQfinish(c);
    return NULL;
}

static void test_two_workers_complete_each_job_once(void **state)
{
    char *dsn = new_db();
    PGconn *c = migrated(dsn);
    /* CS_QUEUE_BENCH_N scales the run up for a throughput measurement. */
    const char *env = getenv("CS_QUEUE_BENCH_N");
    long total = env && atol(env) > 0 ? atol(env) : 2000;
    processing_run(c, (size_t)total, NULL);
    struct worker_arg a[2] = {{dsn, "w1", 0, ""}, {dsn, "w2", 0, ""}};
    pthread_t t[2];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("2 workers: %ld jobs in %.3f s (%.0f jobs/s); w1 %ld, "
                  "w2 %ld\n",
                  total, secs, (double)total / secs, a[0].completed,
                  a[1].completed);
    if (a[0].err[0] || a[1].err[0])
        fail_msg("worker error: %s / %s", a[0].err, a[1].err);
    assert_int_equal(a[0].completed + a[1].completed, total);
    assert_true(a[0].completed > 0 && a[1].completed > 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.audit_log WHERE action "
                  "= 'aspects.write'"),
        total);
    assert_int_equal(scalar(c,
                            "SELECT count(DISTINCT evidence->>'job_id') FROM "
                            "catalog_sync.audit_log"),
                     total);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.jobs WHERE status = "
                  "'done' AND attempts = 1"),
        total);
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.aspects"),
                     total);
    PQfinish(c);
    free(dsn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_idempotent),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_migrate_refuses_newer),
        cmocka_unit_test(test_connect_error_redacts_password),
        cmocka_unit_test(test_exec_error_names_statement),
        cmocka_unit_test(test_create_run_returns_active),
        cmocka_unit_test(test_discovery_claim_and_lease),
        cmocka_unit_test(test_commit_many_and_empty),
        cmocka_unit_test(test_claim_exclusive_two_connections),
        cmocka_unit_test(test_retried_jobs_claimed_alone),
        cmocka_unit_test(test_lease_expiry_and_lost_claim),
        cmocka_unit_test(test_complete_job_writes_aspects_and_audit),
        cmocka_unit_test(test_delete_job_removes_aspects),
        cmocka_unit_test(test_record_crash_fails_after_max),
        cmocka_unit_test(test_claim_cap_fails_endless_job),
        cmocka_unit_test(test_release_owner),
        cmocka_unit_test(test_advance_flow_and_report),
        cmocka_unit_test(test_fail_run_closes_jobs),
        cmocka_unit_test(test_pass_state_and_aspects),
        cmocka_unit_test(test_two_workers_complete_each_job_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
