/*
 * Internals of the push_milvus pass, shared by its source files.
 *
 *   push_milvus.c  declarations, options, init/fini, process();
 *   text.c         the records of a table: ids, fields and the text that
 *                  is embedded, from `table`, `description`, `pii`, `fk`;
 *   milvus.c       requests to Milvus REST v2: the envelope, the
 *                  collection check/create cache, upsert and delete;
 *   push.c         one entity: what changed, embeddings, upserts, the
 *                  pass state, the `embedding` aspect;
 *   util.c         strings, hashes, UTF-8 safe truncation.
 *
 * process() runs concurrently: the instance state (struct pm_state) is
 * read-only after init() except the collection cache, behind `lock`.
 * Everything of one entity lives in a struct pm_job on the stack of its
 * process() call.  Every function below runs on the pool thread of that
 * call, borrows its arguments unless it says otherwise, and on failure has
 * written the entity's message into job->err (CS_ERR_NOMEM included).
 */
#ifndef PUSH_MILVUS_H
#define PUSH_MILVUS_H

#include <catalog_sync/pass.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field sizes of the collection schema (VarChar max_length, bytes). */
#define PM_ID_MAX 512
#define PM_FQN_MAX 4096
#define PM_NAME_MAX 1024
#define PM_TYPE_MAX 256
#define PM_KIND_MAX 16
#define PM_PII_MAX 1024
#define PM_FK_MAX 4096
#define PM_TEXT_MAX 65535

/* Validated options (declarations in push_milvus.c). */
struct pm_opts {
    char *api;           /* "<url>/v2/vectordb", owned */
    char *auth_header;   /* "Authorization: Bearer <token>", owned, or NULL */
    const char *db_name; /* NULL: Milvus's default database */
    const char *collection;        /* tables (and columns by default) */
    const char *column_collection; /* columns */
    const char *endpoint;          /* LLM endpoint name */
    const char *model;             /* NULL: the endpoint's model */
    const char *metric;            /* COSINE, IP or L2 */
    int dimensions;                /* 0: the endpoint's */
    long embed_batch, upsert_batch, max_text_bytes;
    long timeout_ms;
    int max_retries;
    bool delete_stale;
};

struct pm_state {
    const cs_host_api *h;
    struct pm_opts o;
    pthread_mutex_t lock; /* guards `ready` */
    json_t *ready;        /* {collection: dim}: checked or created */
};

/* One Milvus record (a table or a column), built by text.c. */
struct pm_record {
    json_t *row;            /* every field but the vector, owned */
    const char *id, *text;  /* borrowed from row */
    const char *collection; /* borrowed from the options */
    char hash[17];          /* of what is sent (hex FNV-1a 64) */
    bool send;              /* changed since the last push */
    bool done;              /* upserted by this call */
};

/* One entity's work, on the stack of process(). */
struct pm_job {
    struct pm_state *s;
    const cs_host_api *h;
    cs_ctx *ctx;
    const char *fqn; /* borrowed from the host */
    struct pm_record *rec;
    size_t n, cap;
    json_t *prev; /* the pass state of the table, owned, may be NULL */
    int dim;      /* of the vectors, 0 until known */
    size_t embedded, upserted, unchanged, deleted;
    char err[1024];
};

/* ---- util.c ---------------------------------------------------------- */

/* malloc'd printf, NULL when out of memory. */
char *pm_fmt(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Records the entity's error message; returns rc. */
int pm_fail(struct pm_job *j, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* FNV-1a 64 over n bytes, continuing from h (start: PM_FNV_SEED). */
#define PM_FNV_SEED 0xcbf29ce484222325ULL
uint64_t pm_fnv(uint64_t h, const void *data, size_t n);
/* Length of the longest prefix of s (strlen n) that is at most max bytes
 * and does not cut a UTF-8 sequence. */
size_t pm_utf8_cut(const char *s, size_t n, size_t max);
/* A new JSON string of at most max bytes of s (cut as above). */
json_t *pm_string_max(const char *s, size_t max);

/* A growable text; `oom` sticks once an append failed. */
struct pm_buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void pm_buf_add(struct pm_buf *b, const char *s);
void pm_buf_addf(struct pm_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void pm_buf_free(struct pm_buf *b);

/* ---- text.c ---------------------------------------------------------- */

/* Builds j->rec: one record for the table, one per column, from the
 * borrowed aspects (description, pii and fk may be NULL).  CS_OK or an
 * error (NOMEM, or INVALID for a table aspect without columns list). */
int pm_build_records(struct pm_job *j, const json_t *table,
                     const json_t *description, const json_t *pii,
                     const json_t *fk);
/* The record id of a FQN: the FQN itself, or when longer than
 * PM_ID_MAX bytes its first bytes, "#" and its hex FNV-1a 64.  malloc'd. */
char *pm_record_id(const char *fqn);
void pm_records_free(struct pm_job *j);

/* ---- milvus.c -------------------------------------------------------- */

/* POST <api>/<action> with body; on CS_OK *data is a new reference to the
 * envelope's `data` (json null when absent).  Any other answer than HTTP
 * 200 with code 0 (or 200) is an error naming the action, the collection
 * and Milvus's code and message.  *code (may be NULL) gets Milvus's code,
 * or -1 when there was none. */
int pm_call(struct pm_job *j, const char *action, const char *collection,
            const json_t *body, json_t **data, long *code);
/* Makes sure `collection` exists with a vector field of j->dim, creating
 * it (schema, AUTOINDEX, audit row) when it is missing; cached per
 * worker. */
int pm_ensure_collection(struct pm_job *j, const char *collection);
/* Forgets a cached collection (Milvus said it does not exist). */
void pm_forget_collection(struct pm_state *s, const char *collection);
/* The body of collections/create for `collection` with vectors of dim. */
json_t *pm_create_body(const struct pm_opts *o, const char *collection,
                       int dim);

/* ---- push.c ---------------------------------------------------------- */

/* Embeds and upserts the records marked `send`, deletes stale ones, writes
 * the pass state and puts the `embedding` aspect. */
int pm_push(struct pm_job *j);

#endif
