/*
 * The plan: orders a manifest's enabled passes and cuts them into stages.
 *
 * Order: source passes first (manifest order), then the other enabled
 * passes in dependency order; among passes that are ready at the same time
 * the manifest order wins, so the operator's file reads like the plan.
 * Stages: all sources, then each run of consecutive entity passes, then
 * each batch pass alone (a batch pass is a barrier: entity passes after it
 * see what was persisted, never raw aspects).
 *
 * Pure data: nothing here loads a plugin.  Errors use the manifest's
 * "<path>:<line>:<col>: <field>: <reason>" format.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct builder {
    const struct manifest *m;
    char *err;
    size_t errlen;
    struct plan *p;
    int *step_of; /* manifest pass index -> step index, -1 = not placed */
};

__attribute__((format(printf, 4, 5))) static int bfail(struct builder *b,
                                                       struct mf_pos pos,
                                                       const char *field,
                                                       const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(b->err, b->errlen, "%s:%d:%d: %s: %s", b->m->path, pos.line,
             pos.col, field, msg);
    return -1;
}

/* "passes[i].<list>" or "passes[i].<list>[j]" (j < 0: no index). */
static const char *field_of(char buf[80], const struct manifest *m,
                            const struct mf_pass *p, const char *list, long j)
{
    size_t i = (size_t)(p - m->passes);
    if (j < 0)
        snprintf(buf, 80, "passes[%zu].%s", i, list);
    else
        snprintf(buf, 80, "passes[%zu].%s[%ld]", i, list, j);
    return buf;
}

static size_t pass_index(const struct manifest *m, const struct mf_pass *p)
{
    return (size_t)(p - m->passes);
}

static struct mf_pos best_pos(struct mf_pos a, struct mf_pos fallback)
{
    return a.line > 0 ? a : fallback;
}

static bool produces(const struct mf_pass *p, const char *aspect, size_t *at)
{
    for (size_t j = 0; j < p->n_outputs; j++) {
        if (!strcmp(p->outputs[j].name, aspect)) {
            if (at)
                *at = j;
            return true;
        }
    }
    return false;
}

/* ---- structural rules --------------------------------------------------- */

static int check_pass_shape(struct builder *b, const struct mf_pass *p)
{
    char f[80];
    size_t j;
    if (p->kind == MF_KIND_SOURCE && p->n_inputs > 0)
        return bfail(b, best_pos(p->pos_inputs, p->pos),
                     field_of(f, b->m, p, "inputs", -1),
                     "source pass `%s` cannot have inputs (sources start "
                     "the run; they consume nothing)",
                     p->name);
    if (p->kind == MF_KIND_SOURCE && !produces(p, "table", NULL))
        return bfail(b, best_pos(p->pos_outputs, p->pos),
                     field_of(f, b->m, p, "outputs", -1),
                     "source pass `%s` must list `table` in its outputs",
                     p->name);
    if (p->kind != MF_KIND_SOURCE && produces(p, "table", &j))
        return bfail(b, p->outputs[j].pos,
                     field_of(f, b->m, p, "outputs", (long)j),
                     "only source passes produce `table`; `%s` has kind %s",
                     p->name, mf_kind_name(p->kind));
    return 0;
}

static int check_has_source(struct builder *b)
{
    const struct manifest *m = b->m;
    for (size_t i = 0; i < m->n_passes; i++)
        if (m->passes[i].enabled && m->passes[i].kind == MF_KIND_SOURCE)
            return 0;
    return bfail(b, m->n_passes ? m->passes[0].pos : (struct mf_pos){1, 1},
                 "passes",
                 "no enabled source pass: a plan needs at least one pass "
                 "with kind: source");
}

/* The enabled pass producing `aspect`; for `table`, the first source. */
static const struct mf_pass *producer_of(const struct manifest *m,
                                         const char *aspect, bool enabled)
{
    for (size_t i = 0; i < m->n_passes; i++)
        if (m->passes[i].enabled == enabled &&
            produces(&m->passes[i], aspect, NULL))
            return &m->passes[i];
    return NULL;
}

static int check_unique_producers(struct builder *b)
{
    const struct manifest *m = b->m;
    for (size_t i = 0; i < m->n_passes; i++) {
        const struct mf_pass *p = &m->passes[i];
        for (size_t j = 0; p->enabled && j < p->n_outputs; j++) {
            const struct mf_pass *q = producer_of(m, p->outputs[j].name, true);
            char f[80];
            if (q == p || !strcmp(p->outputs[j].name, "table"))
                continue; /* every source produces `table` */
            return bfail(b, p->outputs[j].pos,
                         field_of(f, m, p, "outputs", (long)j),
                         "aspect `%s` is produced by two passes: `%s` "
                         "(%s:%d:%d) and `%s`; disable one of them",
                         p->outputs[j].name, q->name, m->path, q->pos.line,
                         q->pos.col, p->name);
        }
    }
    return 0;
}

static int missing_producer(struct builder *b, const struct mf_pass *p,
                            size_t j)
{
    const struct mf_aspect_ref *in = &p->inputs[j];
    const struct mf_pass *off = producer_of(b->m, in->name, false);
    char f[80];
    field_of(f, b->m, p, "inputs", (long)j);
    if (off) {
        struct mf_pos at = best_pos(off->pos_enabled, off->pos);
        return bfail(b, in->pos, f,
                     "pass `%s` requires aspect `%s`, produced by pass `%s` "
                     "which is disabled (%s:%d:%d)",
                     p->name, in->name, off->name, b->m->path, at.line, at.col);
    }
    return bfail(b, in->pos, f,
                 "pass `%s` requires aspect `%s`, which no pass produces "
                 "(write `%s?` if it is optional)",
                 p->name, in->name, in->name);
}

static int check_inputs(struct builder *b)
{
    const struct manifest *m = b->m;
    for (size_t i = 0; i < m->n_passes; i++) {
        const struct mf_pass *p = &m->passes[i];
        for (size_t j = 0; p->enabled && j < p->n_inputs; j++)
            if (!p->inputs[j].optional &&
                !producer_of(m, p->inputs[j].name, true))
                return missing_producer(b, p, j);
    }
    return 0;
}

static int oom(struct builder *b);

/* ---- ordering ----------------------------------------------------------- */

static void place(struct builder *b, const struct mf_pass *p)
{
    struct plan_step *s = &b->p->steps[b->p->n_steps];
    s->pass = p;
    b->step_of[pass_index(b->m, p)] = (int)b->p->n_steps++;
}

/* The first input of p whose producer is not placed yet, or -1. */
static int blocking_input(const struct builder *b, const struct mf_pass *p)
{
    for (size_t j = 0; j < p->n_inputs; j++) {
        const struct mf_pass *q = producer_of(b->m, p->inputs[j].name, true);
        if (q && b->step_of[pass_index(b->m, q)] < 0)
            return (int)j;
    }
    return -1;
}

/* Nothing is ready: walk "waits for" edges until a pass repeats and report
 * that loop. */
static int report_cycle(struct builder *b, const struct mf_pass *start)
{
    const struct manifest *m = b->m;
    const struct mf_pass **chain = calloc(m->n_passes + 1, sizeof *chain);
    size_t n = 0, first = 0;
    char msg[600] = "";
    size_t len = 0;
    if (!chain)
        return oom(b);
    for (const struct mf_pass *p = start;;) {
        for (size_t k = 0; k < n; k++)
            if (chain[k] == p)
                first = k + 1;
        if (first)
            break;
        chain[n++] = p;
        p = producer_of(m, p->inputs[blocking_input(b, p)].name, true);
    }
    first--;
    for (size_t k = first; k < n && len < sizeof msg; k++) {
        const struct mf_pass *p = chain[k];
        const char *aspect = p->inputs[blocking_input(b, p)].name;
        const struct mf_pass *q = producer_of(m, aspect, true);
        len += (size_t)snprintf(
            msg + len, sizeof msg - len, "%s`%s` needs `%s` from `%s`",
            k > first ? ", " : "", p->name, aspect, q->name);
    }
    const struct mf_pass *p = chain[first];
    int j = blocking_input(b, p);
    char f[80];
    free(chain);
    return bfail(b, p->inputs[j].pos, field_of(f, m, p, "inputs", j),
                 "dependency cycle: %s", msg);
}

static int order_steps(struct builder *b)
{
    const struct manifest *m = b->m;
    size_t want = 0;
    for (size_t i = 0; i < m->n_passes; i++) {
        if (m->passes[i].enabled && m->passes[i].kind == MF_KIND_SOURCE)
            place(b, &m->passes[i]);
        want += m->passes[i].enabled;
    }
    while (b->p->n_steps < want) {
        const struct mf_pass *ready = NULL, *waiting = NULL;
        for (size_t i = 0; i < m->n_passes && !ready; i++) {
            const struct mf_pass *p = &m->passes[i];
            if (!p->enabled || b->step_of[i] >= 0)
                continue;
            if (blocking_input(b, p) < 0)
                ready = p;
            else if (!waiting)
                waiting = p;
        }
        if (!ready)
            return report_cycle(b, waiting);
        place(b, ready);
    }
    return 0;
}

/* ---- stages, inputs, raw rules ------------------------------------------ */

static int cut_stages(struct builder *b)
{
    struct plan *p = b->p;
    p->stages = calloc(p->n_steps, sizeof *p->stages);
    if (!p->stages)
        return -1;
    for (size_t s = 0; s < p->n_steps; s++) {
        enum mf_pass_kind kind = p->steps[s].pass->kind;
        struct plan_stage *cur =
            p->n_stages ? &p->stages[p->n_stages - 1] : NULL;
        if (!cur || kind == MF_KIND_BATCH ||
            cur->kind != (enum stage_kind)kind) {
            cur = &p->stages[p->n_stages++];
            cur->kind = (enum stage_kind)kind;
            cur->first_step = s;
        }
        cur->n_steps++;
        p->steps[s].stage = (int)(cur - p->stages);
    }
    return 0;
}

static int fill_inputs(struct builder *b, struct plan_step *s)
{
    const struct mf_pass *mp = s->pass;
    s->inputs = calloc(mp->n_inputs ? mp->n_inputs : 1, sizeof *s->inputs);
    if (!s->inputs)
        return -1;
    s->n_inputs = mp->n_inputs;
    for (size_t j = 0; j < mp->n_inputs; j++) {
        struct plan_input *in = &s->inputs[j];
        const struct mf_pass *q = producer_of(b->m, mp->inputs[j].name, true);
        in->aspect = mp->inputs[j].name;
        in->optional = mp->inputs[j].optional;
        in->producer = q ? b->step_of[pass_index(b->m, q)] : -1;
        in->raw = manifest_aspect_is_raw(b->m, in->aspect);
        /* by declaration, not by whether a producer is enabled today */
        s->no_network = s->no_network || in->raw;
    }
    return 0;
}

/* The batch pass that separates stage `from` from stage `to`, if any. */
static const char *barrier_between(const struct plan *p, int from, int to)
{
    for (int st = from + 1; st <= to; st++)
        if (p->stages[st].kind == STAGE_BATCH)
            return p->steps[p->stages[st].first_step].pass->name;
    return NULL;
}

static int check_raw_crossing(struct builder *b, const struct plan_step *s)
{
    for (size_t j = 0; j < s->n_inputs; j++) {
        const struct plan_input *in = &s->inputs[j];
        const struct plan_step *src;
        char f[80], why[160];
        if (!in->raw || in->producer < 0)
            continue;
        src = &b->p->steps[in->producer];
        if (src->stage == s->stage)
            continue;
        const char *bar = barrier_between(b->p, src->stage, s->stage);
        if (s->pass->kind == MF_KIND_BATCH)
            snprintf(why, sizeof why,
                     "in an earlier stage (a batch pass only sees persisted "
                     "aspects)");
        else if (bar)
            snprintf(why, sizeof why, "across the barrier of batch pass `%s`",
                     bar);
        else
            snprintf(why, sizeof why, "from an earlier stage");
        return bfail(b, s->pass->inputs[j].pos,
                     field_of(f, b->m, s->pass, "inputs", (long)j),
                     "pass `%s` consumes raw aspect `%s` produced by `%s` %s; "
                     "raw aspects are never persisted, so they are only "
                     "available within the stage that produced them",
                     s->pass->name, in->aspect, src->pass->name, why);
    }
    return 0;
}

/* The step after which raw aspect output `aspect` of step `prod` can be
 * dropped: its last consumer, or the producer itself if nobody reads it. */
static size_t last_consumer(const struct plan *p, size_t prod,
                            const char *aspect)
{
    size_t last = prod;
    for (size_t t = prod + 1; t < p->n_steps; t++)
        for (size_t j = 0; j < p->steps[t].n_inputs; j++)
            if (p->steps[t].inputs[j].producer == (int)prod &&
                !strcmp(p->steps[t].inputs[j].aspect, aspect))
                last = t;
    return last;
}

static int fill_free_after(struct builder *b)
{
    struct plan *p = b->p;
    for (size_t s = 0; s < p->n_steps; s++) {
        const struct mf_pass *mp = p->steps[s].pass;
        for (size_t j = 0; j < mp->n_outputs; j++) {
            const char *a = mp->outputs[j].name;
            if (!manifest_aspect_is_raw(b->m, a))
                continue;
            struct plan_step *t = &p->steps[last_consumer(p, s, a)];
            const char **grown =
                realloc(t->free_after, (t->n_free_after + 1) * sizeof *grown);
            if (!grown)
                return -1;
            t->free_after = grown;
            t->free_after[t->n_free_after++] = a;
        }
    }
    return 0;
}

static int oom(struct builder *b)
{
    snprintf(b->err, b->errlen, "%s: out of memory building the plan",
             b->m->path);
    return -1;
}

static int build(struct builder *b)
{
    const struct manifest *m = b->m;
    for (size_t i = 0; i < m->n_passes; i++)
        if (check_pass_shape(b, &m->passes[i]) < 0)
            return -1;
    if (check_has_source(b) < 0 || check_unique_producers(b) < 0 ||
        check_inputs(b) < 0 || order_steps(b) < 0)
        return -1;
    if (cut_stages(b) < 0)
        return oom(b);
    for (size_t s = 0; s < b->p->n_steps; s++)
        if (fill_inputs(b, &b->p->steps[s]) < 0)
            return oom(b);
    for (size_t s = 0; s < b->p->n_steps; s++)
        if (check_raw_crossing(b, &b->p->steps[s]) < 0)
            return -1;
    return fill_free_after(b) < 0 ? oom(b) : 0;
}

int plan_build(const struct manifest *m, struct plan **out, char *err,
               size_t errlen)
{
    struct builder b = {m, err, errlen, NULL, NULL};
    int rc = -1;
    *out = NULL;
    b.p = calloc(1, sizeof *b.p);
    b.step_of = malloc((m->n_passes + 1) * sizeof *b.step_of);
    if (b.p)
        b.p->steps = calloc(m->n_passes + 1, sizeof *b.p->steps);
    if (!b.p || !b.step_of || !b.p->steps) {
        oom(&b);
        goto done;
    }
    b.p->manifest = m;
    for (size_t i = 0; i < m->n_passes; i++)
        b.step_of[i] = -1;
    rc = build(&b);
done:
    free(b.step_of);
    if (rc == 0)
        *out = b.p;
    else
        plan_free(b.p);
    return rc;
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    for (size_t s = 0; p->steps && s < p->n_steps; s++) {
        free(p->steps[s].inputs);
        free(p->steps[s].free_after);
    }
    free(p->steps);
    free(p->stages);
    free(p);
}

int plan_find_step(const struct plan *p, const char *name)
{
    for (size_t s = 0; s < p->n_steps; s++)
        if (!strcmp(p->steps[s].pass->name, name))
            return (int)s;
    return -1;
}

/* ---- output ------------------------------------------------------------- */

static const char *stage_name(enum stage_kind k)
{
    return mf_kind_name((enum mf_pass_kind)k);
}

static size_t count_sources(const struct plan *p)
{
    return p->n_stages && p->stages[0].kind == STAGE_SOURCE
               ? p->stages[0].n_steps
               : 0;
}

static void print_input(const struct plan *p, const struct plan_input *in,
                        FILE *out)
{
    fprintf(out, "      in:  %s%s", in->aspect, in->optional ? "?" : "");
    if (in->producer < 0) {
        fprintf(out, " (optional, none)\n");
        return;
    }
    fprintf(out, " <- %s", p->steps[in->producer].pass->name);
    if (!strcmp(in->aspect, "table") && count_sources(p) > 1)
        fprintf(out, " (and %zu other sources)", count_sources(p) - 1);
    fprintf(out, "%s\n", in->raw ? " [raw]" : "");
}

static void print_step(const struct plan *p, size_t s, FILE *out)
{
    const struct plan_step *st = &p->steps[s];
    const struct mf_pass *mp = st->pass;
    fprintf(out, "  %zu. %s (%s, plugin %s", s + 1, mp->name,
            mf_kind_name(mp->kind), mp->plugin_path);
    if (mp->concurrency > 0)
        fprintf(out, ", concurrency %d", mp->concurrency);
    fprintf(out, ")\n");
    for (size_t j = 0; j < st->n_inputs; j++)
        print_input(p, &st->inputs[j], out);
    for (size_t j = 0; j < mp->n_outputs; j++)
        fprintf(out, "      out: %s%s\n", mp->outputs[j].name,
                manifest_aspect_is_raw(p->manifest, mp->outputs[j].name)
                    ? " [raw]"
                    : "");
    for (size_t j = 0; st->no_network && j < st->n_inputs; j++)
        if (st->inputs[j].raw)
            fprintf(out, "      no network (consumes raw `%s`)\n",
                    st->inputs[j].aspect);
    for (size_t j = 0; j < st->n_free_after; j++)
        fprintf(out, "      frees `%s` after this pass\n", st->free_after[j]);
}

void plan_print_text(const struct plan *p, FILE *out)
{
    const struct manifest *m = p->manifest;
    bool any_disabled = false;
    fprintf(out, "plan for %s (sha256 %.12s): %zu stages, %zu passes\n",
            m->path, m->sha256, p->n_stages, p->n_steps);
    for (size_t st = 0; st < p->n_stages; st++) {
        fprintf(out, "stage %zu: %s\n", st + 1, stage_name(p->stages[st].kind));
        for (size_t s = p->stages[st].first_step;
             s < p->stages[st].first_step + p->stages[st].n_steps; s++)
            print_step(p, s, out);
    }
    for (size_t i = 0; i < m->n_passes; i++) {
        if (m->passes[i].enabled)
            continue;
        fprintf(out, "%s %s",
                any_disabled ? "," : "disabled:", m->passes[i].name);
        any_disabled = true;
    }
    if (any_disabled)
        fprintf(out, "\n");
}

static json_t *input_json(const struct plan *p, const struct plan_input *in)
{
    return json_pack("{s:s, s:b, s:o, s:b}", "aspect", in->aspect, "optional",
                     in->optional, "from",
                     in->producer < 0
                         ? json_null()
                         : json_string(p->steps[in->producer].pass->name),
                     "raw", in->raw);
}

static json_t *step_json(const struct plan *p, const struct plan_step *st)
{
    const struct mf_pass *mp = st->pass;
    json_t *ins = json_array(), *outs = json_array(), *frees = json_array();
    for (size_t j = 0; ins && j < st->n_inputs; j++)
        json_array_append_new(ins, input_json(p, &st->inputs[j]));
    for (size_t j = 0; outs && j < mp->n_outputs; j++)
        json_array_append_new(outs, json_string(mp->outputs[j].name));
    for (size_t j = 0; frees && j < st->n_free_after; j++)
        json_array_append_new(frees, json_string(st->free_after[j]));
    if (!ins || !outs || !frees) {
        json_decref(ins);
        json_decref(outs);
        json_decref(frees);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:i, s:o}", "name",
                     mp->name, "plugin", mp->plugin, "plugin_path",
                     mp->plugin_path, "kind", mf_kind_name(mp->kind), "inputs",
                     ins, "outputs", outs, "no_network", st->no_network,
                     "concurrency", mp->concurrency, "free_after", frees);
}

json_t *plan_to_json(const struct plan *p)
{
    json_t *stages = json_array(), *disabled = json_array();
    for (size_t st = 0; stages && st < p->n_stages; st++) {
        json_t *passes = json_array();
        for (size_t s = p->stages[st].first_step;
             passes && s < p->stages[st].first_step + p->stages[st].n_steps;
             s++)
            json_array_append_new(passes, step_json(p, &p->steps[s]));
        json_array_append_new(stages, json_pack("{s:s, s:o*}", "kind",
                                                stage_name(p->stages[st].kind),
                                                "passes", passes));
    }
    for (size_t i = 0; disabled && i < p->manifest->n_passes; i++)
        if (!p->manifest->passes[i].enabled)
            json_array_append_new(disabled,
                                  json_string(p->manifest->passes[i].name));
    return json_pack("{s:o*, s:o*, s:s, s:s}", "stages", stages, "disabled",
                     disabled, "manifest", p->manifest->path, "sha256",
                     p->manifest->sha256);
}
