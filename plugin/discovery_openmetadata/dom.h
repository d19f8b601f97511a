/* Internal interfaces of the discovery_openmetadata pass. */
#ifndef DISCOVERY_OPENMETADATA_H
#define DISCOVERY_OPENMETADATA_H

#include "om_common.h"
#include <catalog_sync/pass.h>
#include <stdbool.h>

/* FQN levels the filters apply to: service, database, schema. */
enum { DOM_SERVICE, DOM_DATABASE, DOM_SCHEMA, DOM_LEVELS };

/* Read-only after init(). */
struct dom_state {
    const cs_host_api *host;
    char *api;  /* "<base>/api/v1", no trailing slash */
    char *auth; /* "Authorization: Bearer <token>" */
    char *bot;
    char *connection; /* catalogSync.connection, may be NULL */
    long page_size, timeout_ms, index_lag_ms;
    int max_retries;
    bool full;
    /* Per level, an array of entries; an entry is an array of 1..level+1
     * name parts matched against the last parts of that level's path. */
    json_t *filters[DOM_LEVELS];
    json_t *exclude; /* glob strings */
};

/* One discover() call. */
struct dom_run {
    const struct dom_state *s;
    cs_ctx *ctx;
    bool first;         /* no usable watermark: every table is new */
    bool emit_all;      /* first run or `full`: emit unchanged tables too */
    long long window;   /* lowest updatedAt still considered (W - lag) */
    long long wm;       /* the committed watermark's updatedAt */
    const json_t *seen; /* committed {id: updatedAt}, borrowed, may be NULL */
    json_t *cand;       /* {id: {fqn, updatedAt, updatedBy, deleted}} */
    json_t *done;       /* {fqn: true} already emitted or deleted */
    size_t found, emitted, skipped_bot, excluded, deleted, filtered;
};

/* Outcome of checking one listed or searched table. */
enum dom_hit { DOM_HIT_TAKEN, DOM_HIT_SKIPPED, DOM_HIT_VIOLATION };

/* ---- http.c ---- */

/* GET <url> with the bearer token; *out is the parsed body (new
 * reference) on 2xx.  CS_ERR_NOT_FOUND on 404 (no error set); any other
 * failure sets the error (naming the URL, never the token):
 * CS_ERR_DENIED on 401/403, CS_ERR_UNAVAILABLE on 5xx, the host's
 * status on a transport failure (after its retries). */
int dom_get_json(const struct dom_run *run, const char *url, json_t **out);

/* ---- fqn.c ---- */

/* Splits an OpenMetadata FQN on unquoted dots, unquoting parts ("" is a
 * quote).  New array of strings, NULL on malformed input or no memory. */
json_t *dom_fqn_split(const char *fqn);
/* Parses config list `key` at `level` into s->filters[level]; on error
 * sets it naming config.<key>[i].  CS_OK or CS_ERR_INVALID/NOMEM. */
int dom_filters_parse(struct dom_state *s, cs_ctx *ctx, const char *key,
                      int level);
/* Whether a table FQN lies inside the service/database/schema filters. */
bool dom_in_filters(const struct dom_state *s, const json_t *parts);
/* Whether an exclude_tables glob matches table, schema.table or the FQN. */
bool dom_excluded(const struct dom_state *s, const json_t *parts,
                  const char *fqn);
/* The search query_filter text: updatedAt >= window plus the filters.
 * malloc'd, NULL on allocation failure. */
char *dom_query_filter(const struct dom_state *s, long long window);

/* ---- search.c / listing.c ---- */

/* Pages through the search API (deleted=false, then deleted=true) and
 * records candidates.  *violation is set when a hit breaks the filter
 * (the server ignored it).  CS_OK or an error already set. */
int dom_search(struct dom_run *run, bool *violation);
/* Pages through GET /tables (include=all) and records candidates. */
int dom_list(struct dom_run *run);
/* Checks one table summary (a search _source or a list item) and records
 * it as a candidate.  `strict`: a table outside the window or filters is a
 * violation, else it is skipped.  DOM_HIT_* or a negative cs_status. */
int dom_take(struct dom_run *run, const json_t *t, bool strict);

/* ---- emit.c ---- */

/* Fetches, skips or emits every candidate. CS_OK or an error already set. */
int dom_process(struct dom_run *run);
/* Fetches one table by id (or FQN when id is NULL) and emits it, reports
 * it deleted or skips it.  `fqn` (may be NULL) is what the caller knows
 * of its FQN, reported deleted on 404. */
int dom_fetch_emit(struct dom_run *run, const char *id, const char *fqn,
                   bool skip_bot);
/* emit_deleted once per FQN. */
int dom_emit_deleted(struct dom_run *run, const char *fqn);
/* The new watermark {updatedAt, seen}, new reference, NULL on no memory. */
json_t *dom_watermark(const struct dom_run *run);

/* ---- targets.c ---- */

/* A targeted run over host->run_targets(); never moves the watermark. */
int dom_targets(struct dom_run *run, const json_t *targets);

#endif
