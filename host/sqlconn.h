/*
 * SQL connections by name for passes: the manifest's `connections:` map.
 * One sql_pool per pool thread caches one PGconn per connection name; a
 * connection is egress-checked (every host of its DSN) before it is opened
 * and reopened once if it broke.  statement_timeout from the connection's
 * settings is applied at connect.  Results are wrapped so passes never
 * see libpq.
 */
#ifndef HOST_SQLCONN_H
#define HOST_SQLCONN_H

#include <catalog_sync/pass.h>
#include <stddef.h>

#include "manifest.h"

struct sql_pool;

/* m is borrowed for the pool's lifetime. */
struct sql_pool *sql_pool_new(const struct manifest *m);
void sql_pool_free(struct sql_pool *p);

/* Returns CS_OK and *out, CS_ERR_NOT_FOUND for an unknown connection name,
 * CS_ERR_EGRESS when a host of its DSN is not allowed (not opened),
 * CS_ERR_TIMEOUT on statement timeout, CS_ERR_UNAVAILABLE when the server
 * cannot be reached, CS_ERR_INVALID for bad arguments or an unparsable
 * DSN, CS_ERR with err (server message, DSN password redacted) otherwise. */
int sql_pool_query(struct sql_pool *p, const char *connection, const char *sql,
                   int nparams, const char *const *params, cs_sql_result **out,
                   char *err, size_t errlen);

int sql_result_nrows(const cs_sql_result *r);
int sql_result_ncols(const cs_sql_result *r);
const char *sql_result_colname(const cs_sql_result *r, int col);
const char *sql_result_coltype(const cs_sql_result *r, int col);
const char *sql_result_value(const cs_sql_result *r, int row, int col);
void sql_result_free(cs_sql_result *r);

#endif
