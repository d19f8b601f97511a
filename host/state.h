/*
 * The state store: one Postgres database holding schema `catalog_sync`.
 * state_connect() opens a libpq connection for host use (never for a pass),
 * with application_name set and synchronous_commit off for this session
 * (a lost commit after a Postgres crash only means work is re-done, since
 * every write is idempotent).  state_migrate() brings the schema to the
 * newest version under a transaction-level advisory lock, so concurrent
 * daemons starting together migrate once.
 */
#ifndef HOST_STATE_H
#define HOST_STATE_H

#include <libpq-fe.h>
#include <stddef.h>

#define STATE_SCHEMA_VERSION 2

/* Returns a connection or NULL with err set (the DSN's password redacted). */
PGconn *state_connect(const char *dsn, const char *application_name, char *err,
                      size_t errlen);
/* Applies pending migrations.  Returns the schema version, or -1. */
int state_migrate(PGconn *conn, char *err, size_t errlen);

/* Runs one statement with text params; returns the result when its status
 * is COMMAND_OK or TUPLES_OK, else NULL with err set (the statement's first
 * words and the server message).  Caller PQclear()s. */
PGresult *state_exec(PGconn *conn, const char *sql, int nparams,
                     const char *const *params, char *err, size_t errlen);
/* Same, for statements whose result is not needed; 0 or -1. */
int state_exec_cmd(PGconn *conn, const char *sql, int nparams,
                   const char *const *params, char *err, size_t errlen);

#endif
