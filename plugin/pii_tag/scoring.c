/*
 * The decision for one column, from counts, the column name, the profile
 * and an optional LLM vote.  The rules (README.md has the full list):
 *   - score(e) = validated(e) / non-null values  +  name_weight * strength
 *     of a name signal for e (ranked as is, reported capped at 1).  A
 *     share, not a mean of
 *     per-value scores, so it is explainable as "k of n values".
 *   - the name bonus is ignored when the values contradict the name
 *     (boolean type, flags 0..9, integers with at most 2 distinct values,
 *     4-digit years);
 *   - weak types (person name, address, postcode, date of birth) need a
 *     usable name signal of strength >= 0.5 *and* at least one validated
 *     value;
 *   - the winner is the highest score at or above its entity's threshold;
 *     ties go to checksum-backed types, then strong before weak types,
 *     then PHONE last;
 *   - no winner but a strong type whose shaped values mostly validate
 *     (validated >= 1 and validated >= matched / 2) -> "candidate": one
 *     real SSN among 50 rows stays visible instead of averaging away,
 *     while chance checksum hits (1 in 10 order numbers pass Luhn) do not;
 *   - no value sampled at all -> a name signal gives "name_only", no tag.
 */
#include <string.h>

#include "pii_tag.h"

static const pii_name_signal *signal_for(const struct pt_column *col,
                                         pii_entity e)
{
    for (int i = 0; i < col->nsignals; i++)
        if (col->signals[i].entity == e)
            return &col->signals[i];
    return NULL;
}

/* Values (or the declared type) that no PII column would hold. */
static bool contradicts_name(const struct pt_column *col)
{
    const char *tc = col->type_class;
    if (tc && strcmp(tc, "boolean") == 0)
        return true;
    if (tc && strcmp(tc, "integer") == 0 && col->distinct >= 0 &&
        col->distinct <= 2 && col->counts.values > 0)
        return true;
    return col->counts.flag_like || col->counts.year_like;
}

static double entity_score(const struct pt_config *c,
                           const struct pt_column *col, pii_entity e,
                           bool names_ok)
{
    const struct pt_counts *k = &col->counts;
    double share =
        k->values ? (double)k->validated[e] / (double)k->values : 0.0;
    const pii_name_signal *sig = names_ok ? signal_for(col, e) : NULL;
    /* Not capped at 1: a full share plus a name bonus must outrank a full
     * share alone (an SSN that also reads as a phone number, in a column
     * named `ssn`).  The reported score is capped. */
    return share + (sig ? c->name_weight * sig->strength : 0.0);
}

/* Is `a` preferred over `b` at equal score?  Checksums first, then
 * strong before weak types, then anything before PHONE (the loosest of the
 * strong validators: national formats accept many digit groups). */
static bool tie_prefers(pii_entity a, pii_entity b)
{
    if (pii_entity_has_checksum(a) != pii_entity_has_checksum(b))
        return pii_entity_has_checksum(a);
    if (pii_entity_is_weak(a) != pii_entity_is_weak(b))
        return !pii_entity_is_weak(a);
    if ((a == PII_PHONE) != (b == PII_PHONE))
        return b == PII_PHONE;
    return a < b;
}

static bool better(double sa, pii_entity a, double sb, pii_entity b)
{
    if (b == PII_NONE || sa > sb + 1e-9)
        return true;
    return sa > sb - 1e-9 && tie_prefers(a, b);
}

/* An ambiguous name (`name` on a genre or a track, `via`, `cap`) is too
 * weak to make a shape a person name, an address or a postcode; it still
 * adds its bonus. */
#define PT_WEAK_MIN_STRENGTH 0.5

static bool clear_signal(const struct pt_column *col, pii_entity e)
{
    const pii_name_signal *sig = signal_for(col, e);
    return sig && sig->strength >= PT_WEAK_MIN_STRENGTH - 1e-9;
}

static bool eligible(const struct pt_config *c, const struct pt_column *col,
                     pii_entity e, double score, bool names_ok)
{
    if (col->counts.validated[e] == 0 || score < c->threshold[e] - 1e-9)
        return false;
    return !pii_entity_is_weak(e) || (names_ok && clear_signal(col, e));
}

/* Best eligible entity (the winner), or the best "interesting" one: any
 * entity with a validated value of a strong type or a name signal. */
static void rank(const struct pt_config *c, const struct pt_column *col,
                 bool names_ok, pii_entity *winner, double *wscore,
                 pii_entity *shown, double *sscore)
{
    *winner = *shown = PII_NONE;
    *wscore = *sscore = 0.0;
    for (int i = 1; i < PII_ENTITY_COUNT; i++) {
        pii_entity e = (pii_entity)i;
        if (!c->enabled[e])
            continue;
        double s = entity_score(c, col, e, names_ok);
        if (eligible(c, col, e, s, names_ok) &&
            better(s, e, *wscore, *winner)) {
            *winner = e;
            *wscore = s;
        }
        bool interesting = signal_for(col, e) || (!pii_entity_is_weak(e) &&
                                                  col->counts.validated[e] > 0);
        if (interesting && better(s, e, *sscore, *shown)) {
            *shown = e;
            *sscore = s;
        }
    }
}

/* A strong type whose shaped values mostly validate, most validated
 * first. */
static pii_entity minority(const struct pt_config *c,
                           const struct pt_column *col)
{
    pii_entity best = PII_NONE;
    for (int i = 1; i < PII_ENTITY_COUNT; i++) {
        pii_entity e = (pii_entity)i;
        size_t v = col->counts.validated[e], m = col->counts.matched[e];
        if (!c->enabled[e] || pii_entity_is_weak(e) || v == 0 || 2 * v < m)
            continue;
        if (best == PII_NONE ||
            better((double)v, e, (double)col->counts.validated[best], best))
            best = e;
    }
    return best;
}

static void set(struct pt_verdict *v, enum pt_status st, enum pt_why why,
                pii_entity e, double score)
{
    v->status = st;
    v->why = why;
    v->entity = e;
    v->score = score > 1.0 ? 1.0 : score;
}

/* Recognizers only: tagged, candidate, name_only or none. */
static void decide_recognizers(const struct pt_config *c,
                               const struct pt_column *col,
                               struct pt_verdict *v)
{
    bool names_ok = !contradicts_name(col);
    v->name_ignored = !names_ok && col->nsignals > 0;
    pii_entity win, shown, cand;
    double ws, ss;
    rank(c, col, names_ok, &win, &ws, &shown, &ss);
    if (win != PII_NONE) {
        set(v, PT_TAGGED, PT_WHY_VALUES, win, ws);
    } else if ((cand = minority(c, col)) != PII_NONE) {
        set(v, PT_CANDIDATE, PT_WHY_MINORITY, cand,
            entity_score(c, col, cand, names_ok));
    } else if (col->counts.values == 0 && names_ok && shown != PII_NONE) {
        set(v, PT_NAME_ONLY, PT_WHY_NAME_NO_VALUES, shown, ss);
    } else if (shown != PII_NONE) {
        enum pt_why why = PT_WHY_BELOW;
        if (v->name_ignored && signal_for(col, shown))
            why = PT_WHY_NAME_CONTRADICTED;
        else if (pii_entity_is_weak(shown) && !clear_signal(col, shown))
            why = PT_WHY_AMBIGUOUS_NAME;
        set(v, PT_NONE, why, shown, ss);
    }
    v->signal = v->entity != PII_NONE ? signal_for(col, v->entity) : NULL;
}

/* The LLM's vote counts when it names an enabled entity with at least
 * that entity's threshold as confidence, on a column whose values do
 * not contradict PII. */
static bool llm_says(const struct pt_config *c, const struct pt_column *col)
{
    pii_entity e = col->llm_entity;
    return col->llm_present && e != PII_NONE && c->enabled[e] &&
           col->llm_confidence >= c->threshold[e] - 1e-9 &&
           !contradicts_name(col);
}

static void apply_vote(const struct pt_config *c, const struct pt_column *col,
                       struct pt_verdict *v)
{
    if (c->vote == PT_VOTE_BOTH && v->status == PT_TAGGED &&
        !(llm_says(c, col) && col->llm_entity == v->entity)) {
        v->status = PT_CANDIDATE;
        v->why = PT_WHY_VOTE_BLOCKED;
    } else if (c->vote == PT_VOTE_EITHER && v->status != PT_TAGGED &&
               llm_says(c, col)) {
        pii_entity e = col->llm_entity;
        set(v, PT_TAGGED, PT_WHY_LLM_ONLY, e,
            entity_score(c, col, e, !contradicts_name(col)));
        v->signal = signal_for(col, e);
    }
}

void pt_decide(const struct pt_config *c, const struct pt_column *col,
               struct pt_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (col->human_tag) {
        v->status = PT_HUMAN;
        return;
    }
    decide_recognizers(c, col, v);
    apply_vote(c, col, v);
    v->few_values = col->counts.values < (size_t)c->min_values;
    v->low =
        v->status != PT_TAGGED || v->few_values || v->why == PT_WHY_LLM_ONLY;
}
