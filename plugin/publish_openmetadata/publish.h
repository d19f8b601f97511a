/*
 * Internals of the publish_openmetadata pass, shared by its source files.
 *
 *   publish_openmetadata.c  declarations, options, init/fini, process();
 *   http.c      requests to OpenMetadata: URL building, the bearer token,
 *               retries within a budget, the 401/403 gate;
 *   entity.c    the fresh Table entity, the per-entity pass state, hashes;
 *   describe.c  the `description` aspect -> suggestions or patch ops;
 *   tags.c      the `pii` aspect -> tag suggestions or patch ops;
 *   suggest.c   open suggestions of a table, POST /api/v1/suggestions;
 *   patch.c     the JSON Patch of one table and what it records;
 *   lineage.c   the `fk` aspect -> PUT /api/v1/lineage, parent id cache;
 *   report.c    the `published` aspect, audit rows, metrics.
 *
 * process() runs concurrently: the instance state (struct pub_state) is
 * read-only after init() except the auth gate and the parent cache, both
 * behind `lock`.  Everything of one entity lives in a struct pub_job on
 * the stack of its process() call: every function below runs on the pool
 * thread of that call, borrows its arguments unless it says otherwise, and
 * reports an allocation failure as CS_ERR_NOMEM with set_error done.
 */
#ifndef PUBLISH_OPENMETADATA_H
#define PUBLISH_OPENMETADATA_H

#include "om_common.h"
#include <catalog_sync/pass.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal outcomes, besides the cs_status codes (all negative). */
#define PUB_CONFLICT 1 /* 409/412 (or a failed `test` op): refetch, retry */
#define PUB_GONE 2     /* 404: the table or the parent is not in the catalog */

/* Validated options (declarations in publish_openmetadata.c). */
struct pub_opts {
    char *api;         /* "<base_url>/api/v1", owned */
    char *auth_header; /* "Authorization: Bearer <token>", owned */
    bool apply;        /* mode apply (else suggest) */
    bool descriptions, tags, lineage;
    const char *bot_name; /* borrowed from the config */
    long timeout_ms;
    int max_retries;
    long retry_budget_ms, backoff_ms;
    long auth_hold_ms, cache_ttl_ms;
};

struct pub_state {
    const cs_host_api *h;
    struct pub_opts o;
    pthread_mutex_t lock;     /* guards the three fields below */
    long long auth_failed_at; /* monotonic ms of the last 401/403, 0: none */
    char auth_msg[768];       /* the message every entity fails with */
    json_t *parents;          /* {fqn: {id, columns: {name: fqn}, at}} */
};

/* One entity's work, on the stack of process(). */
struct pub_job {
    struct pub_state *s;
    const cs_host_api *h;
    cs_ctx *ctx;
    const char *fqn;        /* borrowed from the host */
    json_t *entity;         /* the fresh Table, owned */
    const char *id;         /* borrowed from entity */
    char target[96];        /* "openmetadata:table/<id>" */
    json_t *st;             /* per-entity pass state, owned */
    bool st_dirty;          /* st must be written back */
    json_t *open;           /* open suggestions of the table, NULL: not read */
    json_t *ops;            /* pending JSON Patch ops */
    json_t *pending;        /* what each pending op records once applied */
    json_t *tested;         /* {"<column index>": true}: name guards added */
    json_t *done;           /* {field: true}: written by this call */
    json_t *sent, *skipped; /* for the `published` aspect */
    json_t *failed;         /* [{field, error}]: writes that failed */
    long unchanged;
    long budget_ms;  /* what is left of the retry budget */
    char fatal[768]; /* the message of a fatal error (also set_error) */
    char note[512];  /* why the entity is skipped (PUB_GONE) */
};

/* ---- http.c ---- */

/* A response: status and the parsed body (NULL when not JSON). */
struct om_resp {
    long status;
    json_t *json;
};
/* Frees the parsed body and zeroes the response. */
void om_resp_clear(struct om_resp *r);
/* Sends one request (body may be NULL, ctype may be NULL) with the token,
 * retrying 429/5xx within the job's budget.  CS_OK with *out filled for
 * any other status; CS_ERR_DENIED after a 401/403 (the gate is closed for
 * every entity for auth_hold_ms); other errors with set_error done. */
int om_call(struct pub_job *j, const char *method, const char *url,
            const char *ctype, const json_t *body, struct om_resp *out);
/* CS_ERR_DENIED with the stored message when an earlier 401/403 still
 * holds, else CS_OK. */
int om_gate(struct pub_job *j);
/* "<message>" of an OpenMetadata error body, or "" (borrowed). */
const char *om_message(const struct om_resp *r);

/* ---- entity.c ---- */

/* GET the table by name: CS_OK (j->entity, j->id set), PUB_GONE, or an
 * error with set_error done. */
int pub_fetch_entity(struct pub_job *j);
/* Index of column `name` in the fresh entity, -1 when absent. */
long pub_column_index(const struct pub_job *j, const char *name);
/* Column `index` of the fresh entity (borrowed), NULL when out of range. */
json_t *pub_column(const struct pub_job *j, long index);
/* FNV-1a 64 of `s` as 16 hex digits into out[17]. */
void pub_hash(const char *s, char out[17]);
/* The state entry st[section][key] (borrowed), or NULL. */
json_t *pub_state_entry(const struct pub_job *j, const char *section,
                        const char *key);
/* st[section][key] = value (stolen); marks the state to be written. */
int pub_state_set(struct pub_job *j, const char *section, const char *key,
                  json_t *value);
/* Reads the table's pass state into j->st (an empty state when none):
 * CS_OK, or CS_ERR_NOMEM with set_error done. */
int pub_state_load(struct pub_job *j);
/* Writes j->st back when something changed: CS_OK, or the state_put
 * error with set_error done. */
int pub_state_save(struct pub_job *j);
/* Whether `s` can sit in an entityLink segment. */
bool pub_link_safe(const char *s);
/* Marks a field written by this call / tests it. */
void pub_done(struct pub_job *j, const char *field);
bool pub_is_done(const struct pub_job *j, const char *field);

/* ---- describe.c, tags.c, lineage.c ---- */

/* Each reads its aspect (borrowed from the host), decides against the
 * fresh entity and the state, and suggests, queues patch ops (apply) or
 * puts lineage.  CS_OK (skips and field errors recorded in j),
 * PUB_CONFLICT, PUB_GONE (lineage: a 404 on the PUT), or an error with
 * set_error done. */
int pub_descriptions(struct pub_job *j);
int pub_tags(struct pub_job *j);
int pub_lineage(struct pub_job *j);
/* Drops a parent table from the id cache (any thread; takes the lock). */
void pub_cache_forget(struct pub_state *s, const char *fqn);

/* ---- suggest.c ---- */

/* A suggestion to send for `field` (column NULL: the table). */
struct pub_suggestion {
    const char *field;
    const char *column;
    const char *description; /* SuggestDescription, or NULL */
    const char *tag;         /* SuggestTagLabel, or NULL */
    const json_t *old;       /* current value, for the audit row */
    const json_t *evidence;
    const char *section; /* where the state of the field lives ... */
    const json_t *state; /* ... and what it becomes, plus "suggestion" */
};
/* Open suggestion already there, else POST.  CS_OK, PUB_CONFLICT, or an
 * error (recorded on the field when it concerns it alone). */
int pub_suggest(struct pub_job *j, const struct pub_suggestion *sg);
/* The TagLabel we send: only the four fields every server accepts. */
json_t *pub_tag_label(const char *tag_fqn);

/* ---- patch.c ---- */

/* Queues the name guard of column `index` (once per patch). */
int pub_patch_guard(struct pub_job *j, long index, const char *name);
/* Queues op (stolen, NULL counts as out of memory): CS_OK or
 * CS_ERR_NOMEM. */
int pub_patch_op(struct pub_job *j, json_t *op);
/* What one field records once the patch is applied: the audit row (old,
 * new_value, evidence borrowed) and st[section][field] = state (stolen). */
int pub_patch_record(struct pub_job *j, const char *field, const json_t *old,
                     const json_t *new_value, const json_t *evidence,
                     const char *section, json_t *state);
/* Sends the queued ops: CS_OK (nothing queued included), PUB_CONFLICT,
 * or an error. */
int pub_patch_send(struct pub_job *j);
/* Forgets the queued ops, records and name guards (before a retry). */
void pub_patch_reset(struct pub_job *j);

/* ---- report.c ---- */

/* Formats the fatal error of the entity, set_error()s it, returns rc. */
int pub_fail(struct pub_job *j, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* One audit row on j->target (arguments borrowed): CS_OK, or the host's
 * error with set_error done (the entity then stops writing). */
int pub_audit(struct pub_job *j, const char *action, const char *field,
              const json_t *old, const json_t *new_value,
              const json_t *evidence);
/* Lists a write in `published`; extra (stolen, may be NULL) adds members. */
void pub_sent(struct pub_job *j, const char *field, const char *action,
              json_t *extra);
/* Lists a field left as it is, with the reason (logged at debug). */
void pub_skip(struct pub_job *j, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Records an error of one field; the entity fails at the end. */
void pub_field_error(struct pub_job *j, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Warns when OpenMetadata recorded a write under another name than
 * config.bot_name (actor may be NULL: nothing to check). */
void pub_check_bot(struct pub_job *j, const char *actor);
/* Puts the `published` aspect; status is "published", "unchanged",
 * "skipped" or "failed"; reason may be NULL. */
int pub_report(struct pub_job *j, const char *status, const char *reason);

#endif
