/*
 * A fake host for pass unit tests: a cs_host_api whose functions record
 * what a pass does (emitted entities, deletions, watermarks, aspect puts,
 * log lines, metrics, SQL sent) and whose sql_query answers from canned
 * results.  Load a built pass with fake_host_load_pass(), give it a config
 * (defaults filled from the pass's option declarations, as the real host
 * does) and call its callbacks with fake_host_ctx().
 *
 * Single-threaded; everything returned is borrowed from the fake host
 * unless the comment says otherwise.
 */
#ifndef TESTS_FAKE_HOST_H
#define TESTS_FAKE_HOST_H

#include <catalog_sync/pass.h>

typedef struct fake_host fake_host;

/* dlopen()s $CS_PASS_DIR/<name>.so and returns its descriptor (NULL with a
 * message on stderr when it cannot). The library stays loaded. */
const cs_pass_desc *fake_host_load_pass(const char *name);

/* A fake host configured for `desc`: `config` (JSON text, may be NULL) is
 * completed with the declared defaults.  NULL if the config is invalid
 * JSON or a required option is missing. */
fake_host *fake_host_new(const cs_pass_desc *desc, const char *config);
void fake_host_free(fake_host *fh);

const cs_host_api *fake_host_api(fake_host *fh);
cs_ctx *fake_host_ctx(fake_host *fh);

/* Canned SQL: the first registered needle found in a query's text answers
 * it.  `result` is JSON text {"columns": [[name, type], ...], "rows":
 * [[cell|null, ...], ...]} or {"error": "message"} (sql_query returns
 * CS_ERR) or {"error": "message", "status": -3} (that status, here
 * CS_ERR_TIMEOUT). Returns 0 or -1. */
int fake_host_add_sql(fake_host *fh, const char *needle, const char *result);
/* Removes every canned SQL result. */
void fake_host_clear_sql(fake_host *fh);
/* Makes aspect_wanted() answer 0 for `aspect`, as for a raw output no
 * later pass reads. */
void fake_host_set_unwanted(fake_host *fh, const char *aspect);
/* Hides the network functions (sql_query, http), as for a raw consumer. */
void fake_host_drop_network(fake_host *fh);

/* The entity a process() call sees: its FQN and its aspects (an object
 * {aspect: value}, JSON text).  Clears the recorded puts. */
int fake_host_set_entity(fake_host *fh, const char *fqn, const char *aspects);
/* What a batch pass's finish() sees: `store` (JSON text {fqn: {aspect:
 * value}}) backs batch_aspect and aspects_all (every entity of the store,
 * as the state store holds earlier runs too); `run` (JSON text [fqn, ...])
 * is the run's entities for batch_count/batch_fqn.  NULL: empty.  Clears
 * the recorded batch puts.  0, or -1 on bad JSON. */
int fake_host_set_batch(fake_host *fh, const char *store, const char *run);
/* Same with built values (both stolen, even on failure). */
int fake_host_set_batch_json(fake_host *fh, json_t *store, json_t *run);
/* The committed watermark watermark_get returns (JSON text or NULL). */
int fake_host_set_watermark(fake_host *fh, const char *watermark);

/* Canned HTTP: the first unused answer whose method matches and whose
 * `needle` occurs in the URL answers one request, then is spent; a request
 * with no answer gets CS_ERR_UNAVAILABLE.  Register pages in order. */
int fake_host_add_http(fake_host *fh, const char *method, const char *needle,
                       long status, const char *body);
/* Canned embeddings (llm_embed): a vector per text that depends only on
 * the text, of the requested dimensions or else `dim` floats (default 4);
 * dim 0 makes every call fail with CS_ERR_UNAVAILABLE.  Calls are
 * recorded in fake_host_embeds(): [{endpoint, model, texts, dimensions}]. */
void fake_host_set_embed_dim(fake_host *fh, int dim);
json_t *fake_host_embeds(fake_host *fh);
/* Canned chat answers (llm_chat), spent one per call in the order added:
 * status CS_OK answers `content` as model `model` (NULL: the requested
 * model, else "fake-model"); any other status fails the call with it.
 * With none left a call fails with CS_ERR_UNAVAILABLE.  Calls are
 * recorded in fake_host_chats(): [{endpoint, model, system, prompt,
 * json_schema, temperature, top_p, max_tokens}]. */
int fake_host_add_chat(fake_host *fh, int status, const char *content,
                       const char *model);
json_t *fake_host_chats(fake_host *fh);
/* What run_targets() answers (JSON array text, or NULL for a full run). */
int fake_host_set_targets(fake_host *fh, const char *targets);

/* Recordings. */
json_t *fake_host_emitted(fake_host *fh);    /* {fqn: table} */
json_t *fake_host_deleted(fake_host *fh);    /* [fqn, ...] */
json_t *fake_host_watermark(fake_host *fh);  /* last staged, or NULL */
json_t *fake_host_puts(fake_host *fh);       /* {aspect: value} */
json_t *fake_host_batch_puts(fake_host *fh); /* {fqn: {aspect: value}} */
json_t *fake_host_sql_log(fake_host *fh);    /* [{sql, params}] */
const char *fake_host_logs(fake_host *fh);   /* every log line, "\n"-joined */
const char *fake_host_error(fake_host *fh);  /* last set_error message */
json_t *fake_host_http_log(fake_host *fh); /* [{method, url, headers, body}] */
json_t *fake_host_audits(fake_host *fh);   /* [{target, action, field, ...}] */
json_t *fake_host_state(fake_host *fh);    /* {key: value} of state_put */
double fake_host_metric(fake_host *fh, const char *name);
/* Clears emitted, deleted, puts, batch puts, SQL log and logs; keeps the
 * watermark staged by the last run as the new committed one when `commit`. */
void fake_host_next_run(fake_host *fh, int commit);

#endif
