/*
 * Runs, jobs, aspects, watermarks and the audit log (see queue.h for the
 * run life cycle).  Throughput matters more here than anywhere else in the
 * host: a job costs two round trips, one claim per batch and one complete
 * per entity, each a single statement (data-modifying CTEs), and both are
 * server-side prepared once per connection.
 */
#include "queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* First int of the two-int advisory lock that a run's batch stage takes
 * ("csrn"); the bigint form used by migrations lives in another space. */
#define RUN_LOCK_NAMESPACE "1668510318"

#define ACTIVE_STATUSES "('pending','discovering','processing')"

/* ---- small helpers ---------------------------------------------------- */

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

/* Run id as a parameter: 0 means "no run" and becomes SQL NULL. */
static const char *run_param(char *buf, size_t len, int64_t run_id)
{
    if (run_id <= 0)
        return NULL;
    fmt_i64(buf, len, run_id);
    return buf;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col)
               ? 0
               : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* strdup of a column, NULL when SQL NULL; *oom set when strdup failed. */
static char *col_dup(const PGresult *r, int row, int col, bool *oom)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    char *s = strdup(PQgetvalue(r, row, col));
    if (!s)
        *oom = true;
    return s;
}

/* Serialises v (any JSON type) compactly; *out NULL when v is NULL. */
static int dump_opt(json_t *v, char **out, const char *what, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (!v)
        return 0;
    *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!*out) {
        snprintf(err, errlen, "state store: cannot serialise %s as JSON", what);
        return -1;
    }
    return 0;
}

/* Parses a jsonb column; *out NULL for SQL NULL. */
static int load_col(const PGresult *r, int row, int col, json_t **out,
                    const char *what, char *err, size_t errlen)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return 0;
    json_error_t je;
    *out = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, &je);
    if (!*out) {
        snprintf(err, errlen, "state store: %s: invalid JSON: %s", what,
                 je.text);
        return -1;
    }
    return 0;
}

static int tx_begin(PGconn *c, char *err, size_t errlen)
{
    return state_exec_cmd(c, "BEGIN", 0, NULL, err, errlen);
}

/* Rolls back after a failure; err already says why, so its own result is
 * ignored (a broken connection rolls back by itself). */
static int tx_abort(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

static int tx_commit(PGconn *c, char *err, size_t errlen)
{
    return state_exec_cmd(c, "COMMIT", 0, NULL, err, errlen);
}

/* The error of a failed prepared statement, named by its statement name
 * (its text is in this file) and the server's primary message. */
static void prepared_error(PGconn *c, const PGresult *r, const char *name,
                           char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *d = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    char conn_msg[512];
    snprintf(conn_msg, sizeof conn_msg, "%s", PQerrorMessage(c));
    for (char *q = conn_msg; *q; q++)
        if (*q == '\n' || *q == '\t')
            *q = ' ';
    snprintf(err, errlen, "state store: statement %s: %s%s%s%s", name,
             m ? m : conn_msg, d ? " (" : "", d ? d : "", d ? ")" : "");
}

/* Which statements this thread has prepared on its connection.  Each
 * thread uses one connection, so a small thread-local list suffices; a new
 * connection or backend (after PQreset) starts it over.  Preparing up
 * front, rather than on "does not exist", keeps ERROR lines out of the
 * server log. */
#define MAX_PREPARED 16
static _Thread_local struct {
    const PGconn *conn;
    int backend_pid;
    const char *names[MAX_PREPARED];
    int n;
} tl_prepared;

static bool known_prepared(PGconn *c, const char *name)
{
    if (tl_prepared.conn != c || tl_prepared.backend_pid != PQbackendPID(c)) {
        tl_prepared.conn = c;
        tl_prepared.backend_pid = PQbackendPID(c);
        tl_prepared.n = 0;
    }
    for (int i = 0; i < tl_prepared.n; i++)
        if (tl_prepared.names[i] == name || !strcmp(tl_prepared.names[i], name))
            return true;
    return false;
}

/* Prepares `name`; one already prepared (SQLSTATE 42P05) counts as done. */
static PGresult *prepare(PGconn *c, const char *name, const char *sql, int n)
{
    PGresult *p = PQprepare(c, name, sql, n, NULL);
    const char *state = p ? PQresultErrorField(p, PG_DIAG_SQLSTATE) : NULL;
    bool ok = PQresultStatus(p) == PGRES_COMMAND_OK ||
              (state && strcmp(state, "42P05") == 0);
    if (!ok)
        return p;
    PQclear(p);
    if (tl_prepared.n < MAX_PREPARED)
        tl_prepared.names[tl_prepared.n++] = name;
    return NULL;
}

/*
 * Runs a hot statement as a server-side prepared statement named `name`
 * (a string literal), preparing it on first use on this connection, and
 * again if the server lost it (SQLSTATE 26000).  Only for statements
 * outside explicit transactions: a failed attempt would abort one.
 */
static PGresult *exec_prepared(PGconn *c, const char *name, const char *sql,
                               int n, const char *const *params, char *err,
                               size_t errlen)
{
    PGresult *last = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!known_prepared(c, name) && (last = prepare(c, name, sql, n)))
            break;
        PGresult *r = PQexecPrepared(c, name, n, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
            return r;
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        bool missing = state && strcmp(state, "26000") == 0;
        last = r;
        if (!missing || attempt > 0)
            break;
        PQclear(last);
        last = NULL;
        tl_prepared.n = 0; /* the server forgot them all */
    }
    prepared_error(c, last, name, err, errlen);
    PQclear(last);
    return NULL;
}

/* Runs a statement expected to return at most one row: 1 with the first
 * column in *out (may be NULL), 0 for no row, -1 with err. */
static int exec_one_i64(PGconn *c, const char *sql, int n, const char *const *p,
                        int64_t *out, char *err, size_t errlen)
{
    PGresult *r = state_exec(c, sql, n, p, err, errlen);
    if (!r)
        return -1;
    int got = PQntuples(r) >= 1;
    if (out)
        *out = got ? col_i64(r, 0, 0) : 0;
    PQclear(r);
    return got;
}

/* ---- runs ------------------------------------------------------------- */

/* The newest active run, 0 when none. */
int queue_active_run(PGconn *c, int64_t *run_id, char *err, size_t errlen)
{
    return exec_one_i64(c,
                        "SELECT id FROM catalog_sync.runs WHERE status "
                        "IN " ACTIVE_STATUSES " ORDER BY id DESC LIMIT 1",
                        0, NULL, run_id, err, errlen) < 0
               ? -1
               : 0;
}

/*
 * Creates a pending run.  The unique index runs_one_active makes the insert
 * a no-op while a run is active, so two masters racing create one run;
 * the loser reads the winner's id.  Retries when the active run finished
 * between the two statements.  0 or -1.
 */
int queue_create_run(PGconn *c, const char *trigger, const char *requested_by,
                     int generation, int64_t *run_id, bool *created, char *err,
                     size_t errlen)
{
    char gen[16];
    snprintf(gen, sizeof gen, "%d", generation);
    const char *p[] = {trigger ? trigger : "manual", requested_by, gen};
    for (int attempt = 0; attempt < 5; attempt++) {
        int got = exec_one_i64(c,
                               "INSERT INTO catalog_sync.runs (trigger, "
                               "requested_by, generation) VALUES ($1, $2, $3) "
                               "ON CONFLICT DO NOTHING RETURNING id",
                               3, p, run_id, err, errlen);
        if (got < 0)
            return -1;
        *created = got == 1;
        if (*created)
            return 0;
        if (queue_active_run(c, run_id, err, errlen) < 0)
            return -1;
        if (*run_id)
            return 0;
    }
    snprintf(err, errlen,
             "state store: cannot create a run: runs keep "
             "finishing concurrently");
    return -1;
}

/*
 * The claim of a run for discovery, in one statement: the oldest pending
 * run (or discovering run whose lease expired); for a 'webhook' run also
 * the assignment of every pending target to it, its audit rows, and the
 * run's targets as JSON.  The final SELECT sees the table as it was before
 * the statement, so it reads targets assigned by an earlier claim from
 * the table and the ones assigned now from the `assigned` CTE.
 */
static const char CLAIM_DISCOVERY_SQL[] =
    "WITH claimed AS (UPDATE catalog_sync.runs SET status = 'discovering', "
    " owner = $1, lease_until = now() + make_interval(secs => $2::int), "
    " started_at = coalesce(started_at, now()) WHERE id = (SELECT id FROM "
    " catalog_sync.runs WHERE status = 'pending' OR (status = "
    " 'discovering' AND lease_until < now()) ORDER BY id LIMIT 1 FOR "
    " UPDATE SKIP LOCKED) RETURNING id, trigger), "
    "assigned AS (UPDATE catalog_sync.run_targets t SET run_id = c.id, "
    " assigned_at = now() FROM claimed c WHERE c.trigger = 'webhook' AND "
    " t.run_id IS NULL RETURNING t.id, t.run_id, t.entity_id, t.fqn, "
    " t.event), "
    "logged AS (INSERT INTO catalog_sync.audit_log (run_id, entity, target, "
    " action, field, new_value) SELECT run_id, coalesce(fqn, entity_id), "
    " 'state:catalog_sync.run_targets', 'run_target.assign', 'run_id', "
    " to_jsonb(run_id) FROM assigned), "
    "targets AS (SELECT id, entity_id, fqn, event FROM assigned UNION ALL "
    " SELECT t.id, t.entity_id, t.fqn, t.event FROM catalog_sync.run_targets "
    " t JOIN claimed c ON t.run_id = c.id) "
    "SELECT c.id, CASE WHEN c.trigger = 'webhook' THEN (SELECT "
    " coalesce(jsonb_agg(jsonb_build_object('id', entity_id, 'fqn', fqn, "
    " 'event', event) ORDER BY id), '[]') FROM targets)::text END "
    "FROM claimed c";

/* 1 claimed, 0 none, -1 error (see queue.h). */
int queue_claim_discovery_targets(PGconn *c, const char *owner,
                                  int lease_seconds, int64_t *run_id,
                                  json_t **targets, char *err, size_t errlen)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *p[] = {owner, lease};
    *targets = NULL;
    PGresult *r = state_exec(c, CLAIM_DISCOVERY_SQL, 2, p, err, errlen);
    if (!r)
        return -1;
    int rc = PQntuples(r) == 1;
    *run_id = rc ? col_i64(r, 0, 0) : 0;
    if (rc && load_col(r, 0, 1, targets, "run targets", err, errlen) < 0)
        rc = -1;
    PQclear(r);
    return rc;
}

/* Claims the oldest pending run (or discovering run whose lease expired)
 * for discovery.  1 claimed, 0 none, -1 error. */
int queue_claim_discovery(PGconn *c, const char *owner, int lease_seconds,
                          int64_t *run_id, char *err, size_t errlen)
{
    json_t *targets = NULL;
    int rc = queue_claim_discovery_targets(c, owner, lease_seconds, run_id,
                                           &targets, err, errlen);
    json_decref(targets);
    return rc;
}

/*
 * One statement: the upsert of the pending target (the WHERE of DO UPDATE
 * drops an event older than the pending one) and the audit row of what
 * was written.  xmax = 0 tells a fresh row from an updated one.
 */
static const char ADD_TARGET_SQL[] =
    "WITH up AS (INSERT INTO catalog_sync.run_targets AS t (origin, "
    " entity_id, fqn, event, event_id, event_time) VALUES ($1, $2, $3, $4, "
    " $5, CASE WHEN $6::bigint > 0 THEN to_timestamp($6::bigint / 1000.0) "
    " END) ON CONFLICT (entity_id) WHERE run_id IS NULL DO UPDATE SET fqn "
    " = coalesce(excluded.fqn, t.fqn), event = excluded.event, event_id = "
    " excluded.event_id, event_time = excluded.event_time, received_at = "
    " now() WHERE t.event_time IS NULL OR excluded.event_time IS NULL OR "
    " excluded.event_time >= t.event_time RETURNING t.id, t.entity_id, "
    " t.fqn, t.event, (t.xmax = 0) AS inserted), "
    "logged AS (INSERT INTO catalog_sync.audit_log (entity, target, action, "
    " field, new_value, evidence) SELECT coalesce(fqn, entity_id), "
    " 'state:catalog_sync.run_targets', CASE WHEN inserted THEN "
    " 'run_target.add' ELSE 'run_target.update' END, 'event', "
    " jsonb_build_object('entity_id', entity_id, 'fqn', fqn, 'event', "
    " event), $7::jsonb FROM up) "
    "SELECT id, inserted FROM up";

/* 0 or -1 (see queue.h). */
int queue_add_target(PGconn *c, const struct run_target *t, int64_t *target_id,
                     bool *merged, char *err, size_t errlen)
{
    char ts[24], *ev = NULL;
    fmt_i64(ts, sizeof ts, t->event_time_ms);
    if (dump_opt(t->evidence, &ev, "target evidence", err, errlen) < 0)
        return -1;
    const char *p[] = {t->origin,   t->entity_id, t->fqn, t->event,
                       t->event_id, ts,           ev};
    PGresult *r = state_exec(c, ADD_TARGET_SQL, 7, p, err, errlen);
    free(ev);
    if (!r)
        return -1;
    bool row = PQntuples(r) == 1;
    *target_id = row ? col_i64(r, 0, 0) : 0;
    *merged = !row || PQgetvalue(r, 0, 1)[0] != 't';
    PQclear(r);
    return 0;
}

/* 0 or -1 (see queue.h).  The unique index runs_one_active turns the
 * insert into a no-op while a run is active, as in queue_create_run; the
 * NOT EXISTS only spares a run id per look while a run is busy (a
 * conflicting insert still draws one from the sequence). */
int queue_create_targeted_run(PGconn *c, const char *requested_by,
                              int generation, int64_t *run_id, bool *created,
                              char *err, size_t errlen)
{
    char gen[16];
    int64_t id = 0;
    snprintf(gen, sizeof gen, "%d", generation);
    const char *p[] = {requested_by, gen};
    int got = exec_one_i64(c,
                           "INSERT INTO catalog_sync.runs (trigger, "
                           "requested_by, generation) SELECT 'webhook', $1, "
                           "$2 WHERE EXISTS (SELECT 1 FROM "
                           "catalog_sync.run_targets WHERE run_id IS NULL) "
                           "AND NOT EXISTS (SELECT 1 FROM catalog_sync.runs "
                           "WHERE status IN " ACTIVE_STATUSES ") "
                           "ON CONFLICT DO NOTHING RETURNING id",
                           2, p, &id, err, errlen);
    if (got < 0)
        return -1;
    *created = got == 1;
    if (run_id && !*created && queue_active_run(c, &id, err, errlen) < 0)
        return -1;
    if (run_id)
        *run_id = id;
    return 0;
}

/* The discovered items as one JSON array for json_to_recordset. */
static char *items_json(const struct discovered *items, size_t n, char *err,
                        size_t errlen)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack(
            "{s:s, s:s?, s:s, s:O?}", "fqn", items[i].fqn ? items[i].fqn : "",
            "source", items[i].source, "op",
            items[i].op == JOB_DELETE ? "delete" : "upsert", "entity",
            items[i].op == JOB_DELETE ? NULL : items[i].entity);
        if (!o || !items[i].fqn || !items[i].fqn[0] ||
            json_array_append_new(arr, o) < 0) {
            snprintf(err, errlen, "state store: discovered item %zu (%s): %s",
                     i, items[i].fqn ? items[i].fqn : "?",
                     o ? "empty fqn or out of memory" : "out of memory");
            json_decref(o);
            json_decref(arr);
            return NULL;
        }
    }
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!s)
        snprintf(err, errlen,
                 "state store: cannot serialise %zu discovered "
                 "items",
                 n);
    return s;
}

/* Counts the run's entities into entities_done / entities_failed: an entity
 * is failed when any of its jobs failed. */
static const char COUNT_ENTITIES[] =
    "UPDATE catalog_sync.runs r SET entities_done = c.done, "
    "entities_failed = c.failed FROM (SELECT count(*) FILTER (WHERE NOT f) "
    "AS done, count(*) FILTER (WHERE f) AS failed FROM (SELECT "
    "bool_or(status = 'failed') AS f FROM catalog_sync.jobs WHERE run_id = "
    "$1 GROUP BY fqn) e) c WHERE r.id = $1";

/* Inside the caller's transaction: commits the staged watermarks (one
 * audit row each, old and new value), counts entities, completes the run. */
static int complete_run_tx(PGconn *c, const char *id, char *err, size_t errlen)
{
    const char *p[] = {id};
    if (state_exec_cmd(
            c,
            "WITH w AS (SELECT e.key, e.value FROM catalog_sync.runs r, "
            "jsonb_each(coalesce(r.pending_watermarks, '{}')) e WHERE r.id = "
            "$1), up AS (INSERT INTO catalog_sync.watermarks (source, value, "
            "run_id, updated_at) SELECT key, value, $1, now() FROM w "
            "ON CONFLICT (source) DO UPDATE SET value = excluded.value, "
            "run_id = excluded.run_id, updated_at = excluded.updated_at) "
            "INSERT INTO catalog_sync.audit_log (run_id, pass, target, "
            "action, field, old_value, new_value) SELECT $1, w.key, "
            "'state:catalog_sync.watermarks', 'watermark.commit', w.key, "
            "o.value, w.value FROM w LEFT JOIN catalog_sync.watermarks o ON "
            "o.source = w.key",
            1, p, err, errlen) < 0 ||
        state_exec_cmd(c, COUNT_ENTITIES, 1, p, err, errlen) < 0)
        return -1;
    return state_exec_cmd(
        c,
        "UPDATE catalog_sync.runs SET status = 'completed', finished_at = "
        "now(), owner = NULL, lease_until = NULL WHERE id = $1",
        1, p, err, errlen);
}

/* Locks the run row when it is in one of `statuses`; 1 held, 0 not. */
static int lock_run(PGconn *c, const char *sql, int n, const char *const *p,
                    char *err, size_t errlen)
{
    return exec_one_i64(c, sql, n, p, NULL, err, errlen);
}

/* The body of queue_commit_discovery, inside its transaction. */
static int commit_discovery_tx(PGconn *c, const char *id, const char *owner,
                               const char *json, const char *wm,
                               const char *stage, size_t n, char *err,
                               size_t errlen)
{
    const char *lp[] = {id, owner};
    int held = lock_run(c,
                        "SELECT 1 FROM catalog_sync.runs WHERE id = $1 AND "
                        "owner = $2 AND status = 'discovering' FOR UPDATE",
                        2, lp, err, errlen);
    if (held <= 0) {
        if (held == 0)
            snprintf(err, errlen,
                     "state store: run %s is no longer held by %s for "
                     "discovery (lease lost, or already committed)",
                     id, owner);
        return -1;
    }
    const char *ip[] = {id, stage, json};
    if (n > 0 &&
        state_exec_cmd(
            c,
            "INSERT INTO catalog_sync.jobs (run_id, stage, fqn, source, op, "
            "entity) SELECT $1, $2, x.fqn, x.source, x.op, x.entity FROM "
            "json_to_recordset($3::json) AS x(fqn text, source text, op "
            "text, entity jsonb) ON CONFLICT DO NOTHING",
            3, ip, err, errlen) < 0)
        return -1;
    const char *up[] = {id, stage, wm};
    if (state_exec_cmd(
            c,
            "UPDATE catalog_sync.runs SET status = 'processing', stage = $2, "
            "pending_watermarks = $3::jsonb, owner = NULL, lease_until = "
            "NULL, entities_total = (SELECT count(DISTINCT fqn) FROM "
            "catalog_sync.jobs WHERE run_id = $1) WHERE id = $1",
            3, up, err, errlen) < 0)
        return -1;
    return n == 0 ? complete_run_tx(c, id, err, errlen) : 0;
}

/*
 * Commits a discovery in one transaction (see queue.h).  Refused, with
 * nothing written, unless `owner` still holds the run in `discovering`:
 * after a lease loss the new holder re-discovers, and a second commit of
 * the same run is an error rather than a silent merge.  Jobs go in with
 * one INSERT ... SELECT over json_to_recordset; duplicate FQNs in `items`
 * keep the first.  0 or -1.
 */
int queue_commit_discovery(PGconn *c, int64_t run_id, const char *owner,
                           const struct discovered *items, size_t n,
                           json_t *staged_watermarks, int stage, char *err,
                           size_t errlen)
{
    char id[24], st[16];
    fmt_i64(id, sizeof id, run_id);
    snprintf(st, sizeof st, "%d", stage);
    char *json = NULL, *wm = NULL;
    if (n > 0 && !(json = items_json(items, n, err, errlen)))
        return -1;
    if (dump_opt(staged_watermarks, &wm, "staged watermarks", err, errlen) <
        0) {
        free(json);
        return -1;
    }
    int rc = tx_begin(c, err, errlen);
    if (rc == 0) {
        rc = commit_discovery_tx(c, id, owner, json, wm, st, n, err, errlen);
        rc = rc < 0 ? tx_abort(c) : tx_commit(c, err, errlen);
    }
    free(json);
    free(wm);
    return rc;
}

/* Fails an active run and its open jobs, with counts; a finished run is
 * left as it is.  0 or -1. */
int queue_fail_run(PGconn *c, int64_t run_id, const char *reason, char *err,
                   size_t errlen)
{
    char id[24];
    fmt_i64(id, sizeof id, run_id);
    const char *p[] = {id, reason ? reason : "failed"};
    if (tx_begin(c, err, errlen) < 0)
        return -1;
    if (state_exec_cmd(
            c,
            "WITH r AS (UPDATE catalog_sync.runs SET status = 'failed', "
            "error = $2, finished_at = now(), owner = NULL, lease_until = "
            "NULL WHERE id = $1 AND status IN " ACTIVE_STATUSES
            " RETURNING id) UPDATE catalog_sync.jobs SET status = 'failed', "
            "last_error = 'run failed: ' || $2, owner = NULL, lease_until = "
            "NULL, finished_at = now() WHERE run_id IN (SELECT id FROM r) "
            "AND status IN ('queued','running')",
            2, p, err, errlen) < 0 ||
        state_exec_cmd(c, COUNT_ENTITIES, 1, p, err, errlen) < 0)
        return tx_abort(c);
    return tx_commit(c, err, errlen);
}

/* ---- jobs ------------------------------------------------------------- */

/*
 * One statement: fresh jobs (never claimed) in a batch; only when there is
 * none, one retried job (poison isolation).  Claimable jobs claimed
 * max_claims times already are failed instead of claimed again: they kept
 * killing or outliving their worker without a crash being recorded.
 */
static const char CLAIM_SQL[] =
    "WITH open_runs AS MATERIALIZED (SELECT id FROM catalog_sync.runs "
    " WHERE status = 'processing'), "
    "fresh AS (SELECT j.id FROM catalog_sync.jobs j WHERE (j.status = "
    " 'queued' OR (j.status = 'running' AND j.lease_until < now())) AND "
    " j.attempts = 0 AND j.run_id IN (SELECT id FROM open_runs) "
    " ORDER BY j.id LIMIT $3 FOR UPDATE OF j SKIP LOCKED), "
    "retry AS (SELECT j.id FROM catalog_sync.jobs j WHERE NOT EXISTS "
    " (SELECT 1 FROM fresh) AND (j.status = 'queued' OR (j.status = "
    " 'running' AND j.lease_until < now())) AND j.attempts > 0 AND "
    " j.attempts < $4 AND j.run_id IN (SELECT id FROM open_runs) "
    " ORDER BY j.attempts, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED), "
    "exhausted AS (UPDATE catalog_sync.jobs SET status = 'failed', owner = "
    " NULL, lease_until = NULL, finished_at = now(), last_error = "
    " format('claimed %s times without completing (worker killed?)', "
    " attempts) WHERE id IN (SELECT j.id FROM catalog_sync.jobs j WHERE "
    " (j.status = 'queued' OR (j.status = 'running' AND j.lease_until < "
    " now())) AND j.attempts >= $4 AND j.run_id IN (SELECT id FROM "
    " open_runs) LIMIT 100 FOR UPDATE OF j SKIP LOCKED)), "
    "claimed AS (UPDATE catalog_sync.jobs SET status = 'running', owner = "
    " $1, lease_until = now() + make_interval(secs => $2::int), attempts = "
    " attempts + 1, started_at = coalesce(started_at, now()) WHERE id IN "
    " (SELECT id FROM fresh UNION ALL SELECT id FROM retry) RETURNING id, "
    " run_id, stage, fqn, source, op, entity, attempts, crashes) "
    "SELECT id, run_id, stage, fqn, source, op, entity::text, attempts, "
    " crashes FROM claimed ORDER BY id";

/* Frees a claim's array and what each job owns; NULL is fine. */
void queue_jobs_free(struct job *jobs, size_t n)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].fqn);
        free(jobs[i].source);
        json_decref(jobs[i].entity);
    }
    free(jobs);
}

/* Fills one job from a claim row; -1 with err on allocation/JSON error. */
static int job_from_row(const PGresult *r, int i, struct job *j, char *err,
                        size_t errlen)
{
    bool oom = false;
    j->id = col_i64(r, i, 0);
    j->run_id = col_i64(r, i, 1);
    j->stage = (int)col_i64(r, i, 2);
    j->fqn = col_dup(r, i, 3, &oom);
    j->source = col_dup(r, i, 4, &oom);
    j->op =
        strcmp(PQgetvalue(r, i, 5), "delete") == 0 ? JOB_DELETE : JOB_UPSERT;
    j->attempts = (int)col_i64(r, i, 7);
    j->crashes = (int)col_i64(r, i, 8);
    if (oom) {
        snprintf(err, errlen, "state store: out of memory reading job %" PRId64,
                 j->id);
        return -1;
    }
    return load_col(r, i, 6, &j->entity, PQgetvalue(r, i, 3), err, errlen);
}

/*
 * queue_claim_jobs with an explicit cap on claims per job (see queue.h).
 * max_claims <= 0 means QUEUE_MAX_CLAIMS.
 */
int queue_claim_jobs_capped(PGconn *c, const char *owner, int lease_seconds,
                            int max, int max_claims, struct job **jobs,
                            size_t *n, char *err, size_t errlen)
{
    char lease[16], lim[16], cap[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    snprintf(lim, sizeof lim, "%d", max > 0 ? max : 1);
    snprintf(cap, sizeof cap, "%d",
             max_claims > 0 ? max_claims : QUEUE_MAX_CLAIMS);
    const char *p[] = {owner, lease, lim, cap};
    *jobs = NULL;
    *n = 0;
    PGresult *r =
        exec_prepared(c, "cs_claim_jobs", CLAIM_SQL, 4, p, err, errlen);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    struct job *out = rows ? calloc((size_t)rows, sizeof *out) : NULL;
    if (rows && !out) {
        snprintf(err, errlen, "state store: out of memory for %d jobs", rows);
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        if (job_from_row(r, i, &out[i], err, errlen) < 0) {
            queue_jobs_free(out, (size_t)i + 1);
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    *jobs = out;
    *n = (size_t)rows;
    return 0;
}

/* Claims jobs for `owner` (see queue.h), capping claims per job at
 * QUEUE_MAX_CLAIMS.  0 (with *n possibly 0) or -1. */
int queue_claim_jobs(PGconn *c, const char *owner, int lease_seconds, int max,
                     struct job **jobs, size_t *n, char *err, size_t errlen)
{
    return queue_claim_jobs_capped(c, owner, lease_seconds, max, 0, jobs, n,
                                   err, errlen);
}

/* `owner` names one claimant ("host:pid:gen:thread") or, as a prefix
 * ending before a ':', all of a process's claimants ("host:pid:gen"). */
#define OWNED_BY(col) "(" col " = $1 OR starts_with(" col ", $1 || ':'))"

/* Extends the leases of the running jobs and discovering runs of `owner`
 * (see OWNED_BY).  0 or -1. */
int queue_renew_leases(PGconn *c, const char *owner, int lease_seconds,
                       char *err, size_t errlen)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *p[] = {owner, lease};
    PGresult *r = exec_prepared(
        c, "cs_renew_leases",
        "WITH r AS (UPDATE catalog_sync.runs SET lease_until = now() + "
        "make_interval(secs => $2::int) WHERE " OWNED_BY(
            "owner") " AND status = 'discovering') UPDATE catalog_sync.jobs "
                     "SET "
                     "lease_until = now() + make_interval(secs => $2::int) "
                     "WHERE "
                     "status = 'running' AND " OWNED_BY("owner"),
        2, p, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/*
 * complete_job for an upsert, one statement: the job update guards
 * everything else (every other part reads `j`), so a lost claim writes
 * nothing.  $1 job, $2 owner, $3 done|failed, $4 errors, $5 passes,
 * $6 aspects.
 */
static const char COMPLETE_UPSERT_SQL[] =
    "WITH j AS (UPDATE catalog_sync.jobs SET status = $3, errors = "
    " $4::jsonb, last_error = CASE WHEN $3 = 'failed' THEN (SELECT "
    " string_agg(key || ': ' || (value #>> '{}'), '; ') FROM "
    " jsonb_each($4::jsonb)) END, finished_at = now(), lease_until = NULL "
    " WHERE id = $1 AND owner = $2 AND status = 'running' "
    " RETURNING id, run_id, fqn, attempts), "
    "a AS (INSERT INTO catalog_sync.aspects (fqn, aspect, run_id, pass, "
    " value, updated_at) SELECT j.fqn, e.key, j.run_id, $5, e.value, now() "
    " FROM j, jsonb_each(coalesce($6::jsonb, '{}')) e ON CONFLICT (fqn, "
    " aspect) DO UPDATE SET run_id = excluded.run_id, pass = excluded.pass, "
    " value = excluded.value, updated_at = excluded.updated_at), "
    "au AS (INSERT INTO catalog_sync.audit_log (run_id, pass, entity, "
    " target, action, new_value, evidence) SELECT j.run_id, $5, j.fqn, "
    " 'state:catalog_sync.aspects', 'aspects.write', (SELECT "
    " coalesce(jsonb_agg(k ORDER BY k), '[]') FROM "
    " jsonb_object_keys(coalesce($6::jsonb, '{}')) k), "
    " jsonb_build_object('job_id', j.id, 'attempts', j.attempts, 'passes', "
    " $5::text, 'errors', $4::jsonb) FROM j) "
    "SELECT count(*) FROM j";

/* The same for a delete job: the entity's aspects go, their names are
 * audited as the old value. */
static const char COMPLETE_DELETE_SQL[] =
    "WITH j AS (UPDATE catalog_sync.jobs SET status = $3, errors = "
    " $4::jsonb, last_error = CASE WHEN $3 = 'failed' THEN (SELECT "
    " string_agg(key || ': ' || (value #>> '{}'), '; ') FROM "
    " jsonb_each($4::jsonb)) END, finished_at = now(), lease_until = NULL "
    " WHERE id = $1 AND owner = $2 AND status = 'running' "
    " RETURNING id, run_id, fqn, attempts), "
    "d AS (DELETE FROM catalog_sync.aspects a USING j WHERE a.fqn = j.fqn "
    " RETURNING a.aspect), "
    "au AS (INSERT INTO catalog_sync.audit_log (run_id, pass, entity, "
    " target, action, old_value, evidence) SELECT j.run_id, $5::text, j.fqn, "
    " 'state:catalog_sync.aspects', 'aspects.delete', (SELECT "
    " coalesce(jsonb_agg(aspect ORDER BY aspect), '[]') FROM d), "
    " jsonb_build_object('job_id', j.id, 'attempts', j.attempts, 'passes', "
    " $5::text, 'errors', $4::jsonb) FROM j) "
    "SELECT count(*) FROM j";

/* Checks that an optional argument is a JSON object. */
static int want_object(json_t *v, const char *what, const struct job *job,
                       char *err, size_t errlen)
{
    if (!v || json_is_object(v))
        return 0;
    snprintf(err, errlen,
             "state store: job %" PRId64 " (%s): %s must be a "
             "JSON object",
             job->id, job->fqn ? job->fqn : "?", what);
    return -1;
}

/*
 * Completes a job in one statement (see queue.h and COMPLETE_*_SQL).
 * `passes` is stored as the aspects' producing pass(es) and in the audit
 * evidence.  1 completed, 0 claim lost (nothing written), -1 error.
 */
int queue_complete_job(PGconn *c, const struct job *job, const char *owner,
                       json_t *aspects, json_t *errors, bool failed,
                       const char *passes, char *err, size_t errlen)
{
    if (want_object(aspects, "aspects", job, err, errlen) < 0 ||
        want_object(errors, "errors", job, err, errlen) < 0)
        return -1;
    char id[24];
    fmt_i64(id, sizeof id, job->id);
    char *as = NULL, *es = NULL;
    if (dump_opt(errors, &es, "errors", err, errlen) < 0)
        return -1;
    if (job->op != JOB_DELETE &&
        dump_opt(aspects, &as, "aspects", err, errlen) < 0) {
        free(es);
        return -1;
    }
    const char *p[] = {id, owner, failed ? "failed" : "done", es, passes, as};
    PGresult *r = job->op == JOB_DELETE
                      ? exec_prepared(c, "cs_complete_delete",
                                      COMPLETE_DELETE_SQL, 5, p, err, errlen)
                      : exec_prepared(c, "cs_complete_upsert",
                                      COMPLETE_UPSERT_SQL, 6, p, err, errlen);
    free(as);
    free(es);
    if (!r)
        return -1;
    int done = col_i64(r, 0, 0) == 1;
    PQclear(r);
    return done;
}

/* Returns the running jobs of `owner` (see OWNED_BY) to the queue and
 * its discovering runs to pending.  Attempts are kept, so the jobs are
 * retried one at a time; crashes are not counted.  0 or -1. */
int queue_release_owner(PGconn *c, const char *owner, char *err, size_t errlen)
{
    const char *p[] = {owner};
    return state_exec_cmd(
        c,
        "WITH r AS (UPDATE catalog_sync.runs SET status = 'pending', owner = "
        "NULL, lease_until = NULL WHERE " OWNED_BY(
            "owner") " AND status = 'discovering') UPDATE catalog_sync.jobs "
                     "SET status = "
                     "'queued', owner = NULL, lease_until = NULL WHERE status "
                     "= 'running' "
                     "AND " OWNED_BY("owner"),
        1, p, err, errlen);
}

/* Counts a crash against an open job (see queue.h); a job already done or
 * failed is left alone.  0 or -1. */
int queue_record_crash(PGconn *c, int64_t job_id, int max_attempts,
                       const char *reason, char *err, size_t errlen)
{
    char id[24], max[16];
    fmt_i64(id, sizeof id, job_id);
    snprintf(max, sizeof max, "%d", max_attempts > 0 ? max_attempts : 1);
    const char *p[] = {id, max, reason ? reason : "worker crashed"};
    return state_exec_cmd(
        c,
        "UPDATE catalog_sync.jobs SET crashes = crashes + 1, last_error = "
        "$3, owner = NULL, lease_until = NULL, status = CASE WHEN crashes + "
        "1 >= $2::int THEN 'failed' ELSE 'queued' END, finished_at = CASE "
        "WHEN crashes + 1 >= $2::int THEN now() END WHERE id = $1 AND "
        "status IN ('queued','running')",
        3, p, err, errlen);
}

/* ---- stages ----------------------------------------------------------- */

/* Processing runs whose current stage has no open job (a batch stage has
 * none at all), oldest first; the jobs_open index keeps it cheap.  *ids and
 * *stages are malloc'd (NULL when none).  0 or -1. */
int queue_runs_ready_to_advance(PGconn *c, int64_t **ids, int **stages,
                                size_t *n, char *err, size_t errlen)
{
    *ids = NULL;
    *stages = NULL;
    *n = 0;
    PGresult *r = state_exec(
        c,
        "SELECT r.id, r.stage FROM catalog_sync.runs r WHERE r.status = "
        "'processing' AND NOT EXISTS (SELECT 1 FROM catalog_sync.jobs j "
        "WHERE j.run_id = r.id AND j.stage = r.stage AND j.status IN "
        "('queued','running')) ORDER BY r.id",
        0, NULL, err, errlen);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    if (rows) {
        *ids = malloc((size_t)rows * sizeof **ids);
        *stages = malloc((size_t)rows * sizeof **stages);
        if (!*ids || !*stages) {
            free(*ids);
            free(*stages);
            *ids = NULL;
            *stages = NULL;
            PQclear(r);
            snprintf(err, errlen, "state store: out of memory");
            return -1;
        }
    }
    for (int i = 0; i < rows; i++) {
        (*ids)[i] = col_i64(r, i, 0);
        (*stages)[i] = (int)col_i64(r, i, 1);
    }
    *n = (size_t)rows;
    PQclear(r);
    return 0;
}

/* Advisory lock (two-int form: namespace, run id folded into int4). */
static int run_lock_call(PGconn *c, const char *fn, int64_t run_id, char *err,
                         size_t errlen)
{
    char id[24], sql[160];
    fmt_i64(id, sizeof id, run_id);
    snprintf(sql, sizeof sql,
             "SELECT %s(" RUN_LOCK_NAMESPACE
             ", ($1::bigint %% 2147483648)::int)",
             fn);
    const char *p[] = {id};
    PGresult *r = state_exec(c, sql, 1, p, err, errlen);
    if (!r)
        return -1;
    int ok = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return ok;
}

/* Session-level lock on the run; 1 taken, 0 held elsewhere, -1 error. */
int queue_try_lock_run(PGconn *c, int64_t run_id, char *err, size_t errlen)
{
    return run_lock_call(c, "pg_try_advisory_lock", run_id, err, errlen);
}

/* Releases queue_try_lock_run's lock; 0 (also when not held) or -1. */
int queue_unlock_run(PGconn *c, int64_t run_id, char *err, size_t errlen)
{
    return run_lock_call(c, "pg_advisory_unlock", run_id, err, errlen) < 0 ? -1
                                                                           : 0;
}

/*
 * Moves a processing run to `stage` and enqueues the next jobs, in one
 * statement.  The jobs are copied from the newest stage below `stage` that
 * has jobs (the current stage, unless batch stages came in between), for
 * entities whose job there is done and an upsert.  Repeating the call is
 * harmless (ON CONFLICT).  Returns the number of jobs made, or -1 (also
 * when the run is not processing).
 */
int queue_enqueue_stage(PGconn *c, int64_t run_id, int stage, char *err,
                        size_t errlen)
{
    char id[24], st[16];
    fmt_i64(id, sizeof id, run_id);
    snprintf(st, sizeof st, "%d", stage);
    const char *p[] = {id, st};
    PGresult *r = state_exec(
        c,
        "WITH cur AS (SELECT id FROM catalog_sync.runs WHERE id = $1 AND "
        "status = 'processing' FOR UPDATE), src AS (SELECT max(stage) AS "
        "stage FROM catalog_sync.jobs WHERE run_id = $1 AND stage < $2), "
        "ins AS (INSERT INTO catalog_sync.jobs (run_id, stage, fqn, source, "
        "op, entity) SELECT $1, $2, j.fqn, j.source, 'upsert', j.entity FROM "
        "catalog_sync.jobs j, src, cur WHERE j.run_id = $1 AND j.stage = "
        "src.stage AND j.status = 'done' AND j.op = 'upsert' ON CONFLICT DO "
        "NOTHING RETURNING 1), up AS (UPDATE catalog_sync.runs SET stage = "
        "$2 WHERE id IN (SELECT id FROM cur) RETURNING 1) "
        "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM up)",
        2, p, err, errlen);
    if (!r)
        return -1;
    int made = (int)col_i64(r, 0, 0);
    bool moved = col_i64(r, 0, 1) == 1;
    PQclear(r);
    if (!moved) {
        snprintf(err, errlen,
                 "state store: run %" PRId64 " is not processing, cannot "
                 "enqueue stage %d",
                 run_id, stage);
        return -1;
    }
    return made;
}

/* 0, or -1 (also when the run is not processing). */
int queue_set_stage(PGconn *c, int64_t run_id, int stage, char *err,
                    size_t errlen)
{
    char id[24], st[16];
    fmt_i64(id, sizeof id, run_id);
    snprintf(st, sizeof st, "%d", stage);
    const char *p[] = {id, st};
    PGresult *r = state_exec(c,
                             "UPDATE catalog_sync.runs SET stage = $2 WHERE "
                             "id = $1 AND status = 'processing' RETURNING id",
                             2, p, err, errlen);
    if (!r)
        return -1;
    int moved = PQntuples(r) == 1;
    PQclear(r);
    if (!moved) {
        snprintf(err, errlen,
                 "state store: run %" PRId64 " is not processing, cannot "
                 "set stage %d",
                 run_id, stage);
        return -1;
    }
    return 0;
}

/* Locks a processing run for completion; 1 with *open = its queued or
 * running jobs, 0 when it is not processing, -1 on error. */
static int lock_for_completion(PGconn *c, const char *id, int64_t *open,
                               char *err, size_t errlen)
{
    const char *p[] = {id};
    return exec_one_i64(
        c,
        "SELECT (SELECT count(*) FROM catalog_sync.jobs WHERE run_id = $1 "
        "AND status IN ('queued','running')) FROM catalog_sync.runs WHERE "
        "id = $1 AND status = 'processing' FOR UPDATE",
        1, p, open, err, errlen);
}

/*
 * Completes a processing run in one transaction (see complete_run_tx).
 * Refused while any of its jobs is queued or running, since the watermark
 * may only advance once every entity is done or recorded failed.
 * 0, or -1 (also when the run is not processing).
 */
int queue_complete_run(PGconn *c, int64_t run_id, char *err, size_t errlen)
{
    char id[24];
    fmt_i64(id, sizeof id, run_id);
    int64_t open = 0;
    if (tx_begin(c, err, errlen) < 0)
        return -1;
    int held = lock_for_completion(c, id, &open, err, errlen);
    if (held == 0)
        snprintf(err, errlen,
                 "state store: run %s is not processing, cannot complete it",
                 id);
    else if (held == 1 && open > 0)
        snprintf(err, errlen,
                 "state store: run %s still has %" PRId64 " queued or "
                 "running jobs, cannot complete it",
                 id, open);
    if (held != 1 || open > 0 || complete_run_tx(c, id, err, errlen) < 0)
        return tx_abort(c);
    return tx_commit(c, err, errlen);
}

/* Frees a malloc'd array of n malloc'd strings. */
static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* Upsert entities of the run, ordered by FQN.  0 or -1. */
int queue_run_entities(PGconn *c, int64_t run_id, char ***fqns, size_t *n,
                       char *err, size_t errlen)
{
    char id[24];
    fmt_i64(id, sizeof id, run_id);
    const char *p[] = {id};
    *fqns = NULL;
    *n = 0;
    PGresult *r = state_exec(c,
                             "SELECT DISTINCT fqn FROM catalog_sync.jobs "
                             "WHERE run_id = $1 AND op = 'upsert' ORDER BY "
                             "fqn",
                             1, p, err, errlen);
    if (!r)
        return -1;
    size_t rows = (size_t)PQntuples(r);
    char **out = rows ? calloc(rows, sizeof *out) : NULL;
    bool oom = rows && !out;
    for (size_t i = 0; !oom && i < rows; i++)
        out[i] = col_dup(r, (int)i, 0, &oom);
    PQclear(r);
    if (oom) {
        free_strings(out, rows);
        snprintf(err, errlen, "state store: out of memory listing run %s", id);
        return -1;
    }
    *fqns = out;
    *n = rows;
    return 0;
}

/* ---- aspects, watermarks, pass state, audit --------------------------- */

/* Runs a query returning at most one jsonb-as-text column; 1 found (new
 * reference in *value), 0 not found (*value NULL), -1 error. */
static int get_json(PGconn *c, const char *sql, int n, const char *const *p,
                    const char *what, json_t **value, char *err, size_t errlen)
{
    *value = NULL;
    PGresult *r = state_exec(c, sql, n, p, err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1)
        rc = load_col(r, 0, 0, value, what, err, errlen) < 0 ? -1 : 1;
    PQclear(r);
    return rc;
}

/* 1 found, 0 not found, -1 error. */
int queue_get_aspect(PGconn *c, const char *fqn, const char *aspect,
                     json_t **value, char *err, size_t errlen)
{
    const char *p[] = {fqn, aspect};
    return get_json(c,
                    "SELECT value::text FROM catalog_sync.aspects WHERE fqn "
                    "= $1 AND aspect = $2",
                    2, p, aspect, value, err, errlen);
}

/* {fqn: value} of one aspect over every entity.  0 or -1. */
int queue_all_aspects(PGconn *c, const char *aspect, json_t **out, char *err,
                      size_t errlen)
{
    const char *p[] = {aspect};
    int rc = get_json(c,
                      "SELECT coalesce(jsonb_object_agg(fqn, value), '{}')"
                      "::text FROM catalog_sync.aspects WHERE aspect = $1",
                      1, p, aspect, out, err, errlen);
    return rc < 0 ? -1 : 0;
}

/* Upserts one aspect and audits it, in one statement.  0 or -1. */
int queue_put_aspect(PGconn *c, int64_t run_id, const char *pass,
                     const char *fqn, const char *aspect, json_t *value,
                     char *err, size_t errlen)
{
    char id[24], *v = NULL;
    if (!value) {
        snprintf(err, errlen, "state store: aspect %s of %s: no value", aspect,
                 fqn);
        return -1;
    }
    if (dump_opt(value, &v, aspect, err, errlen) < 0)
        return -1;
    const char *p[] = {fqn, aspect, run_param(id, sizeof id, run_id), pass, v};
    int rc = state_exec_cmd(
        c,
        "WITH up AS (INSERT INTO catalog_sync.aspects (fqn, aspect, run_id, "
        "pass, value, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, now()) "
        "ON CONFLICT (fqn, aspect) DO UPDATE SET run_id = excluded.run_id, "
        "pass = excluded.pass, value = excluded.value, updated_at = "
        "excluded.updated_at) INSERT INTO catalog_sync.audit_log (run_id, "
        "pass, entity, target, action, field, new_value) VALUES ($3, $4, "
        "$1, 'state:catalog_sync.aspects', 'aspects.write', $2, "
        "jsonb_build_array($2::text))",
        5, p, err, errlen);
    free(v);
    return rc;
}

/* 1 found, 0 none committed yet, -1 error. */
int queue_get_watermark(PGconn *c, const char *source, json_t **value,
                        char *err, size_t errlen)
{
    const char *p[] = {source};
    return get_json(c,
                    "SELECT value::text FROM catalog_sync.watermarks WHERE "
                    "source = $1",
                    1, p, "watermark", value, err, errlen);
}

/* 1 found, 0 not found, -1 error. */
int queue_state_get(PGconn *c, const char *pass, const char *key,
                    json_t **value, char *err, size_t errlen)
{
    const char *p[] = {pass, key};
    return get_json(c,
                    "SELECT value::text FROM catalog_sync.pass_state WHERE "
                    "pass = $1 AND key = $2",
                    2, p, key, value, err, errlen);
}

/* Stores value under (pass, key); a NULL value deletes the key.  0/-1. */
int queue_state_put(PGconn *c, const char *pass, const char *key, json_t *value,
                    char *err, size_t errlen)
{
    char *v = NULL;
    if (dump_opt(value, &v, key, err, errlen) < 0)
        return -1;
    const char *p[] = {pass, key, v};
    int rc = state_exec_cmd(
        c,
        value ? "INSERT INTO catalog_sync.pass_state (pass, key, value, "
                "updated_at) VALUES ($1, $2, $3::jsonb, now()) ON CONFLICT "
                "(pass, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at"
              : "DELETE FROM catalog_sync.pass_state WHERE pass = $1 AND "
                "key = $2",
        value ? 3 : 2, p, err, errlen);
    free(v);
    return rc;
}

/* One audit_log row; run_id 0 is stored as NULL.  0 or -1. */
int queue_audit(PGconn *c, int64_t run_id, const char *pass, const char *entity,
                const char *target, const char *action, const char *field,
                json_t *old_value, json_t *new_value, json_t *evidence,
                char *err, size_t errlen)
{
    char id[24], *ov = NULL, *nv = NULL, *ev = NULL;
    int rc = -1;
    if (dump_opt(old_value, &ov, "old_value", err, errlen) == 0 &&
        dump_opt(new_value, &nv, "new_value", err, errlen) == 0 &&
        dump_opt(evidence, &ev, "evidence", err, errlen) == 0) {
        const char *p[] = {run_param(id, sizeof id, run_id),
                           pass,
                           entity,
                           target,
                           action,
                           field,
                           ov,
                           nv,
                           ev};
        rc = state_exec_cmd(
            c,
            "INSERT INTO catalog_sync.audit_log (run_id, pass, entity, "
            "target, action, field, old_value, new_value, evidence) VALUES "
            "($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb)",
            9, p, err, errlen);
    }
    free(ov);
    free(nv);
    free(ev);
    return rc;
}

/* ---- reading runs ----------------------------------------------------- */

/*
 * Run rows with counters: a finished run reports its stored entity counts;
 * an active one counts queued/running/done over its newest stage that has
 * jobs, and failed as entities with a failed job in any stage.
 */
static const char RUN_ROW_SQL[] =
    "SELECT r.id, r.trigger, r.status, r.stage, r.generation, "
    " r.entities_total, coalesce(c.queued, 0), coalesce(c.running, 0), "
    " CASE WHEN r.status IN ('completed','failed') THEN r.entities_done "
    "  ELSE coalesce(c.done, 0) END, "
    " CASE WHEN r.status IN ('completed','failed') THEN r.entities_failed "
    "  ELSE coalesce(f.failed, 0) END, "
    " coalesce(extract(epoch FROM r.created_at), 0), "
    " coalesce(extract(epoch FROM r.started_at), 0), "
    " coalesce(extract(epoch FROM r.finished_at), 0), r.error, "
    " r.requested_by "
    "FROM catalog_sync.runs r "
    "LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'queued') "
    " AS queued, count(*) FILTER (WHERE status = 'running') AS running, "
    " count(*) FILTER (WHERE status = 'done') AS done FROM "
    " catalog_sync.jobs j WHERE j.run_id = r.id AND r.status "
    "IN " ACTIVE_STATUSES
    " AND j.stage = (SELECT max(stage) FROM catalog_sync.jobs WHERE run_id "
    " = r.id)) c ON true "
    "LEFT JOIN LATERAL (SELECT count(DISTINCT fqn) AS failed FROM "
    " catalog_sync.jobs j WHERE j.run_id = r.id AND r.status "
    "IN " ACTIVE_STATUSES " AND j.status = 'failed') f ON true ";

/* Frees the row's strings (not the row); safe to call twice. */
void queue_run_row_clear(struct run_row *r)
{
    if (!r)
        return;
    free(r->error);
    free(r->requested_by);
    r->error = NULL;
    r->requested_by = NULL;
}

static int run_from_row(const PGresult *res, int i, struct run_row *o,
                        char *err, size_t errlen)
{
    bool oom = false;
    memset(o, 0, sizeof *o);
    o->id = col_i64(res, i, 0);
    snprintf(o->trigger, sizeof o->trigger, "%s", PQgetvalue(res, i, 1));
    snprintf(o->status, sizeof o->status, "%s", PQgetvalue(res, i, 2));
    o->stage = (int)col_i64(res, i, 3);
    o->generation = (int)col_i64(res, i, 4);
    o->total = col_i64(res, i, 5);
    o->queued = col_i64(res, i, 6);
    o->running = col_i64(res, i, 7);
    o->done = col_i64(res, i, 8);
    o->failed = col_i64(res, i, 9);
    o->created_at = atof(PQgetvalue(res, i, 10));
    o->started_at = atof(PQgetvalue(res, i, 11));
    o->finished_at = atof(PQgetvalue(res, i, 12));
    o->error = col_dup(res, i, 13, &oom);
    o->requested_by = col_dup(res, i, 14, &oom);
    if (oom) {
        queue_run_row_clear(o);
        snprintf(err, errlen, "state store: out of memory reading run %" PRId64,
                 o->id);
        return -1;
    }
    return 0;
}

/* 1 found (out filled; clear with queue_run_row_clear), 0 not found, -1. */
int queue_get_run(PGconn *c, int64_t run_id, struct run_row *out, char *err,
                  size_t errlen)
{
    char id[24], sql[sizeof RUN_ROW_SQL + 32];
    fmt_i64(id, sizeof id, run_id);
    snprintf(sql, sizeof sql, "%sWHERE r.id = $1", RUN_ROW_SQL);
    const char *p[] = {id};
    memset(out, 0, sizeof *out);
    PGresult *r = state_exec(c, sql, 1, p, err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1)
        rc = run_from_row(r, 0, out, err, errlen) < 0 ? -1 : 1;
    PQclear(r);
    return rc;
}

/* Newest runs first, at most `limit`; *rows malloc'd (clear each, then
 * free).  0 or -1. */
int queue_list_runs(PGconn *c, int limit, struct run_row **rows, size_t *n,
                    char *err, size_t errlen)
{
    char lim[16], sql[sizeof RUN_ROW_SQL + 48];
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 20);
    snprintf(sql, sizeof sql, "%sORDER BY r.id DESC LIMIT $1", RUN_ROW_SQL);
    const char *p[] = {lim};
    *rows = NULL;
    *n = 0;
    PGresult *r = state_exec(c, sql, 1, p, err, errlen);
    if (!r)
        return -1;
    size_t cnt = (size_t)PQntuples(r);
    struct run_row *out = cnt ? calloc(cnt, sizeof *out) : NULL;
    int rc = cnt && !out ? -1 : 0;
    if (rc < 0)
        snprintf(err, errlen, "state store: out of memory listing runs");
    for (size_t i = 0; rc == 0 && i < cnt; i++) {
        if (run_from_row(r, (int)i, &out[i], err, errlen) < 0) {
            for (size_t k = 0; k < i; k++)
                queue_run_row_clear(&out[k]);
            free(out);
            out = NULL;
            rc = -1;
        }
    }
    PQclear(r);
    if (rc == 0) {
        *rows = out;
        *n = cnt;
    }
    return rc;
}

/*
 * The whole report built server-side: per entity the worst status over its
 * jobs (failed > running > queued > done), its op, the errors of its
 * newest job that has any, its last error, and the aspects whose latest
 * value was written by this run.
 */
/* The entities of the run are grouped once; each one's aspects are then
 * fetched through the (fqn, aspect) primary key.  A join of two
 * aggregates instead made the planner, which expects one job row for a
 * fresh run, compare every entity with every other: quadratic, 2 s and
 * more for 1,000 tables. */
static const char REPORT_SQL[] =
    "WITH e AS MATERIALIZED (SELECT fqn, (array_agg(op ORDER BY stage))[1] "
    " AS op, max(CASE status WHEN 'failed' THEN 4 WHEN 'running' THEN 3 "
    " WHEN 'queued' THEN 2 ELSE 1 END) AS rank, (array_agg(errors ORDER BY "
    " stage DESC) FILTER (WHERE errors IS NOT NULL))[1] AS errors, "
    " (array_agg(last_error ORDER BY stage DESC) FILTER (WHERE last_error "
    " IS NOT NULL))[1] AS last_error, (array_agg(entity ORDER BY stage))[1] "
    " AS entity FROM catalog_sync.jobs WHERE run_id = $1 GROUP BY fqn) "
    "SELECT jsonb_build_object('run', to_jsonb(r) - 'pending_watermarks' - "
    " 'owner' - 'lease_until', 'entities', coalesce((SELECT "
    " jsonb_object_agg(e.fqn, jsonb_build_object('status', "
    " (ARRAY['done','queued','running','failed'])[e.rank], 'op', e.op, "
    " 'errors', e.errors, 'last_error', e.last_error, 'aspects', "
    " coalesce((SELECT jsonb_object_agg(a.aspect, a.value) FROM "
    " catalog_sync.aspects a WHERE a.fqn = e.fqn AND a.run_id = $1), '{}') "
    " || CASE WHEN e.entity IS NULL THEN '{}' ELSE jsonb_build_object("
    " 'table', e.entity) END)) FROM e), '{}'))::text FROM catalog_sync.runs "
    " r WHERE r.id = $1";

/* Failed entities of a run, for `once` without --report: cheap even for
 * a large run, unlike the whole report. */
int queue_run_failures(PGconn *c, int64_t run_id, json_t **out, char *err,
                       size_t errlen)
{
    char id[24];
    fmt_i64(id, sizeof id, run_id);
    const char *p[] = {id};
    int rc = get_json(
        c,
        "SELECT coalesce(jsonb_agg(jsonb_build_object('fqn', fqn, 'errors', "
        " errors, 'last_error', last_error) ORDER BY fqn), '[]')::text FROM "
        " (SELECT DISTINCT ON (fqn) fqn, errors, last_error FROM "
        " catalog_sync.jobs WHERE run_id = $1 AND status = 'failed' ORDER BY "
        " fqn, stage DESC) f",
        1, p, "run failures", out, err, errlen);
    return rc < 0 ? -1 : 0;
}

/* Report material as a new reference.  0, or -1 (also for an unknown
 * run). */
int queue_run_report(PGconn *c, int64_t run_id, json_t **out, char *err,
                     size_t errlen)
{
    char id[24];
    fmt_i64(id, sizeof id, run_id);
    const char *p[] = {id};
    int rc = get_json(c, REPORT_SQL, 1, p, "run report", out, err, errlen);
    if (rc == 0)
        snprintf(err, errlen, "state store: no run %s", id);
    return rc == 1 ? 0 : -1;
}
