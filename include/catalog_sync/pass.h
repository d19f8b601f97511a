/*
 * catalog-sync pass ABI.
 *
 * A pass is a shared object that exports one function, cs_pass_entry(),
 * returning a pointer to a static cs_pass_desc.  The host reads the first
 * three fields (abi_major, abi_minor, struct_size) before it touches anything
 * else of the descriptor and before it calls any other plugin code: it
 * accepts abi_major == CS_ABI_MAJOR and abi_minor <= CS_ABI_MINOR, and copies
 * min(struct_size, sizeof(cs_pass_desc)) bytes, so fields appended by a newer
 * minor version are ignored by an older host and read as zero by a newer one.
 *
 * Host services arrive at init() as a cs_host_api table.  That table only
 * grows: new functions are appended and its struct_size tells a pass which
 * ones exist (use CS_HOST_HAS()).  A pass that consumes a raw aspect (one
 * declared with CS_ASPECT_RAW, e.g. `sample`) receives a table whose network
 * and persistence functions (http, sql_query, state_put) are NULL: raw
 * values can neither leave the process nor be stored.
 *
 * Ownership, everywhere in this header:
 *   - anything passed *to* a pass (config, aspects from aspect_get, strings)
 *     is borrowed for the duration of the call; json_incref() to keep it;
 *   - anything a pass hands to a "put"/"emit" function is stolen, even when
 *     the call fails (like jansson's json_object_set_new);
 *   - the host never frees a pointer the pass allocated, except the json_t
 *     references it stole;
 *   - the instance state created by init() is owned by the pass and
 *     destroyed by the host calling fini(), exactly once, after the last
 *     callback returned.
 *
 * Threads: init() and fini() run on one worker thread with no other callback
 * of the same pass running.  process() may run concurrently on several pool
 * threads (at most the manifest's `concurrency`) with the same state, so the
 * state must be read-only after init() or protected by the pass.  discover()
 * and finish() never run concurrently with each other for the same pass.
 *
 * Don'ts: no constructors, atexit handlers or thread-local destructors; no
 * thread that outlives fini(); never call exit(), abort on purpose, or
 * install signal handlers; never log a raw sample value.
 */
#ifndef CATALOG_SYNC_PASS_H
#define CATALOG_SYNC_PASS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ABI_MAJOR 1
#define CS_ABI_MINOR 2

/* Return codes of every host function and every pass callback. */
typedef enum cs_status {
    CS_OK = 0,
    CS_ERR = -1,         /* generic failure; host->last_error() says why */
    CS_ERR_EGRESS = -2,  /* destination not on the manifest's egress list */
    CS_ERR_TIMEOUT = -3, /* the call ran out of time */
    CS_ERR_NOT_FOUND = -4,
    CS_ERR_DENIED =
        -5, /* not allowed for this pass (e.g. network from a raw consumer) */
    CS_ERR_INVALID = -6, /* bad arguments */
    CS_ERR_NOMEM = -7,
    CS_ERR_STOPPING =
        -8, /* the worker is draining; return as soon as possible */
    CS_ERR_UNAVAILABLE = -9 /* remote refused or failed after retries */
} cs_status;

typedef enum cs_pass_kind {
    CS_PASS_SOURCE = 1, /* discover(): emits entities for a run */
    CS_PASS_ENTITY = 2, /* process(): once per entity, concurrently */
    CS_PASS_BATCH = 3   /* finish(): once per run over all entities */
} cs_pass_kind;

/* Aspect declaration flags. */
#define CS_ASPECT_REQUIRED 0u
#define CS_ASPECT_OPTIONAL (1u << 0) /* consumed if some pass produces it */
#define CS_ASPECT_RAW (1u << 1)      /* holds readable cell values */

typedef struct cs_aspect_decl {
    const char *name;
    uint32_t flags;
} cs_aspect_decl; /* arrays end with {NULL, 0} */

/* Options are declared as data; the host validates the manifest's `config`
 * against them before init() and fills in defaults. */
typedef enum cs_option_type {
    CS_OPT_STRING = 1,
    CS_OPT_INT = 2,
    CS_OPT_NUMBER = 3,
    CS_OPT_BOOL = 4,
    CS_OPT_LIST = 5,  /* JSON array */
    CS_OPT_OBJECT = 6 /* JSON object */
} cs_option_type;

#define CS_OPTION_REQUIRED (1u << 0)

typedef struct cs_option_decl {
    const char *name;
    cs_option_type type;
    const char *default_json; /* JSON text, or NULL for no default */
    const char *help; /* one line, shown by `catalog-sync check --load` */
    uint32_t flags;
} cs_option_decl; /* arrays end with {NULL, 0, NULL, NULL, 0} */

/* Log levels for host->log. */
#define CS_LOG_DEBUG 10
#define CS_LOG_INFO 20
#define CS_LOG_WARN 30
#define CS_LOG_ERROR 40

/* Opaque handles owned by the host. */
typedef struct cs_ctx cs_ctx;
typedef struct cs_sql_result cs_sql_result;

/* HTTP request.  Strings are borrowed for the call.  headers is a
 * NULL-terminated array of "Name: value" lines (may be NULL). */
typedef struct cs_http_request {
    uint32_t struct_size; /* sizeof(cs_http_request) as compiled by the pass */
    const char *method;   /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;
    const char *const *headers;
    const char *body; /* may be NULL */
    size_t body_len;
    long timeout_ms; /* 0: the host default */
    int max_retries; /* -1: the host default; 0: no retry */
} cs_http_request;

/* HTTP response, filled by host->http; release with host->http_response_free.
 * body is NUL-terminated (body_len excludes the NUL). */
typedef struct cs_http_response {
    long status;
    char *body;
    size_t body_len;
    char *content_type;
    char *retry_after; /* Retry-After header value if present, else NULL */
} cs_http_response;

/* A chat completion through the host's LLM client (since ABI 1.2).
 * Strings are borrowed for the call. */
typedef struct cs_llm_request {
    uint32_t struct_size;    /* sizeof(cs_llm_request) as compiled */
    const char *endpoint;    /* a name under the manifest's `llm.endpoints`;
                                NULL: "default" */
    const char *model;       /* NULL: the endpoint's chat model */
    const char *system;      /* system message, may be NULL */
    const char *prompt;      /* the user message */
    const char *json_schema; /* JSON Schema (text) the answer must follow,
                                or NULL for free text; sent as
                                response_format where the server supports
                                it, checked by the host either way */
    double temperature;      /* always sent (servers differ in defaults) */
    double top_p;
    int max_tokens;  /* 0: the endpoint's default */
    long timeout_ms; /* 0: the endpoint's default */
} cs_llm_request;

/* The answer; release with host->llm_response_free. */
typedef struct cs_llm_response {
    char *content; /* the message text (JSON text when a schema was given) */
    char *model;   /* the model that answered, as the server says */
    char *finish_reason;
    long prompt_tokens, completion_tokens;
    int attempts; /* HTTP attempts the host made */
} cs_llm_response;

typedef struct cs_host_api cs_host_api;

/* Does the host table `h` include member `fn`?  Use before calling any
 * function added after ABI 1.0. */
#define CS_HOST_HAS(h, fn)                                                     \
    ((h) != NULL &&                                                            \
     (h)->struct_size >= offsetof(cs_host_api, fn) + sizeof((h)->fn) &&        \
     (h)->fn != NULL)

struct cs_host_api {
    uint32_t struct_size; /* sizeof(cs_host_api) in the host */
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Logging.  Any thread.  The host adds time, level, pass and entity FQN
     * and redacts registered secrets.  Never pass a raw sample value. */
    void (*log)(cs_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* The message of the last failed host call on this ctx ("" if none).
     * Borrowed; valid until the next host call on the same ctx. */
    const char *(*last_error)(cs_ctx *ctx);
    /* Sets the message the host records when a callback returns an error. */
    void (*set_error)(cs_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

    /* Configuration: this pass's validated `config` object, defaults filled
     * in.  Borrowed, valid until fini(). */
    const json_t *(*config)(cs_ctx *ctx);
    /* Marks a string as secret so that it is redacted from every log line. */
    void (*secret_register)(cs_ctx *ctx, const char *value);

    /* Entities.  entity_fqn is NULL outside process().  aspect_get returns
     * a borrowed reference or NULL when the entity has no such aspect.
     * aspect_put steals `value`; only declared outputs may be put. */
    const char *(*entity_fqn)(cs_ctx *ctx);
    json_t *(*aspect_get)(cs_ctx *ctx, const char *aspect);
    int (*aspect_put)(cs_ctx *ctx, const char *aspect, json_t *value);

    /* Sources (discover() only).  emit_entity steals `table`, which must be
     * an object shaped like an OpenMetadata Table (fullyQualifiedName,
     * name, columns[], ...).  emit_deleted reports an entity that vanished.
     * watermark_get returns this source's committed watermark (borrowed,
     * NULL on the first run); watermark_set stages a new one (stolen) that
     * the host commits only when every entity of the run is done or failed. */
    int (*emit_entity)(cs_ctx *ctx, const char *fqn, json_t *table);
    int (*emit_deleted)(cs_ctx *ctx, const char *fqn);
    json_t *(*watermark_get)(cs_ctx *ctx);
    int (*watermark_set)(cs_ctx *ctx, json_t *value);

    /* Batch passes (finish() only).  The run's entities in a stable order;
     * batch_aspect returns a new reference (or NULL) to an aspect of one of
     * them as persisted in the state store; aspects_all returns a new
     * reference to an object {fqn: value} of every entity known to the state
     * store that has this (non-raw) aspect, including earlier runs'.
     * batch_put stores an output aspect for one entity (steals `value`). */
    size_t (*batch_count)(cs_ctx *ctx);
    const char *(*batch_fqn)(cs_ctx *ctx, size_t index);
    json_t *(*batch_aspect)(cs_ctx *ctx, size_t index, const char *aspect);
    json_t *(*aspects_all)(cs_ctx *ctx, const char *aspect);
    int (*batch_put)(cs_ctx *ctx, const char *fqn, const char *aspect,
                     json_t *value);

    /* Per-pass persistent key/value state in the state store.  state_get
     * returns a new reference or NULL; state_put steals `value` and writes
     * an audit_log row.  state_put is NULL for a raw-aspect consumer. */
    json_t *(*state_get)(cs_ctx *ctx, const char *key);
    int (*state_put)(cs_ctx *ctx, const char *key, json_t *value);

    /* Metrics, labelled with the pass name by the host.  `name` is
     * [a-z0-9_]+.  Counters only go up; observations feed a histogram. */
    void (*metric_add)(cs_ctx *ctx, const char *name, double delta);
    void (*metric_observe)(cs_ctx *ctx, const char *name, double value);

    /* True once the worker is draining or stopping: long loops should
     * return CS_ERR_STOPPING soon after. */
    int (*should_stop)(cs_ctx *ctx);

    /* SQL over a connection named in the manifest's `connections`.  The
     * host opens, reuses and egress-checks the connection; params are text
     * ($1..$n).  On success *out is a result to free with sql_free.
     * NULL in the table of a pass that consumes a raw aspect. */
    int (*sql_query)(cs_ctx *ctx, const char *connection, const char *sql,
                     int nparams, const char *const *params,
                     cs_sql_result **out);
    int (*sql_nrows)(const cs_sql_result *res);
    int (*sql_ncols)(const cs_sql_result *res);
    const char *(*sql_colname)(const cs_sql_result *res, int col);
    /* Engine type name of a column, lower case ("int4", "text", "numeric",
     * "timestamptz", ...). */
    const char *(*sql_coltype)(const cs_sql_result *res, int col);
    /* Text of a cell, or NULL for SQL NULL.  Borrowed until sql_free. */
    const char *(*sql_value)(const cs_sql_result *res, int row, int col);
    void (*sql_free)(cs_sql_result *res);

    /* HTTP through the host's client: egress allow-list, connection reuse,
     * timeouts, retries with backoff on connect errors, 429 and 5xx.
     * On CS_OK *resp is filled (any HTTP status); free it with
     * http_response_free.  NULL in the table of a raw-aspect consumer. */
    int (*http)(cs_ctx *ctx, const cs_http_request *req,
                cs_http_response *resp);
    void (*http_response_free)(cs_http_response *resp);

    /* Whether producing output `aspect` for the current entity serves any
     * purpose: 1 for a persisted (non-raw) aspect or a raw one that a later
     * pass of the plan consumes, 0 when nothing would read it.  A pass may
     * skip computing an unwanted output (a raw sample nobody inspects is
     * costly to build); putting it anyway is allowed.  Check with
     * CS_HOST_HAS(host, aspect_wanted). */
    int (*aspect_wanted)(cs_ctx *ctx, const char *aspect);

    /* ---- since ABI 1.1 (check with CS_HOST_HAS) ---- */

    /* Records one write the pass made outside the state store (a catalog
     * PATCH, a suggestion, a lineage edge, a vector upsert) as an
     * audit_log row.  `target` says where ("openmetadata:table/<id>"),
     * `action` what ("patch", "suggest", "lineage.put"), `field` which part
     * ("columns.email.description"); old_value, new_value and evidence are
     * borrowed and may be NULL, like target and field.  The host adds the
     * run, the pass and the entity.  CS_OK, or CS_ERR when the row could
     * not be written (the pass should then stop writing).  NULL in the
     * table of a raw-aspect consumer.  Any thread, inside a callback. */
    int (*audit)(cs_ctx *ctx, const char *target, const char *action,
                 const char *field, const json_t *old_value,
                 const json_t *new_value, const json_t *evidence);

    /* Sources (discover() only): the entities a targeted run was started
     * for (a catalog webhook), as a borrowed JSON array of objects
     * {"id": "<catalog id>", "fqn": "<fqn or null>", "event":
     * "created"|"updated"|"deleted"}, or NULL for a full run, in which the
     * source lists what changed since its watermark.  A targeted run never
     * moves the watermark: the host ignores watermark_set there. */
    json_t *(*run_targets)(cs_ctx *ctx);

    /* ---- since ABI 1.2 (check with CS_HOST_HAS) ---- */

    /* LLM chat completion and embeddings over the OpenAI-compatible API of
     * an endpoint named in the manifest's `llm.endpoints`, through the
     * egress allow-list, with the endpoint's concurrency limit, rate
     * limit, retries (429/503, Retry-After honoured) and circuit breaker.
     * llm_chat: CS_OK with *resp filled (free with llm_response_free);
     * CS_ERR_UNAVAILABLE when the endpoint is down or its circuit is open
     * (last_error says which), CS_ERR_TIMEOUT, CS_ERR_INVALID when the
     * answer does not follow json_schema after the host's retries.
     * llm_embed: n texts in, *out = a malloc'd array of n x *dim floats
     * (free with llm_vectors_free); model NULL = the endpoint's embedding
     * model, dimensions 0 = its configured dimension.  NULL in the table
     * of a raw-aspect consumer.  Any pool thread. */
    int (*llm_chat)(cs_ctx *ctx, const cs_llm_request *req,
                    cs_llm_response *resp);
    void (*llm_response_free)(cs_llm_response *resp);
    int (*llm_embed)(cs_ctx *ctx, const char *endpoint, const char *model,
                     const char *const *texts, size_t n, int dimensions,
                     float **out, int *dim);
    void (*llm_vectors_free)(float *vectors);
};

/* The descriptor a pass returns from cs_pass_entry().  Static storage. */
typedef struct cs_pass_desc {
    uint32_t abi_major;   /* CS_ABI_MAJOR the pass was built with */
    uint32_t abi_minor;   /* CS_ABI_MINOR the pass was built with */
    uint32_t struct_size; /* sizeof(cs_pass_desc) the pass was built with */

    const char *name; /* default pass name, [a-z0-9_]+ */
    const char *version;
    const char *summary; /* one line */
    cs_pass_kind kind;
    const cs_aspect_decl *consumes; /* may be NULL (source passes) */
    const cs_aspect_decl *produces;
    const cs_option_decl *options; /* may be NULL */

    /* Creates the instance state (*state, owned by the pass).  The pass's
     * validated config is host->config(ctx).  Return CS_OK, or an error
     * after host->set_error(); after a failed init() the host does not call
     * fini(), so init() releases what it took. */
    int (*init)(const cs_host_api *host, cs_ctx *ctx, void **state);
    /* Source passes. */
    int (*discover)(void *state, cs_ctx *ctx);
    /* Entity passes. */
    int (*process)(void *state, cs_ctx *ctx);
    /* Batch passes. */
    int (*finish)(void *state, cs_ctx *ctx);
    /* Destroys the instance state, once, after a successful init(). */
    void (*fini)(void *state);
} cs_pass_desc;

/* Helper for pass authors: fills the three header fields. */
#define CS_PASS_HEADER CS_ABI_MAJOR, CS_ABI_MINOR, sizeof(cs_pass_desc)

/* The one symbol a pass exports. */
#define CS_PASS_ENTRY_SYMBOL "cs_pass_entry"
typedef const cs_pass_desc *(*cs_pass_entry_fn)(void);

#if defined(__GNUC__)
#define CS_PASS_EXPORT __attribute__((visibility("default")))
#else
#define CS_PASS_EXPORT
#endif

#ifdef __cplusplus
}
#endif
#endif /* CATALOG_SYNC_PASS_H */
