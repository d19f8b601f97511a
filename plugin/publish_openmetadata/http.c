/*
 * Requests to OpenMetadata.  Every call goes through host->http (egress
 * list, connection reuse, the host's own retries of 429/502/503/504 with
 * Retry-After).  On top of that the pass retries any 429/5xx the host hands
 * back (a 500 burst included) while the entity's retry budget lasts, and
 * closes a gate after a 401/403 so that the other entities of the run fail
 * at once with the same message instead of hammering the server.
 */
#include "publish.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BACKOFF_MS 8000
#define RETRY 100 /* attempt(): once more (apart from the PUB_* codes) */

void om_resp_clear(struct om_resp *r)
{
    json_decref(r->json);
    r->json = NULL;
    r->status = 0;
}

const char *om_message(const struct om_resp *r)
{
    const char *m = json_string_value(json_object_get(r->json, "message"));
    return m ? m : "";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int om_gate(struct pub_job *j)
{
    struct pub_state *s = j->s;
    char msg[sizeof s->auth_msg] = "";
    pthread_mutex_lock(&s->lock);
    if (s->auth_failed_at && now_ms() - s->auth_failed_at < s->o.auth_hold_ms)
        memcpy(msg, s->auth_msg, sizeof msg);
    else
        s->auth_failed_at = 0; /* held long enough: try the server again */
    pthread_mutex_unlock(&s->lock);
    return msg[0] ? pub_fail(j, CS_ERR_DENIED, "%s", msg) : CS_OK;
}

/* The token is never part of the message: only the URL and the status. */
static int gate_trip(struct pub_job *j, const char *method, const char *url,
                     const struct om_resp *r)
{
    struct pub_state *s = j->s;
    char msg[sizeof s->auth_msg];
    pthread_mutex_lock(&s->lock);
    snprintf(s->auth_msg, sizeof s->auth_msg,
             "OpenMetadata refused the bot token: %s %s returned %ld%s%s; "
             "the token (config.token, token_file or the token_env "
             "variable) is invalid or its bot lacks the rights for this "
             "call; no request is sent for %ld s",
             method, url, r->status, *om_message(r) ? ": " : "", om_message(r),
             s->o.auth_hold_ms / 1000);
    s->auth_failed_at = now_ms();
    memcpy(msg, s->auth_msg, sizeof msg);
    pthread_mutex_unlock(&s->lock);
    return pub_fail(j, CS_ERR_DENIED, "%s", msg);
}

static bool retryable(long status)
{
    return status == 429 || status >= 500;
}

/* Retry-After in seconds when the server gave one, else the backoff. */
static long retry_wait(const cs_http_response *resp, long backoff)
{
    char *end;
    if (resp->retry_after) {
        long secs = strtol(resp->retry_after, &end, 10);
        if (end != resp->retry_after && *end == '\0' && secs >= 0)
            return secs * 1000;
    }
    return backoff;
}

struct call {
    const char *method, *url;
    cs_http_request req;
    const char *headers[4];
    char ctype_header[96];
    char *text; /* the body as sent, owned */
};

static int call_prepare(struct pub_job *j, struct call *c, const char *ctype,
                        const json_t *body)
{
    if (body && !(c->text = json_dumps(body, JSON_COMPACT)))
        return pub_fail(j, CS_ERR_NOMEM, "out of memory for %s %s", c->method,
                        c->url);
    size_t n = 0;
    c->headers[n++] = j->s->o.auth_header;
    c->headers[n++] = "Accept: application/json";
    if (ctype) {
        snprintf(c->ctype_header, sizeof c->ctype_header, "Content-Type: %s",
                 ctype);
        c->headers[n++] = c->ctype_header;
    }
    c->headers[n] = NULL;
    c->req = (cs_http_request){
        .struct_size = sizeof c->req,
        .method = c->method,
        .url = c->url,
        .headers = c->headers,
        .body = c->text,
        .body_len = c->text ? strlen(c->text) : 0,
        .timeout_ms = j->s->o.timeout_ms,
        .max_retries = j->s->o.max_retries,
    };
    return CS_OK;
}

/* One attempt: CS_OK with out filled, RETRY, or an error. */
static int attempt(struct pub_job *j, struct call *c, long *backoff,
                   struct om_resp *out)
{
    const cs_host_api *h = j->h;
    cs_http_response resp = {0};
    int rc = h->http(j->ctx, &c->req, &resp);
    if (rc != CS_OK)
        return pub_fail(j, rc, "%s %s: %s", c->method, c->url,
                        h->last_error(j->ctx));
    out->status = resp.status;
    out->json =
        resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    long wait = retry_wait(&resp, *backoff);
    h->http_response_free(&resp);
    if (!retryable(out->status))
        return out->status == 401 || out->status == 403
                   ? gate_trip(j, c->method, c->url, out)
                   : CS_OK;
    if (wait > j->budget_ms)
        return pub_fail(j, CS_ERR_UNAVAILABLE,
                        "%s %s returned %ld%s%s; retry budget spent "
                        "(retry_budget_ms %ld)",
                        c->method, c->url, out->status,
                        *om_message(out) ? ": " : "", om_message(out),
                        j->s->o.retry_budget_ms);
    h->log(j->ctx, CS_LOG_WARN,
           "%s %s returned %ld; retrying in %ld ms (%ld ms of the retry "
           "budget left)",
           c->method, c->url, out->status, wait, j->budget_ms - wait);
    j->budget_ms -= wait;
    om_resp_clear(out);
    sleep_ms(wait);
    *backoff = *backoff * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : *backoff * 2;
    return RETRY;
}

int om_call(struct pub_job *j, const char *method, const char *url,
            const char *ctype, const json_t *body, struct om_resp *out)
{
    memset(out, 0, sizeof *out);
    int rc = om_gate(j);
    if (rc != CS_OK)
        return rc;
    struct call c = {.method = method, .url = url};
    rc = call_prepare(j, &c, ctype, body);
    long backoff = j->s->o.backoff_ms;
    if (rc == CS_OK)
        do
            rc = attempt(j, &c, &backoff, out);
        while (rc == RETRY);
    free(c.text);
    if (rc != CS_OK)
        om_resp_clear(out);
    return rc;
}
