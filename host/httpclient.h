/*
 * The host's HTTP client (libcurl) used for every network call of a pass.
 * One http_client per pool thread (curl easy handles are not shared across
 * threads) keeps connections alive between calls.  Redirects are not
 * followed and environment proxies are ignored, so the egress check on the
 * URL is the whole story.
 */
#ifndef HOST_HTTPCLIENT_H
#define HOST_HTTPCLIENT_H

#include <catalog_sync/pass.h>
#include <stddef.h>

#include "manifest.h"

struct http_client;

struct http_client_options {
    long default_timeout_ms;   /* default 30000 */
    long connect_timeout_ms;   /* default 5000 */
    int default_max_retries;   /* default 3 */
    long backoff_initial_ms;   /* default 200, doubled each retry, jittered */
    long backoff_max_ms;       /* default 10000 */
    size_t max_response_bytes; /* default 64 MiB */
};

/* curl_global_init once per process, before threads. */
int http_global_init(void);
void http_global_cleanup(void);

/* rules are borrowed for the client's lifetime. */
struct http_client *http_client_new(const struct mf_egress_rule *rules,
                                    size_t n_rules,
                                    const struct http_client_options *opts);
void http_client_free(struct http_client *c);

/* Performs the request with egress check and retries (connect errors,
 * timeouts, 429, 502, 503, 504; Retry-After honoured up to backoff_max).
 * Returns CS_OK with resp filled (caller frees with http_response_clear),
 * CS_ERR_EGRESS when the URL's host:port is not allowed (no connection is
 * attempted), CS_ERR_TIMEOUT, CS_ERR_UNAVAILABLE or CS_ERR with err set.
 * *retries_out (may be NULL) receives the retries done. */
int http_client_request(struct http_client *c, const cs_http_request *req,
                        cs_http_response *resp, int *retries_out, char *err,
                        size_t errlen);
void http_response_clear(cs_http_response *resp);

/* For callers that run their own attempts with max_retries 0 (the LLM
 * client, which rate-limits and counts each attempt): the wait before
 * retry number `retry` (0-based), the answer's Retry-After when it has one
 * (seconds or HTTP-date), else the client's jittered exponential backoff;
 * at most backoff_max_ms.  The thread that owns the client. */
long http_client_retry_delay_ms(struct http_client *c, int retry,
                                const char *retry_after);

#endif
