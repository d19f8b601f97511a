/*
 * The host's LLM client: chat completions and embeddings over the
 * OpenAI-compatible API (POST <url>/v1/chat/completions, /v1/embeddings)
 * of the endpoints under the manifest's `llm.endpoints`.
 *
 * One llm_client per worker process, shared by its pool threads.  Each
 * endpoint has a counting semaphore (`concurrency`), a token bucket
 * (`rate_per_second`, `burst`; every HTTP attempt takes a token) and a
 * circuit breaker (`circuit`), each behind the endpoint's mutex.  The HTTP
 * itself goes through the calling thread's http_client, so the egress
 * list and kept-alive connections apply; the attempts (retries on
 * connect errors, timeouts, 429, 5xx and unreadable answers, Retry-After
 * honoured) are run here so that each one is rate-limited, counted and
 * interruptible when the worker stops.
 *
 * Prompts and answers are logged at debug level only, through the log's
 * redaction; errors never quote them.
 */
#ifndef HOST_LLM_H
#define HOST_LLM_H

#include <catalog_sync/pass.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

struct llm_client;
struct http_client;
struct metrics;

/* Who is calling, for the HTTP connection and for log lines. */
struct llm_caller {
    struct http_client *http; /* the calling thread's client */
    const char *pass;         /* may be NULL */
    const char *fqn;          /* may be NULL */
};

/* The client for the manifest's endpoints (none is fine: every call then
 * fails with CS_ERR_NOT_FOUND).  m, metrics and stopping are borrowed for
 * the client's lifetime.  NULL when out of memory.  Main thread, before
 * the pool starts. */
struct llm_client *llm_client_new(const struct manifest *m,
                                  struct metrics *metrics,
                                  const atomic_bool *stopping);
/* After every pool thread has stopped; NULL is allowed. */
void llm_client_free(struct llm_client *c);

/* The ABI's llm_chat (see pass.h).  Any pool thread.  Returns CS_OK with
 * resp filled (free with llm_response_clear), or an error with err set:
 * CS_ERR_NOT_FOUND (unknown endpoint), CS_ERR_INVALID (bad request, no
 * chat model, or an answer that does not follow json_schema after one
 * stricter retry), CS_ERR_UNAVAILABLE (down, retries spent, circuit
 * open), CS_ERR_TIMEOUT, CS_ERR_STOPPING, CS_ERR_EGRESS, CS_ERR_NOMEM,
 * CS_ERR (any other HTTP error). */
int llm_chat(struct llm_client *c, const struct llm_caller *who,
             const cs_llm_request *req, cs_llm_response *resp, char *err,
             size_t errlen);
/* Frees what llm_chat put in resp and zeroes it; safe to call twice. */
void llm_response_clear(cs_llm_response *resp);

/* The ABI's llm_embed: n texts, sent in batches; on CS_OK *out is a
 * malloc'd n x *dim array (free with llm_vectors_free; NULL when n is 0).
 * Errors as llm_chat; CS_ERR_INVALID also when the server's vectors do not
 * match the count or the dimension. */
int llm_embed(struct llm_client *c, const struct llm_caller *who,
              const char *endpoint, const char *model, const char *const *texts,
              size_t n, int dimensions, float **out, int *dim, char *err,
              size_t errlen);
void llm_vectors_free(float *vectors);

/* ---- the pieces, exposed for unit tests ------------------------------- */

/* Token bucket.  Not locked: the caller holds the endpoint's mutex.  Times
 * are seconds on any monotonic clock, so tests pass their own. */
struct llm_bucket {
    double rate;  /* tokens per second; <= 0: unlimited */
    double burst; /* capacity */
    double tokens;
    double last;
};
void llm_bucket_init(struct llm_bucket *b, double rate, double burst,
                     double now);
/* Takes one token, going into debt when none is left, and returns how
 * many seconds the caller must wait before using it (0: at once).  Debt
 * makes waiters queue in order at exactly `rate`. */
double llm_bucket_reserve(struct llm_bucket *b, double now);

/* Circuit breaker.  Not locked: the caller holds the endpoint's mutex. */
enum llm_circuit_state {
    LLM_CIRCUIT_CLOSED = 0,
    LLM_CIRCUIT_OPEN,
    LLM_CIRCUIT_HALF_OPEN
};
enum llm_admit { LLM_DENY = 0, LLM_ALLOW, LLM_PROBE };
enum llm_outcome {
    LLM_OUTCOME_NONE = 0, /* says nothing about the endpoint (stopping) */
    LLM_OUTCOME_OK,       /* the endpoint answered */
    LLM_OUTCOME_FAIL      /* down, overloaded past retries, or garbage */
};
struct llm_circuit {
    int threshold;   /* consecutive failed calls that open it; 0: never */
    double cooldown; /* seconds */
    enum llm_circuit_state state;
    int failures;
    double open_until;
    bool probing; /* a half-open probe call is in flight */
    char reason[512];
};
void llm_circuit_init(struct llm_circuit *c, int threshold, double cooldown);
/* Whether a call may go out: ALLOW when closed; PROBE for the one call let
 * through once the cooldown is over (the circuit is then half-open);
 * DENY while open or while a probe is in flight. */
enum llm_admit llm_circuit_admit(struct llm_circuit *c, double now);
/* The end of an admitted call; `probe` says whether admit returned PROBE
 * for it, `reason` (for FAIL) is kept for the fail-fast message. */
void llm_circuit_record(struct llm_circuit *c, enum llm_outcome outcome,
                        bool probe, const char *reason, double now);

/* Structural check of `value` against a JSON Schema subset: type (string
 * or list; object, array, string, integer, number, boolean, null),
 * required, properties, additionalProperties: false, items, minItems,
 * maxItems, minLength, maxLength, enum.  Unknown keywords are ignored.
 * 0, or -1 with err naming the JSON path ("$.columns[2].description:
 * longer than 200 characters"); err never quotes a value. */
int llm_schema_check(const json_t *schema, const json_t *value, char *err,
                     size_t errlen);

/* The JSON object in a model's answer: the whole text when it parses,
 * else the inside of a ```json (or ```) fence, else the first balanced
 * {...} object.  New reference or NULL; *wrapped (may be NULL) is set
 * when prose or a fence had to be removed. */
json_t *llm_extract_json(const char *content, bool *wrapped);

#endif
