/*
 * SQL connections by name: one cached PGconn per manifest connection in
 * each sql_pool (one pool per pool thread, so nothing here locks).  See
 * sqlconn.h.
 *
 * Reconnect policy: a statement is retried on a fresh connection only
 * when the cached connection was found broken *before* the statement was
 * sent (the server closed it while idle).  A connection that breaks while
 * a statement runs is reported, never retried: the statement may have
 * taken effect.
 */
#include "sqlconn.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "log.h"

#define MAX_DSN_HOSTS 16
#define SQLSTATE_QUERY_CANCELED "57014"

struct sql_slot {
    const struct mf_connection *mc;
    PGconn *conn;
    int doomed; /* the server sent FATAL while the connection was idle */
};

struct type_name {
    Oid oid;
    char *name;
};

struct sql_pool {
    const struct manifest *m;
    struct sql_slot *slots; /* parallel to m->connections */
    size_t n_slots;
    struct type_name *types; /* looked up in pg_type, for this pool */
    size_t n_types;
};

struct cs_sql_result {
    PGresult *res;
    struct sql_pool *pool; /* for type names; results die before the pool */
    struct sql_slot *slot;
    char (*fallback)[24]; /* "oid:<n>" per column, allocated on demand */
};

/* ---- pool --------------------------------------------------------------- */

/* Returns NULL when out of memory.  Nothing is connected yet. */
struct sql_pool *sql_pool_new(const struct manifest *m)
{
    struct sql_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    p->n_slots = m ? m->n_connections : 0;
    if (p->n_slots) {
        p->slots = calloc(p->n_slots, sizeof *p->slots);
        if (!p->slots) {
            free(p);
            return NULL;
        }
        for (size_t i = 0; i < p->n_slots; i++)
            p->slots[i].mc = &m->connections[i];
    }
    return p;
}

/* Closes every connection.  Results of this pool must be freed first. */
void sql_pool_free(struct sql_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].conn)
            PQfinish(p->slots[i].conn);
    for (size_t i = 0; i < p->n_types; i++)
        free(p->types[i].name);
    free(p->types);
    free(p->slots);
    free(p);
}

/* Errors may quote a DSN: they are redacted, and kept on one line (libpq
 * ends its messages with a newline). */
static int sql_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sql_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    raw[strcspn(raw, "\n")] = '\0';
    return log_redactf(err, errlen, code, "%s", raw);
}

static struct sql_slot *find_slot(struct sql_pool *p, const char *name)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].mc->name && strcmp(p->slots[i].mc->name, name) == 0)
            return &p->slots[i];
    return NULL;
}

/* ---- connecting --------------------------------------------------------- */

/* Every host of the DSN must be on the egress list. */
static int check_egress(struct sql_pool *p, const struct mf_connection *mc,
                        char *err, size_t errlen)
{
    char hosts[MAX_DSN_HOSTS][256], why[512];
    int ports[MAX_DSN_HOSTS];
    int n = egress_dsn_targets(mc->dsn, hosts, ports, MAX_DSN_HOSTS, why,
                               sizeof why);
    if (n < 0)
        return sql_fail(err, errlen, CS_ERR_INVALID, "connection \"%s\": %s",
                        mc->name, why);
    for (int i = 0; i < n; i++) {
        if (egress_allowed(p->m->egress, p->m->n_egress, hosts[i], ports[i]))
            continue;
        if (ports[i])
            return sql_fail(err, errlen, CS_ERR_EGRESS,
                            "connection \"%s\": egress refused: %s:%d is not "
                            "in the manifest's egress list",
                            mc->name, hosts[i], ports[i]);
        return sql_fail(err, errlen, CS_ERR_EGRESS,
                        "connection \"%s\": egress refused: %s is not in the "
                        "manifest's egress list",
                        mc->name, hosts[i]);
    }
    return CS_OK;
}

/* An inline DSN password must never reach a log line. */
static void register_password(const char *dsn)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (o->val && strcmp(o->keyword, "password") == 0)
            log_add_secret(o->val);
    PQconninfoFree(opts);
}

/* libpq prints notices to stderr by default; route them to the log.  A
 * FATAL arriving while idle (pg_terminate_backend, server shutdown) is
 * delivered here too: it marks the connection as doomed even before the
 * socket's end of file has been seen. */
static void on_notice(void *arg, const PGresult *res)
{
    struct sql_slot *s = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        s->doomed = 1;
    char line[512];
    snprintf(line, sizeof line, "%s", PQresultErrorMessage(res));
    line[strcspn(line, "\n")] = '\0';
    log_debug("sql connection \"%s\": %s", s->mc->name, line);
}

static int apply_session(PGconn *conn, const struct mf_connection *mc,
                         char *err, size_t errlen)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d",
             mc->statement_timeout_ms > 0 ? mc->statement_timeout_ms : 0);
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return sql_fail(err, errlen, CS_ERR,
                        "connection \"%s\": setting statement_timeout: %s",
                        mc->name, PQerrorMessage(conn));
    return CS_OK;
}

/* Opens slot->conn after the egress check.  Defaults listed before the
 * expanded DSN, so the operator's DSN can override them. */
static int slot_connect(struct sql_pool *p, struct sql_slot *s, char *err,
                        size_t errlen)
{
    const struct mf_connection *mc = s->mc;
    int rc = check_egress(p, mc, err, errlen);
    if (rc != CS_OK)
        return rc;
    register_password(mc->dsn);
    const char *keys[] = {"application_name", "connect_timeout", "dbname",
                          NULL};
    const char *vals[] = {"catalog-sync", "10", mc->dsn, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return sql_fail(err, errlen, CS_ERR_NOMEM,
                        "connection \"%s\": out of memory", mc->name);
    if (PQstatus(conn) != CONNECTION_OK) {
        rc = sql_fail(err, errlen, CS_ERR_UNAVAILABLE, "connection \"%s\": %s",
                      mc->name,
                      PQerrorMessage(conn)); /* libpq names host and port */
        PQfinish(conn);
        return rc;
    }
    s->doomed = 0;
    PQsetNoticeReceiver(conn, on_notice, s);
    rc = apply_session(conn, mc, err, errlen);
    if (rc != CS_OK) {
        PQfinish(conn);
        return rc;
    }
    s->conn = conn;
    return CS_OK;
}

/* Whether an idle connection is known dead.  A server that terminated
 * the backend sent a FATAL message (see on_notice) and closes the socket;
 * anything readable on an idle connection is consumed so that libpq sees
 * both. */
static int slot_broken(struct sql_slot *s)
{
    if (PQstatus(s->conn) != CONNECTION_OK)
        return 1;
    int fd = PQsocket(s->conn);
    if (fd < 0)
        return 1;
    for (int i = 0; i < 4; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if (!PQconsumeInput(s->conn))
            break;
        (void)PQisBusy(s->conn); /* parses: an idle FATAL reaches on_notice */
    }
    return s->doomed || PQstatus(s->conn) != CONNECTION_OK;
}

static void slot_close(struct sql_slot *s)
{
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
}

/* A usable connection for the statement about to be sent. */
static int slot_ready(struct sql_pool *p, struct sql_slot *s, char *err,
                      size_t errlen)
{
    if (s->conn && slot_broken(s)) {
        log_info("sql connection \"%s\": the server closed it; reconnecting",
                 s->mc->name);
        slot_close(s);
    }
    if (s->conn)
        return CS_OK;
    return slot_connect(p, s, err, errlen);
}

/* ---- querying ----------------------------------------------------------- */

static int result_error(struct sql_slot *s, PGresult *res, char *err,
                        size_t errlen)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    int timeout = state && strcmp(state, SQLSTATE_QUERY_CANCELED) == 0;
    int rc =
        sql_fail(err, errlen, timeout ? CS_ERR_TIMEOUT : CS_ERR,
                 "connection \"%s\": %s%s%s", s->mc->name, state ? state : "",
                 state ? ": " : "", msg ? msg : PQerrorMessage(s->conn));
    if (PQstatus(s->conn) != CONNECTION_OK)
        slot_close(s); /* broke mid-statement: reconnect next time */
    return rc;
}

static int wrap_result(struct sql_pool *p, struct sql_slot *s, PGresult *res,
                       cs_sql_result **out, char *err, size_t errlen)
{
    cs_sql_result *r = calloc(1, sizeof *r);
    if (!r) {
        PQclear(res);
        return sql_fail(err, errlen, CS_ERR_NOMEM,
                        "connection \"%s\": out of memory", s->mc->name);
    }
    r->res = res;
    r->pool = p;
    r->slot = s;
    *out = r;
    return CS_OK;
}

/* One pool thread at a time.  See sqlconn.h for the outcomes. */
int sql_pool_query(struct sql_pool *p, const char *connection, const char *sql,
                   int nparams, const char *const *params, cs_sql_result **out,
                   char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!p || !connection || !sql || !out || nparams < 0 ||
        (nparams > 0 && !params))
        return sql_fail(err, errlen, CS_ERR_INVALID,
                        "sql query: invalid arguments");
    struct sql_slot *s = find_slot(p, connection);
    if (!s)
        return sql_fail(err, errlen, CS_ERR_NOT_FOUND,
                        "sql query: unknown connection \"%s\"", connection);
    int rc = slot_ready(p, s, err, errlen);
    if (rc != CS_OK)
        return rc;
    PGresult *res = PQexecParams(s->conn, sql, nparams, NULL,
                                 (const char *const *)params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
        return wrap_result(p, s, res, out, err, errlen);
    rc = result_error(s, res, err, errlen);
    PQclear(res);
    return rc;
}

/* ---- results ------------------------------------------------------------ */

/* Result accessors: any thread that owns the result; NULL-safe. */
int sql_result_nrows(const cs_sql_result *r)
{
    return r ? PQntuples(r->res) : 0;
}

int sql_result_ncols(const cs_sql_result *r)
{
    return r ? PQnfields(r->res) : 0;
}

const char *sql_result_colname(const cs_sql_result *r, int col)
{
    return r ? PQfname(r->res, col) : NULL;
}

/* Text of a cell; NULL for SQL NULL or out of range. */
const char *sql_result_value(const cs_sql_result *r, int row, int col)
{
    if (!r || row < 0 || col < 0 || row >= PQntuples(r->res) ||
        col >= PQnfields(r->res) || PQgetisnull(r->res, row, col))
        return NULL;
    return PQgetvalue(r->res, row, col);
}

/* NULL is allowed. */
void sql_result_free(cs_sql_result *r)
{
    if (!r)
        return;
    PQclear(r->res);
    free(r->fallback);
    free(r);
}

/* ---- column types ------------------------------------------------------- */

static const struct {
    Oid oid;
    const char *name;
} builtin_types[] = {
    {16, "bool"},       {17, "bytea"},       {18, "char"},
    {19, "name"},       {20, "int8"},        {21, "int2"},
    {23, "int4"},       {24, "regproc"},     {25, "text"},
    {26, "oid"},        {28, "xid"},         {114, "json"},
    {142, "xml"},       {600, "point"},      {650, "cidr"},
    {700, "float4"},    {701, "float8"},     {705, "unknown"},
    {774, "macaddr8"},  {790, "money"},      {829, "macaddr"},
    {869, "inet"},      {1000, "_bool"},     {1005, "_int2"},
    {1007, "_int4"},    {1009, "_text"},     {1015, "_varchar"},
    {1016, "_int8"},    {1021, "_float4"},   {1022, "_float8"},
    {1042, "bpchar"},   {1043, "varchar"},   {1082, "date"},
    {1083, "time"},     {1114, "timestamp"}, {1184, "timestamptz"},
    {1186, "interval"}, {1231, "_numeric"},  {1266, "timetz"},
    {1560, "bit"},      {1562, "varbit"},    {1700, "numeric"},
    {2205, "regclass"}, {2249, "record"},    {2278, "void"},
    {2950, "uuid"},     {2951, "_uuid"},     {3614, "tsvector"},
    {3802, "jsonb"},    {3807, "_jsonb"},    {3904, "int4range"},
};

static const char *cached_type(const struct sql_pool *p, Oid oid)
{
    for (size_t i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
        if (builtin_types[i].oid == oid)
            return builtin_types[i].name;
    for (size_t i = 0; i < p->n_types; i++)
        if (p->types[i].oid == oid)
            return p->types[i].name;
    return NULL;
}

/* Asks the server that produced the result; NULL if it cannot say. */
static const char *lookup_type(struct sql_pool *p, struct sql_slot *s, Oid oid)
{
    char oidtxt[16];
    snprintf(oidtxt, sizeof oidtxt, "%u", oid);
    const char *params[] = {oidtxt};
    if (!s->conn || slot_broken(s))
        return NULL; /* never reconnect just to name a type */
    PGresult *res =
        PQexecParams(s->conn, "select typname from pg_type where oid = $1", 1,
                     NULL, params, NULL, NULL, 0);
    const char *name = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        struct type_name *grown =
            realloc(p->types, (p->n_types + 1) * sizeof *p->types);
        char *copy = strdup(PQgetvalue(res, 0, 0));
        if (grown)
            p->types = grown;
        if (grown && copy) {
            p->types[p->n_types].oid = oid;
            p->types[p->n_types++].name = copy;
            name = copy;
        } else {
            free(copy);
        }
    }
    PQclear(res);
    return name;
}

/* Lower-case engine type name.  Common built-in types come from a table;
 * others (enums, domains, arrays, extensions) are looked up once per pool
 * in pg_type.  If that lookup is impossible the name is "oid:<n>".
 * Borrowed until sql_result_free. */
const char *sql_result_coltype(const cs_sql_result *cr, int col)
{
    if (!cr || col < 0 || col >= PQnfields(cr->res))
        return NULL;
    cs_sql_result *r = (cs_sql_result *)cr; /* caches are not observable */
    Oid oid = PQftype(r->res, col);
    const char *name = cached_type(r->pool, oid);
    if (!name)
        name = lookup_type(r->pool, r->slot, oid);
    if (name)
        return name;
    if (!r->fallback &&
        !(r->fallback = calloc((size_t)PQnfields(r->res), sizeof *r->fallback)))
        return "unknown";
    snprintf(r->fallback[col], sizeof r->fallback[col], "oid:%u", oid);
    return r->fallback[col];
}
