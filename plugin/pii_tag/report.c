/*
 * One column's entry of the `pii` aspect: entity, score, confidence, tag,
 * status, evidence and a one-line reason.  Built from counts, entity and
 * recognizer names, the column name's keyword and the config only, so no
 * sampled value can reach the aspect (the aspect is not raw).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pii_tag.h"

struct line {
    char buf[640];
    size_t len;
};

static void add(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(struct line *l, const char *fmt, ...)
{
    if (l->len >= sizeof l->buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n;
    if (l->len > sizeof l->buf - 1)
        l->len = sizeof l->buf - 1;
}

/* What about the values made the name signal unusable. */
static const char *contradiction(const struct pt_column *col)
{
    if (col->type_class && strcmp(col->type_class, "boolean") == 0)
        return "of a boolean type";
    if (col->counts.flag_like)
        return "flags (0..9 or yes/no)";
    if (col->counts.year_like)
        return "4-digit years";
    return "an integer with at most 2 distinct values";
}

static void core(struct line *l, const struct pt_config *c,
                 const struct pt_column *col, const struct pt_verdict *v)
{
    pii_entity e = v->entity;
    const char *en = pii_entity_name(e);
    size_t n = col->counts.values, k = col->counts.validated[e];
    const char *verb =
        pii_entity_is_weak(e) ? "have the shape of" : "validate as";
    const char *kw = v->signal ? v->signal->keyword : "?";
    const char *lang = v->signal ? v->signal->lang : "?";
    switch (v->why) {
    case PT_WHY_VALUES:
        add(l, "%zu of %zu sampled values %s %s (%s)", k, n, verb, en,
            pii_recognizer_name(e));
        break;
    case PT_WHY_LLM_ONLY:
        add(l,
            "tagged on the LLM vote alone (%s, confidence %.2f, "
            "vote=either); recognizers: %zu of %zu values %s %s",
            en, col->llm_confidence, k, n, verb, en);
        break;
    case PT_WHY_VOTE_BLOCKED:
        add(l,
            "%zu of %zu sampled values %s %s (%s) but the LLM vote is %s; "
            "vote=both needs both: not tagged",
            k, n, verb, en, pii_recognizer_name(e),
            col->llm_present ? pii_entity_name(col->llm_entity) : "missing");
        break;
    case PT_WHY_MINORITY:
        add(l,
            "%zu of %zu sampled values %s %s (%s): score %.2f below the "
            "%.2f threshold for the column; a candidate, not tagged",
            k, n, verb, en, pii_recognizer_name(e), v->score, c->threshold[e]);
        break;
    case PT_WHY_BELOW:
        add(l,
            "%zu of %zu sampled values %s %s (%s): score %.2f below the "
            "%.2f threshold; not tagged",
            k, n, verb, en, pii_recognizer_name(e), v->score, c->threshold[e]);
        break;
    case PT_WHY_NAME_NO_VALUES:
        add(l,
            "no non-null value sampled: only the column name (`%s`, %s) "
            "suggests %s; not tagged",
            kw, lang, en);
        break;
    case PT_WHY_NAME_CONTRADICTED:
        add(l,
            "the column name (`%s`, %s) suggests %s but the values are %s: "
            "name ignored; %zu of %zu sampled values %s %s; not tagged",
            kw, lang, en, contradiction(col), k, n, verb, en);
        break;
    case PT_WHY_AMBIGUOUS_NAME:
        add(l,
            "%zu of %zu sampled values %s %s (%s) but the column name "
            "(`%s`, %s, strength %.2f) is too ambiguous for a heuristic "
            "type; not tagged",
            k, n, verb, en, pii_recognizer_name(e), kw, lang,
            v->signal ? v->signal->strength : 0.0);
        break;
    case PT_WHY_CLEAN:
        add(l, "no PII evidence in %zu sampled values", n);
        break;
    }
}

static void reason_tail(struct line *l, const struct pt_config *c,
                        const struct pt_column *col, const struct pt_verdict *v,
                        bool withdrawn)
{
    if (v->signal && v->why != PT_WHY_NAME_CONTRADICTED &&
        v->why != PT_WHY_NAME_NO_VALUES && v->why != PT_WHY_AMBIGUOUS_NAME)
        add(l, "; column name says `%s` (%s)%s", v->signal->keyword,
            v->signal->lang,
            v->name_ignored ? " but the values contradict it: name ignored"
                            : "");
    if (v->status == PT_TAGGED && pii_entity_is_weak(v->entity))
        add(l, "; heuristic type (value shape + column name)");
    if (v->status == PT_TAGGED && v->why == PT_WHY_VALUES &&
        c->vote == PT_VOTE_BOTH)
        add(l, "; the LLM vote agrees");
    if (v->few_values && col->counts.values > 0)
        add(l, "; only %zu non-null values (min_values %ld): low confidence",
            col->counts.values, c->min_values);
    if (col->llm_raw && v->why != PT_WHY_LLM_ONLY &&
        v->why != PT_WHY_VOTE_BLOCKED && c->vote != PT_VOTE_BOTH)
        add(l, "; LLM vote %s (%.2f)%s", col->llm_raw, col->llm_confidence,
            c->vote == PT_VOTE_RECOGNIZERS ? " not used (vote=recognizers)"
                                           : "");
    if (withdrawn)
        add(l, "; withdraws the earlier automated tag %s", col->previous);
}

static json_t *name_signal_json(const pii_name_signal *s)
{
    if (!s)
        return json_null();
    return json_pack("{s:s, s:s, s:f}", "keyword", s->keyword, "lang", s->lang,
                     "strength", s->strength);
}

/* Only the vote itself (entity, confidence), whatever else pii_llm
 * carries. */
static json_t *llm_json(const struct pt_column *col)
{
    if (!col->llm_present)
        return json_null();
    json_t *ent = col->llm_raw ? json_string(col->llm_raw) : json_null();
    return json_pack("{s:o, s:f}", "entity", ent, "confidence",
                     col->llm_confidence);
}

static json_t *evidence_json(const struct pt_column *col,
                             const struct pt_verdict *v)
{
    pii_entity e = v->entity;
    return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "values_seen",
                     (json_int_t)col->counts.values, "matched",
                     (json_int_t)(e ? col->counts.matched[e] : 0), "validated",
                     (json_int_t)(e ? col->counts.validated[e] : 0),
                     "name_signal", name_signal_json(v->signal), "recognizer",
                     e ? json_string(pii_recognizer_name(e)) : json_null(),
                     "llm", llm_json(col));
}

static const char *status_name(enum pt_status s)
{
    static const char *const names[] = {"none", "tagged", "candidate",
                                        "name_only", "human"};
    return names[s];
}

static json_t *human_json(const struct pt_column *col)
{
    char reason[256];
    snprintf(reason, sizeof reason,
             "tag %s set by a person (labelType %s): left as it is",
             col->human_tag, col->human_label);
    return json_pack("{s:s, s:s, s:s, s:s}", "status", "human", "tag",
                     col->human_tag, "labelType", col->human_label, "reason",
                     reason);
}

static bool has_signal(const struct pt_column *col, const struct pt_verdict *v)
{
    return v->status != PT_NONE || v->entity != PII_NONE || col->previous ||
           (col->llm_present && col->llm_raw);
}

static double round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

json_t *pt_column_json(const struct pt_config *c, const struct pt_column *col,
                       const struct pt_verdict *v, bool *oom)
{
    *oom = false;
    json_t *out = NULL;
    if (v->status == PT_HUMAN) {
        out = human_json(col);
    } else if (has_signal(col, v)) {
        bool tagged = v->status == PT_TAGGED;
        const char *tag = tagged ? pii_entity_om_tag(v->entity) : NULL;
        bool withdrawn = col->previous && !(tag && !strcmp(tag, col->previous));
        struct line l = {.len = 0};
        l.buf[0] = '\0';
        core(&l, c, col, v);
        reason_tail(&l, c, col, v, withdrawn);
        out = json_pack(
            "{s:o, s:f, s:s, s:o, s:s, s:o, s:s}", "entity",
            v->entity ? json_string(pii_entity_name(v->entity)) : json_null(),
            "score", round3(v->score), "confidence", v->low ? "low" : "high",
            "tag", tag ? json_string(tag) : json_null(), "status",
            status_name(v->status), "evidence", evidence_json(col, v), "reason",
            l.buf);
        /* The recognizers tagged it and only the vote (vote=both) held
         * it back: mask must still treat the column as PII. */
        if (out && v->why == PT_WHY_VOTE_BLOCKED &&
            json_object_set_new(out, "vote_blocked", json_true())) {
            json_decref(out);
            out = NULL;
        }
        if (out && col->previous &&
            (json_object_set_new(out, "previous", json_string(col->previous)) ||
             json_object_set_new(out, "withdrawn", json_boolean(withdrawn)))) {
            json_decref(out);
            out = NULL;
        }
    } else {
        return NULL;
    }
    *oom = out == NULL;
    return out;
}
