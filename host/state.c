/*
 * The state store: connection, schema migrations and thin exec helpers.
 * The schema itself (migrations 1 and 2) is documented below; the
 * queries over it live in queue.c.
 */
#include "state.h"

#include "log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key serialising migrations across daemons:
 * the bytes "catsync" as a bigint. */
#define MIGRATE_LOCK_KEY "27973175475793507"

/*
 * Migration 1.  Notes on choices that are not obvious from the columns:
 * - runs_one_active: at most one active run, so two masters triggering at
 *   once cannot both create one (queue_create_run relies on it).
 * - jobs_claim (attempts, id) over open jobs: the claim takes fresh jobs
 *   (attempts = 0) in id order and retried ones (attempts > 0) apart, so
 *   both are index range scans that never walk the other kind.
 * - jobs_open (run_id, stage) over open jobs: "is this stage finished?"
 *   without visiting the stage's done jobs.
 * - jobs_owner over running jobs: lease renewal and owner release.
 * - aspects never hold raw aspects (the host guarantees it before writing).
 */
static const char MIGRATION_1[] =
    "CREATE TABLE catalog_sync.runs ("
    " id bigserial PRIMARY KEY,"
    " trigger text NOT NULL,"
    " status text NOT NULL DEFAULT 'pending' CHECK (status IN"
    "  ('pending','discovering','processing','completed','failed')),"
    " requested_by text,"
    " generation int NOT NULL DEFAULT 0,"
    " stage int NOT NULL DEFAULT 0,"
    " owner text,"
    " lease_until timestamptz,"
    " pending_watermarks jsonb,"
    " entities_total int NOT NULL DEFAULT 0,"
    " entities_done int NOT NULL DEFAULT 0,"
    " entities_failed int NOT NULL DEFAULT 0,"
    " error text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " started_at timestamptz,"
    " finished_at timestamptz);"
    "CREATE UNIQUE INDEX runs_one_active ON catalog_sync.runs ((true))"
    " WHERE status IN ('pending','discovering','processing');"
    "CREATE TABLE catalog_sync.jobs ("
    " id bigserial PRIMARY KEY,"
    " run_id bigint NOT NULL REFERENCES catalog_sync.runs ON DELETE CASCADE,"
    " stage int NOT NULL,"
    " fqn text NOT NULL,"
    " source text,"
    " op text NOT NULL CHECK (op IN ('upsert','delete')),"
    " status text NOT NULL DEFAULT 'queued' CHECK (status IN"
    "  ('queued','running','done','failed')),"
    " attempts int NOT NULL DEFAULT 0,"
    " crashes int NOT NULL DEFAULT 0,"
    " owner text,"
    " lease_until timestamptz,"
    " entity jsonb,"
    " errors jsonb,"
    " last_error text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " started_at timestamptz,"
    " finished_at timestamptz,"
    " UNIQUE (run_id, stage, fqn));"
    "CREATE INDEX jobs_claim ON catalog_sync.jobs (attempts, id)"
    " WHERE status IN ('queued','running');"
    "CREATE INDEX jobs_open ON catalog_sync.jobs (run_id, stage)"
    " WHERE status IN ('queued','running');"
    "CREATE INDEX jobs_owner ON catalog_sync.jobs (owner)"
    " WHERE status = 'running';"
    "CREATE TABLE catalog_sync.watermarks ("
    " source text PRIMARY KEY,"
    " value jsonb,"
    " run_id bigint,"
    " updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE catalog_sync.aspects ("
    " fqn text NOT NULL,"
    " aspect text NOT NULL,"
    " run_id bigint,"
    " pass text,"
    " value jsonb NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (fqn, aspect));"
    "CREATE TABLE catalog_sync.pass_state ("
    " pass text NOT NULL,"
    " key text NOT NULL,"
    " value jsonb,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (pass, key));"
    "CREATE TABLE catalog_sync.audit_log ("
    " id bigserial PRIMARY KEY,"
    " at timestamptz NOT NULL DEFAULT now(),"
    " run_id bigint,"
    " pass text,"
    " entity text,"
    " target text,"
    " action text NOT NULL,"
    " field text,"
    " old_value jsonb,"
    " new_value jsonb,"
    " evidence jsonb,"
    " model text,"
    " actor text NOT NULL DEFAULT 'catalog-sync');"
    "CREATE INDEX audit_log_run ON catalog_sync.audit_log (run_id);"
    "CREATE TABLE catalog_sync.suggestions ("
    " id bigserial PRIMARY KEY,"
    " run_id bigint,"
    " entity text,"
    " field text,"
    " pass text,"
    " value jsonb,"
    " evidence jsonb,"
    " status text NOT NULL DEFAULT 'open' CHECK (status IN"
    "  ('open','accepted','rejected','superseded')),"
    " external_id text,"
    " decided_by text,"
    " decided_at timestamptz,"
    " created_at timestamptz NOT NULL DEFAULT now());";

/*
 * Migration 2: targets of targeted runs (webhook deliveries).  A target is
 * pending while run_id is NULL; the discovery claim of a 'webhook' run
 * assigns every pending target to that run (queue_claim_discovery_targets).
 * - run_targets_pending: one pending target per entity, so a burst of
 *   events for one table becomes one entity job; the newest event wins.
 * - run_targets_run: the claim reads a run's targets back after a lease
 *   loss (a second discovery of the same run sees the same targets).
 */
static const char MIGRATION_2[] =
    "CREATE TABLE catalog_sync.run_targets ("
    " id bigserial PRIMARY KEY,"
    " run_id bigint REFERENCES catalog_sync.runs ON DELETE CASCADE,"
    " origin text NOT NULL,"
    " entity_id text NOT NULL,"
    " fqn text,"
    " event text NOT NULL CHECK (event IN ('created','updated','deleted')),"
    " event_id text,"
    " event_time timestamptz,"
    " received_at timestamptz NOT NULL DEFAULT now(),"
    " assigned_at timestamptz);"
    "CREATE UNIQUE INDEX run_targets_pending ON catalog_sync.run_targets"
    " (entity_id) WHERE run_id IS NULL;"
    "CREATE INDEX run_targets_run ON catalog_sync.run_targets (run_id)"
    " WHERE run_id IS NOT NULL;";

/* Index i holds migration i+1; STATE_SCHEMA_VERSION must equal the count. */
static const char *const MIGRATIONS[] = {MIGRATION_1, MIGRATION_2};
_Static_assert(sizeof MIGRATIONS / sizeof MIGRATIONS[0] == STATE_SCHEMA_VERSION,
               "one migration per schema version");

/* Folds libpq's multi-line messages ("...\n\tIs the server running...")
 * into one line: trailing newlines go, inner runs of newline/tab become one
 * space. */
static void one_line(char *s)
{
    char *o = s;
    for (const char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            if (o > s && o[-1] != ' ')
                *o++ = ' ';
            continue;
        }
        *o++ = *p;
    }
    while (o > s && o[-1] == ' ')
        o--;
    *o = '\0';
}

/*
 * Opens a connection; application_name is a fallback the DSN may override.
 * A 10 s connect_timeout applies unless the DSN sets its own.  Sets
 * synchronous_commit off for the session.  The returned connection belongs
 * to the caller's thread; PQfinish() it.  NULL with err (password-free).
 */
/* Server notices ("schema ... already exists, skipping") are routine:
 * they go to the debug log instead of raw lines on stderr. */
static void notice_to_debug_log(void *arg, const char *message)
{
    (void)arg;
    char line[512];
    snprintf(line, sizeof line, "%s", message);
    one_line(line);
    log_debug("state store: %s", line);
}

PGconn *state_connect(const char *dsn, const char *application_name, char *err,
                      size_t errlen)
{
    const char *keys[] = {"connect_timeout", "dbname",
                          "fallback_application_name", NULL};
    const char *vals[] = {"10", dsn ? dsn : "",
                          application_name ? application_name : "catalog-sync",
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, notice_to_debug_log, NULL);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SET synchronous_commit = off");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok)
            return c;
    }
    char raw[1024], safe_dsn[512];
    snprintf(raw, sizeof raw, "%s",
             c ? PQerrorMessage(c) : "out of memory in libpq");
    one_line(raw);
    log_redact(dsn ? dsn : "", safe_dsn, sizeof safe_dsn);
    char msg[2048];
    snprintf(msg, sizeof msg, "state store %s: cannot connect: %s", safe_dsn,
             raw);
    /* libpq may echo parts of the DSN: the whole line goes through it. */
    log_redact(msg, err, errlen);
    PQfinish(c);
    return NULL;
}

/* Describes a failed statement by its first words (whitespace folded, at
 * most 48 characters) and the server's message. */
static void statement_error(PGconn *conn, const PGresult *r, const char *sql,
                            char *err, size_t errlen)
{
    char head[64];
    size_t h = 0;
    int space = 0;
    for (const char *p = sql; *p && h < 48; p++) {
        if (isspace((unsigned char)*p)) {
            space = h > 0;
            continue;
        }
        if (space && h < 47)
            head[h++] = ' ';
        space = 0;
        head[h++] = *p;
    }
    head[h] = '\0';
    /* The primary message (plus detail) keeps the error on one line;
     * without one (connection trouble) libpq's own message says why. */
    const char *primary =
        r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail =
        r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    char msg[1024];
    if (primary)
        snprintf(msg, sizeof msg, "%s%s%s%s", primary, detail ? " (" : "",
                 detail ? detail : "", detail ? ")" : "");
    else
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
    one_line(msg);
    snprintf(err, errlen, "state store: \"%s%s\": %s", head,
             strlen(sql) > h ? "..." : "", msg[0] ? msg : "unknown error");
}

/*
 * Runs one statement with text parameters (NULL entries are SQL NULL).
 * Returns the result (caller PQclear()s) or NULL with err set.
 */
PGresult *state_exec(PGconn *conn, const char *sql, int nparams,
                     const char *const *params, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return r;
    statement_error(conn, r, sql, err, errlen);
    PQclear(r);
    return NULL;
}

/* As state_exec for statements whose result is not needed: 0 or -1. */
int state_exec_cmd(PGconn *conn, const char *sql, int nparams,
                   const char *const *params, char *err, size_t errlen)
{
    PGresult *r = state_exec(conn, sql, nparams, params, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Current version inside the migration transaction (0 = fresh database). */
static int current_version(PGconn *conn, char *err, size_t errlen)
{
    PGresult *r = state_exec(conn,
                             "SELECT coalesce(max(version), 0) FROM "
                             "catalog_sync.schema_migrations",
                             0, NULL, err, errlen);
    if (!r)
        return -1;
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Applies migrations after `from`; runs inside the caller's transaction. */
static int apply_from(PGconn *conn, int from, char *err, size_t errlen)
{
    for (int v = from + 1; v <= STATE_SCHEMA_VERSION; v++) {
        PGresult *r = PQexec(conn, MIGRATIONS[v - 1]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char msg[768];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
            one_line(msg);
            snprintf(err, errlen, "state store: migration %d failed: %s", v,
                     msg);
            PQclear(r);
            return -1;
        }
        PQclear(r);
        char ver[16];
        snprintf(ver, sizeof ver, "%d", v);
        const char *p[] = {ver};
        if (state_exec_cmd(conn,
                           "INSERT INTO catalog_sync.schema_migrations "
                           "(version, applied_at) VALUES ($1, now())",
                           1, p, err, errlen) < 0)
            return -1;
    }
    return STATE_SCHEMA_VERSION;
}

/* The whole migration under the advisory lock; -1 leaves the transaction
 * for the caller to roll back. */
static int migrate_locked(PGconn *conn, char *err, size_t errlen)
{
    if (state_exec_cmd(conn,
                       "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0,
                       NULL, err, errlen) < 0 ||
        state_exec_cmd(conn, "CREATE SCHEMA IF NOT EXISTS catalog_sync", 0,
                       NULL, err, errlen) < 0 ||
        state_exec_cmd(conn,
                       "CREATE TABLE IF NOT EXISTS "
                       "catalog_sync.schema_migrations (version int PRIMARY "
                       "KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                       0, NULL, err, errlen) < 0)
        return -1;
    int v = current_version(conn, err, errlen);
    if (v < 0)
        return -1;
    if (v > STATE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "state store: schema catalog_sync is at version %d, newer "
                 "than this catalog-sync knows (%d); upgrade catalog-sync "
                 "or point it at another database",
                 v, STATE_SCHEMA_VERSION);
        return -1;
    }
    return apply_from(conn, v, err, errlen);
}

/*
 * Brings schema catalog_sync to STATE_SCHEMA_VERSION in one transaction
 * holding a transaction-level advisory lock, so daemons starting together
 * migrate once and the others then find the work done.  Returns the
 * version, or -1 with err (nothing changed), including when the database
 * is at a newer version than this build knows.
 */
/* The schema version when the migrations table exists, else 0; -1 on
 * error.  Lets an up-to-date store start without DDL, so the daemon's
 * user needs no CREATE privilege once the schema is in place. */
static int installed_version(PGconn *conn, char *err, size_t errlen)
{
    /* Two statements: a query naming a missing table fails to plan even
     * inside a CASE branch that would not run. */
    PGresult *r = state_exec(conn,
                             "SELECT to_regclass('catalog_sync."
                             "schema_migrations') IS NOT NULL",
                             0, NULL, err, errlen);
    if (!r)
        return -1;
    bool exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return exists ? current_version(conn, err, errlen) : 0;
}

int state_migrate(PGconn *conn, char *err, size_t errlen)
{
    int have = installed_version(conn, err, errlen);
    if (have < 0)
        return -1;
    if (have == STATE_SCHEMA_VERSION)
        return have;
    if (state_exec_cmd(conn, "BEGIN", 0, NULL, err, errlen) < 0)
        return -1;
    int v = migrate_locked(conn, err, errlen);
    if (v < 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    if (state_exec_cmd(conn, "COMMIT", 0, NULL, err, errlen) < 0)
        return -1;
    return v;
}
