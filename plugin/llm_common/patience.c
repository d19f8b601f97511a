/* Waiting out an unavailable LLM endpoint (see llm_common.h). */
#include "llm_common.h"

#include <string.h>
#include <time.h>

#define NAP_MS 100
#define STEP_MS 1000

int llm_patience_init(struct llm_patience *p, long wait_ms)
{
    p->down = false;
    p->wait_ms = wait_ms > 0 ? wait_ms : 0;
    return pthread_mutex_init(&p->lock, NULL) == 0 ? 0 : -1;
}

void llm_patience_destroy(struct llm_patience *p)
{
    pthread_mutex_destroy(&p->lock);
}

bool llm_outage(int rc)
{
    return rc == CS_ERR_UNAVAILABLE || rc == CS_ERR_TIMEOUT;
}

static bool is_down(struct llm_patience *p)
{
    pthread_mutex_lock(&p->lock);
    bool d = p->down;
    pthread_mutex_unlock(&p->lock);
    return d;
}

static void set_down(struct llm_patience *p, bool down)
{
    pthread_mutex_lock(&p->lock);
    p->down = down;
    pthread_mutex_unlock(&p->lock);
}

/* Sleeps ms unless the worker stops first (false then). */
static bool nap(const cs_host_api *h, cs_ctx *ctx, long ms)
{
    for (long slept = 0; slept < ms; slept += NAP_MS) {
        if (h->should_stop(ctx))
            return false;
        struct timespec ts = {0, NAP_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !h->should_stop(ctx);
}

int llm_chat_patiently(const cs_host_api *h, cs_ctx *ctx,
                       struct llm_patience *p, const cs_llm_request *req,
                       cs_llm_response *resp)
{
    long waited = 0;
    for (;;) {
        memset(resp, 0, sizeof *resp);
        int rc = h->llm_chat(ctx, req, resp);
        if (rc == CS_OK)
            set_down(p, false);
        if (!llm_outage(rc) || p->wait_ms == 0 || is_down(p))
            return rc;
        if (waited >= p->wait_ms) {
            set_down(p, true);
            return rc;
        }
        long step =
            p->wait_ms - waited < STEP_MS ? p->wait_ms - waited : STEP_MS;
        if (!nap(h, ctx, step))
            return CS_ERR_STOPPING;
        waited += step;
    }
}
