/*
 * Waiting out an unavailable LLM endpoint, for passes that call the
 * host's llm_chat.
 *
 * The host's circuit breaker fails calls at once while an endpoint is
 * down.  Rather than fail every entity in that moment, a call that finds
 * the endpoint unavailable (or timing out) waits, in short naps that
 * watch should_stop, up to `wait_ms`, and tries again: a flapping
 * endpoint costs time, not entities.  When one entity has waited the
 * whole budget in vain the endpoint is marked down for the pass: the
 * next entities try once and give up at once, until a call succeeds.
 */
#ifndef LLM_COMMON_H
#define LLM_COMMON_H

#include <catalog_sync/pass.h>
#include <pthread.h>
#include <stdbool.h>

struct llm_patience {
    pthread_mutex_t lock;
    bool down;    /* waited in vain, no success since; behind lock */
    long wait_ms; /* budget per call; 0: never wait */
};

/* init(): 0, or -1 when the mutex cannot be made.  destroy() after the
 * last call (fini). */
int llm_patience_init(struct llm_patience *p, long wait_ms);
void llm_patience_destroy(struct llm_patience *p);

/* host->llm_chat with the waiting above.  Any pool thread; resp as for
 * llm_chat (zeroed first).  Returns llm_chat's status, or
 * CS_ERR_STOPPING when the worker began to stop while waiting. */
int llm_chat_patiently(const cs_host_api *h, cs_ctx *ctx,
                       struct llm_patience *p, const cs_llm_request *req,
                       cs_llm_response *resp);

/* Whether a status is an outage (unavailable, timed out) rather than an
 * answer or a refusal. */
bool llm_outage(int rc);

#endif
