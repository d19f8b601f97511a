/*
 * One chunk of a table: the call (waiting out a down endpoint, see
 * llm_common.h), the fallback model on a weak answer, and the record of
 * every attempt.
 */
#include "describe_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_common.h"
#include "sha256.h"

/* max_tokens 0 asks for room for about 40 tokens a description. */
static int chat(struct dl_job *j, const char *model, const char *prompt,
                size_t n, cs_llm_response *r)
{
    const struct dl_opts *o = &j->s->o;
    long max_tokens = o->max_tokens ? o->max_tokens : 100 + 40 * (long)n;
    cs_llm_request req = {.struct_size = sizeof req,
                          .endpoint = o->endpoint,
                          .model = model,
                          .system = dl_system(),
                          .prompt = prompt,
                          .json_schema = dl_schema(),
                          .temperature = o->temperature,
                          .top_p = o->top_p,
                          .max_tokens = (int)max_tokens,
                          .timeout_ms = o->timeout_ms};
    return llm_chat_patiently(j->h, j->ctx, &j->s->patience, &req, r);
}

static const char *outcome(int rc, bool parsed, const struct dl_verdict *v)
{
    if (rc != CS_OK)
        return "error";
    if (!parsed)
        return "invalid_json";
    if (json_object_size(v->bad) > 0)
        return "rejected";
    return v->low ? "low_confidence" : "ok";
}

static void record(struct dl_job *j, size_t chunk, const char *asked, int rc,
                   const cs_llm_response *r, bool parsed,
                   const struct dl_verdict *v)
{
    json_t *a =
        json_pack("{s:I, s:s?, s:s, s:i, s:I, s:I, s:I}", "chunk",
                  (json_int_t)chunk, "model", r->model ? r->model : asked,
                  "outcome", outcome(rc, parsed, v), "http_attempts",
                  r->attempts, "prompt_tokens", (json_int_t)r->prompt_tokens,
                  "completion_tokens", (json_int_t)r->completion_tokens,
                  "rejected", (json_int_t)json_object_size(v->bad));
    if (a && rc != CS_OK)
        json_object_set_new(a, "reason", json_string(j->h->last_error(j->ctx)));
    json_array_append_new(j->attempts, a);
}

/* One call and its checks; *rc is the call's status, `answered` the
 * model's name as the server gave it. */
static bool attempt(struct dl_job *j, const char *model, const char *prompt,
                    size_t first, size_t n, bool with_table,
                    struct dl_verdict *v, int *rc, char answered[128])
{
    cs_llm_response r;
    *rc = chat(j, model, prompt, n, &r);
    bool parsed = false;
    memset(v, 0, sizeof *v);
    if (*rc == CS_OK)
        parsed = dl_check(j, r.content, first, n, with_table, v);
    record(j, first / (size_t)j->s->o.max_columns, model, *rc, &r, parsed, v);
    snprintf(answered, 128, "%s",
             r.model ? r.model : (model ? model : "(endpoint default)"));
    if (*rc != CS_OK)
        dl_fail(j, *rc, "no description for %s: %s", j->fqn,
                j->h->last_error(j->ctx));
    j->h->llm_response_free(&r);
    return *rc == CS_OK && parsed && json_object_size(v->bad) == 0 && !v->low;
}

/* Takes the fallback's passing texts first, then the first answer's;
 * what passed nowhere goes to j->rejected with the last reason. */
static void merge(struct dl_job *j, struct dl_verdict *first,
                  struct dl_verdict *second, const char *model1,
                  const char *model2)
{
    if (first->columns || first->table)
        snprintf(j->used_model, sizeof j->used_model, "%s", model1);
    struct dl_verdict *order[] = {second, first};
    for (int i = 0; i < 2; i++) {
        struct dl_verdict *v = order[i];
        if (!v->columns)
            continue;
        const char *k;
        json_t *t;
        json_object_foreach(v->columns, k, t)
        {
            if (!json_object_get(j->out_columns, k)) {
                json_object_set_new(j->out_columns, k,
                                    json_pack("{s:O}", "description", t));
                if (v == second)
                    snprintf(j->used_model, sizeof j->used_model, "%s", model2);
            }
        }
        if (v->table && !j->table_text) {
            j->table_text = strdup(v->table);
            if (v == second)
                snprintf(j->used_model, sizeof j->used_model, "%s", model2);
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *k;
        json_t *why;
        json_object_foreach(order[i] ? order[i]->bad : NULL, k, why)
        {
            bool fixed = strcmp(k, "table") == 0
                             ? j->table_text != NULL
                             : json_object_get(j->out_columns, k) != NULL;
            if (!fixed && !json_object_get(j->rejected, k))
                json_object_set(j->rejected, k, why);
        }
    }
}

int dl_describe_chunk(struct dl_job *j, size_t first, size_t n, bool with_table)
{
    char *prompt = dl_prompt(j, first, n, with_table);
    if (!prompt)
        return dl_fail(j, CS_ERR_NOMEM, "out of memory for the prompt");
    sha256_update(j->hash_ctx, prompt, strlen(prompt));
    struct dl_verdict v1, v2 = {0};
    char m1[128] = "", m2[128] = "";
    int rc;
    bool good =
        attempt(j, j->s->o.model, prompt, first, n, with_table, &v1, &rc, m1);
    const char *fb = j->s->o.fallback;
    bool retry = !good && fb && (rc == CS_OK || rc == CS_ERR_INVALID);
    if (retry) {
        j->h->metric_add(j->ctx, "llm_fallbacks", 1);
        int rc2;
        attempt(j, fb, prompt, first, n, with_table, &v2, &rc2, m2);
        rc = rc2 == CS_OK ? CS_OK : rc;
    }
    merge(j, &v1, &v2, m1, m2);
    dl_verdict_clear(&v1);
    dl_verdict_clear(&v2);
    free(prompt);
    /* An answer that failed its schema is a weak answer, not an outage:
     * the rejected descriptions are recorded, the entity goes on. */
    return rc == CS_ERR_INVALID ? CS_OK : rc;
}
