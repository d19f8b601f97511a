/*
 * Internals of the describe_llm pass, shared by its source files.
 *
 *   describe_llm.c  declarations, options, init/fini, process();
 *   prompt.c        what is asked: the columns to describe (never one a
 *                   person described), the context (schema, profile
 *                   summary, masked rows, FK edges, upstream tables), the
 *                   prompt text and the answer's JSON Schema;
 *   answer.c        the checks on an answer (JSON, word limit, echoed
 *                   placeholders, a name merely restated, confidence);
 *   call.c          one chunk: the call (waiting out a down endpoint),
 *                   the fallback model, the attempts record.
 *
 * process() runs concurrently on pool threads; the instance state is
 * read-only after init() except `patience`, which locks itself.  Everything of
 * one entity lives in a struct dl_job on the stack of its process() call.
 */
#ifndef DESCRIBE_LLM_H
#define DESCRIBE_LLM_H

#include <catalog_sync/pass.h>

#include "llm_common.h"
#include <stdbool.h>
#include <stddef.h>

#define DL_MAX_WORDS 20
#define DL_MAX_ROWS 5
#define DL_CELL_CHARS 60 /* a masked cell is cut to this many bytes */

/* Validated options (declarations in describe_llm.c). */
struct dl_opts {
    const char *endpoint;
    const char *model;    /* NULL: the endpoint's chat_model */
    const char *fallback; /* NULL: no second attempt */
    const char *language;
    double temperature, top_p;
    long max_words, sample_rows, max_columns, max_tokens, timeout_ms;
    long unavailable_wait_ms;
    bool describe_table, describe_columns;
};

struct dl_state {
    const cs_host_api *h;
    struct dl_opts o;
    struct llm_patience patience; /* waiting out a down endpoint */
};

/* What one entity is asked and what came back. */
struct dl_job {
    struct dl_state *s;
    const cs_host_api *h;
    cs_ctx *ctx;
    const char *fqn;
    const json_t *table, *profile, *masked, *pii, *fk, *lineage;
    bool ask_table;       /* the table has no description of a person's */
    json_t *ask;          /* [column name] to describe, in table order */
    json_t *kept;         /* ["table"?, column...] a person described */
    json_t *out_columns;  /* {name: {"description"}} accepted */
    json_t *rejected;     /* {name | "table": reason} in every attempt */
    json_t *attempts;     /* [{chunk, model, outcome, ...}] */
    char *table_text;     /* accepted table description, owned */
    char used_model[128]; /* the model whose text was kept */
    char prompt_hash[65];
    void *hash_ctx; /* struct sha256_ctx over every prompt sent */
    char err[1024];
};

/* A candidate answer for one chunk, after the checks. */
struct dl_verdict {
    json_t *columns; /* {name: text} that passed */
    json_t *bad;     /* {name | "table": reason} that did not */
    char *table;     /* passing table text, owned, or NULL */
    bool low;        /* the model said its confidence is low */
};

/* prompt.c: fills j->ask, j->kept, j->ask_table from the table aspect.
 * CS_OK or CS_ERR_NOMEM (j->err set). */
int dl_choose(struct dl_job *j);
/* The prompt for columns ask[first .. first+n) (and the table when
 * with_table), malloc'd; NULL when out of memory. */
char *dl_prompt(const struct dl_job *j, size_t first, size_t n,
                bool with_table);
/* The system message and the answer's JSON Schema (static text). */
const char *dl_system(void);
const char *dl_schema(void);

/* answer.c: checks `content` for the columns ask[first .. first+n).
 * Fills v (release with dl_verdict_clear); false when the content is not
 * the JSON object the schema asks for (v->bad then says why under "*"). */
bool dl_check(const struct dl_job *j, const char *content, size_t first,
              size_t n, bool with_table, struct dl_verdict *v);
void dl_verdict_clear(struct dl_verdict *v);
/* Word count (runs of non-space bytes). */
size_t dl_words(const char *s);
/* Why `text` is not acceptable as the description of `name` (a column,
 * or the table when column is false), or NULL when it is. */
const char *dl_reject_reason(const char *text, const char *name,
                             const char *table_name, long max_words, char *buf,
                             size_t buflen);

/* call.c: asks for one chunk (with the fallback model when the first
 * answer is not good enough) and merges what passed into the job.
 * CS_OK (even when some descriptions were rejected), or the error of
 * an endpoint that is unavailable, timed out or refused (j->err set). */
int dl_describe_chunk(struct dl_job *j, size_t first, size_t n,
                      bool with_table);

/* describe_llm.c: formats into j->err and returns rc. */
int dl_fail(struct dl_job *j, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
