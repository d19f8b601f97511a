/*
 * Targeted runs in the state store (ctest fixture `pg`): migration 2 on a
 * version-1 store, pending targets deduplicated per entity (newest event
 * wins), a 'webhook' run only when targets wait and nothing is active, the
 * discovery claim assigning every pending target to a 'webhook' run (and
 * only to one), a lease loss handing the same targets to the next claim,
 * and the audit rows of all of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "queue.h"
#include "state.h"

#define E1 "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d41"
#define E2 "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d42"
#define E3 "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d43"

static char err[1024];

static PGconn *fresh_store(void)
{
    char *dsn = pgtest_new_database("targets");
    if (!dsn)
        skip();
    PGconn *c = state_connect(dsn, "test_pg_targets", err, sizeof err);
    free(dsn);
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(state_migrate(c, err, sizeof err), STATE_SCHEMA_VERSION);
    return c;
}

static int64_t scalar(PGconn *c, const char *sql)
{
    PGresult *r = state_exec(c, sql, 0, NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(PQntuples(r), 1);
    int64_t v =
        PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The single text value of a query ("" for SQL NULL); caller frees. */
static char *text(PGconn *c, const char *sql)
{
    PGresult *r = state_exec(c, sql, 0, NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(PQntuples(r), 1);
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

static void exec_ok(PGconn *c, const char *sql)
{
    if (state_exec_cmd(c, sql, 0, NULL, err, sizeof err) < 0)
        fail_msg("%s", err);
}

/* Adds a target; returns its pending row id (0 when dropped). */
static int64_t add(PGconn *c, const char *id, const char *fqn,
                   const char *event, int64_t ts, bool *merged)
{
    json_t *evidence = json_pack("{s:s}", "via", "test");
    struct run_target t = {"openmetadata", id,     fqn,     event,
                           "event-1",      ts * 1, evidence};
    int64_t target = -1;
    bool m = false;
    if (queue_add_target(c, &t, &target, &m, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(evidence);
    if (merged)
        *merged = m;
    return target;
}

static int64_t pending(PGconn *c)
{
    return scalar(c, "SELECT count(*) FROM catalog_sync.run_targets WHERE "
                     "run_id IS NULL");
}

/* Completes the run's discovery with nothing found, so the run ends. */
static void finish_empty(PGconn *c, int64_t run_id, const char *owner)
{
    if (queue_commit_discovery(c, run_id, owner, NULL, 0, NULL, 0, err,
                               sizeof err) != 0)
        fail_msg("%s", err);
}

static void test_migration_2_upgrades_version_1(void **state)
{
    PGconn *c = fresh_store();
    exec_ok(c, "DROP TABLE catalog_sync.run_targets");
    exec_ok(c, "DELETE FROM catalog_sync.schema_migrations WHERE version = 2");
    assert_int_equal(state_migrate(c, err, sizeof err), 2);
    assert_int_equal(scalar(c, "SELECT count(*) FROM "
                               "catalog_sync.schema_migrations"),
                     2);
    assert_int_equal(pending(c), 0);
    PQfinish(c);
}

static void test_pending_target_per_entity(void **state)
{
    PGconn *c = fresh_store();
    bool merged = true;
    int64_t first = add(c, E1, "svc.db.s.t1", "updated", 1000, &merged);
    assert_true(first > 0);
    assert_false(merged);
    /* A newer event for the same table replaces the pending one. */
    assert_int_equal(add(c, E1, NULL, "deleted", 2000, &merged), first);
    assert_true(merged);
    char *ev = text(c, "SELECT event || ' ' || fqn FROM "
                       "catalog_sync.run_targets");
    assert_string_equal(ev, "deleted svc.db.s.t1"); /* fqn kept */
    free(ev);
    /* An older one, delivered late, changes nothing. */
    assert_int_equal(add(c, E1, "svc.db.s.t1", "updated", 1500, &merged), 0);
    assert_true(merged);
    ev = text(c, "SELECT event FROM catalog_sync.run_targets");
    assert_string_equal(ev, "deleted");
    free(ev);
    assert_true(add(c, E2, NULL, "created", 1000, &merged) > first);
    assert_false(merged);
    assert_int_equal(pending(c), 2);
    /* One audit row per write: add, update, add. */
    ev = text(c, "SELECT string_agg(action || ':' || entity, ',' ORDER BY id) "
                 "FROM catalog_sync.audit_log");
    assert_string_equal(ev, "run_target.add:svc.db.s.t1,"
                            "run_target.update:svc.db.s.t1,"
                            "run_target.add:" E2);
    free(ev);
    ev = text(c, "SELECT evidence->>'via' FROM catalog_sync.audit_log LIMIT 1");
    assert_string_equal(ev, "test");
    free(ev);
    PQfinish(c);
}

static void test_targeted_run_only_when_pending_and_idle(void **state)
{
    PGconn *c = fresh_store();
    int64_t run = -1, active;
    bool created = true;
    /* Nothing pending: no run. */
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               &run, &created, err, sizeof err),
                     0);
    assert_false(created);
    assert_int_equal(run, 0);
    /* A scheduled run is active: the target waits. */
    assert_int_equal(queue_create_run(c, "schedule", "schedule", 1, &active,
                                      &created, err, sizeof err),
                     0);
    add(c, E1, "svc.db.s.t1", "updated", 1000, NULL);
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               &run, &created, err, sizeof err),
                     0);
    assert_false(created);
    assert_int_equal(run, active);
    /* Claiming a run that is not a webhook run leaves targets alone. */
    json_t *targets = (json_t *)1;
    int64_t claimed;
    assert_int_equal(queue_claim_discovery_targets(c, "w1", 60, &claimed,
                                                   &targets, err, sizeof err),
                     1);
    assert_int_equal(claimed, active);
    assert_null(targets);
    assert_int_equal(pending(c), 1);
    finish_empty(c, active, "w1");
    /* Idle again: the waiting target gets its run. */
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               &run, &created, err, sizeof err),
                     0);
    assert_true(created);
    assert_true(run > active);
    char *s = text(c, "SELECT trigger || ' ' || requested_by || ' ' || status "
                      "FROM catalog_sync.runs ORDER BY id DESC LIMIT 1");
    assert_string_equal(s, "webhook webhook:openmetadata pending");
    free(s);
    /* And only one, however often the master looks. */
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               NULL, &created, err, sizeof err),
                     0);
    assert_false(created);
    PQfinish(c);
}

static void expect_targets(json_t *targets, const char *want)
{
    char *got = json_dumps(targets, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_claim_assigns_pending_targets(void **state)
{
    PGconn *c = fresh_store();
    int64_t run, claimed;
    bool created;
    json_t *targets = NULL;
    add(c, E1, "svc.db.s.t1", "updated", 1000, NULL);
    add(c, E2, NULL, "deleted", 1000, NULL);
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               &run, &created, err, sizeof err),
                     0);
    assert_true(created);
    assert_int_equal(queue_claim_discovery_targets(c, "w1", 60, &claimed,
                                                   &targets, err, sizeof err),
                     1);
    assert_int_equal(claimed, run);
    expect_targets(targets, "[{\"event\":\"updated\",\"fqn\":\"svc.db.s.t1\","
                            "\"id\":\"" E1 "\"},{\"event\":\"deleted\","
                            "\"fqn\":null,\"id\":\"" E2 "\"}]");
    json_decref(targets);
    assert_int_equal(pending(c), 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM catalog_sync.audit_log "
                               "WHERE action = 'run_target.assign'"),
                     2);
    /* A target arriving now waits: the run is active. */
    add(c, E3, "svc.db.s.t3", "created", 3000, NULL);
    /* Even for an entity of the run: it is a new pending target. */
    add(c, E1, "svc.db.s.t1", "updated", 4000, NULL);
    assert_int_equal(pending(c), 2);
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               NULL, &created, err, sizeof err),
                     0);
    assert_false(created);
    /* The claim is lost: the next claim gets the run's targets back, plus
     * what became pending meanwhile. */
    exec_ok(c, "UPDATE catalog_sync.runs SET lease_until = now() - "
               "interval '1 second'");
    assert_int_equal(queue_claim_discovery_targets(c, "w2", 60, &claimed,
                                                   &targets, err, sizeof err),
                     1);
    assert_int_equal(claimed, run);
    assert_int_equal(json_array_size(targets), 4);
    json_decref(targets);
    assert_int_equal(pending(c), 0);
    /* The first claimer can no longer commit; the second one can. */
    assert_int_equal(
        queue_commit_discovery(c, run, "w1", NULL, 0, NULL, 0, err, sizeof err),
        -1);
    finish_empty(c, run, "w2");
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               NULL, &created, err, sizeof err),
                     0);
    assert_false(created); /* nothing pending */
    PQfinish(c);
}

/* The plain claim (callers that do not read targets) still assigns, so a
 * webhook run never leaves its targets pending forever. */
static void test_plain_claim_assigns_too(void **state)
{
    PGconn *c = fresh_store();
    int64_t run, claimed;
    bool created;
    add(c, E1, "svc.db.s.t1", "updated", 1000, NULL);
    assert_int_equal(queue_create_targeted_run(c, "webhook:openmetadata", 1,
                                               &run, &created, err, sizeof err),
                     0);
    assert_int_equal(
        queue_claim_discovery(c, "w1", 60, &claimed, err, sizeof err), 1);
    assert_int_equal(claimed, run);
    assert_int_equal(pending(c), 0);
    assert_int_equal(
        scalar(c, "SELECT count(*) FROM catalog_sync.run_targets WHERE "
                  "run_id IS NOT NULL AND assigned_at IS NOT NULL"),
        1);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_2_upgrades_version_1),
        cmocka_unit_test(test_pending_target_per_entity),
        cmocka_unit_test(test_targeted_run_only_when_pending_and_idle),
        cmocka_unit_test(test_claim_assigns_pending_targets),
        cmocka_unit_test(test_plain_claim_assigns_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
