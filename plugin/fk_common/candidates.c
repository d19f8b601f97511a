/*
 * Candidate parents of child columns: gather the parents sharing a sketch
 * hash through the index, prune them by family, distinct counts and
 * ranges, and estimate the containment from the two records.
 */
#include "fk_index_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void fk_cand_list_free(fk_cand_list *l)
{
    free(l->v);
    free(l->scratch);
    memset(l, 0, sizeof *l);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* Parents whose postings match the child's hashes (with repeats). */
static int gather(const fk_index *ix, const fk_column *child, size_t self,
                  fk_cand_list *out, size_t *n)
{
    *n = 0;
    for (size_t j = 0; j < child->kmv.n; j++) {
        uint64_t h = child->kmv.h[j];
        size_t b = bucket_of(ix, h);
        uint16_t t = tag_of(ix, h);
        size_t first = *n;
        for (uint32_t p = ix->dir[b]; p < ix->dir[b + 1]; p++) {
            if (ix->tag[p] != t || ix->parent[p] == self)
                continue;
            if (grow((void **)&out->scratch, &out->scratch_cap, *n + 1,
                     sizeof *out->scratch))
                return -1;
            out->scratch[(*n)++] = ix->parent[p];
        }
        /* A value in very many parents ("1", "0") says little. */
        if (ix->opts.max_posting && *n - first > ix->opts.max_posting)
            *n = first;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int range_ok(const fk_column *c, const fk_column *p, double slack)
{
    if (!(c->flags & FK_COL_HAS_RANGE) || !(p->flags & FK_COL_HAS_RANGE))
        return 1;
    /* A partial parent sample misses keys beyond its extremes; when it is
     * a prefix (a LIMIT read) it may span only a share f of the key range,
     * so the range is widened by (1/f - 1) of its width, at least by
     * `slack` of it. */
    /* A parent of unknown size (a prefix read of a never-analyzed table)
     * may hold keys far beyond what its sample shows: no range rule. */
    if (!(p->flags & FK_COL_WHOLE) && p->row_count < 0)
        return 1;
    double widen = 0;
    if (!(p->flags & FK_COL_WHOLE)) {
        double grow = 1.0 / fk_column_sample_fraction(p) - 1.0;
        widen = (grow > slack ? grow : slack) * (p->max - p->min);
    }
    return c->min >= p->min - widen && c->max <= p->max + widen;
}

/* The pruning rules that need no sketch comparison. */
static int plausible(const fk_index *ix, const fk_column *c, const fk_column *p)
{
    const fk_index_opts *o = &ix->opts;
    return fk_class_family((fk_class)c->cls) ==
               fk_class_family((fk_class)p->cls) &&
           c->distinct_estimate <=
               p->distinct_estimate * o->distinct_tolerance &&
           range_ok(c, p, o->range_slack);
}

/* Exact comparison of the two records; 1 when kept. */
static int evaluate(const fk_index *ix, const fk_column *c, uint32_t pid,
                    fk_candidate *out)
{
    const fk_column *p = &ix->cols[pid];
    size_t shared = fk_kmv_shared(&c->kmv, &p->kmv);
    if (shared < ix->opts.min_shared || shared == 0)
        return 0;
    size_t support;
    out->parent = pid;
    out->shared = (uint32_t)shared;
    out->raw_containment = fk_kmv_containment(&c->kmv, &p->kmv, NULL);
    out->containment = fk_kmv_containment_sampled(
        &c->kmv, &p->kmv, fk_column_sample_fraction(p), &support,
        &out->expected_shared);
    out->support = (uint32_t)support;
    return 1;
}

static int cmp_cand(const void *a, const void *b)
{
    const fk_candidate *x = a, *y = b;
    if (x->containment != y->containment)
        return x->containment < y->containment ? 1 : -1;
    if (x->shared != y->shared)
        return x->shared < y->shared ? 1 : -1;
    return (x->parent > y->parent) - (x->parent < y->parent);
}

int fk_index_candidates(const fk_index *ix, const fk_column *child, size_t self,
                        fk_cand_list *out)
{
    size_t n;
    out->n = 0;
    if (!fk_column_child_ok(child))
        return 0;
    if (gather(ix, child, self, out, &n))
        return -1;
    if (n > 1)
        qsort(out->scratch, n, sizeof *out->scratch, cmp_u32);
    for (size_t i = 0; i < n; i++) {
        uint32_t pid = out->scratch[i];
        if (i > 0 && pid == out->scratch[i - 1])
            continue;
        if (!plausible(ix, child, &ix->cols[pid]))
            continue;
        if (grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v))
            return -1;
        out->n += (size_t)evaluate(ix, child, pid, &out->v[out->n]);
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_cand);
    return 0;
}

/* One thread's share of fk_index_candidates_all: children [from, to). */
struct run {
    const fk_index *ix;
    size_t from, to;
    fk_pair *pairs;
    size_t n, cap;
    int failed;
};

static void *run_range(void *arg)
{
    struct run *r = arg;
    fk_cand_list l = {0};
    for (size_t i = r->from; i < r->to && !r->failed; i++) {
        if (fk_index_candidates(r->ix, &r->ix->cols[i], i, &l) ||
            grow((void **)&r->pairs, &r->cap, r->n + l.n, sizeof *r->pairs)) {
            r->failed = 1;
            break;
        }
        for (size_t j = 0; j < l.n; j++)
            r->pairs[r->n++] = (fk_pair){(uint32_t)i, l.v[j]};
    }
    fk_cand_list_free(&l);
    return NULL;
}

/* Concatenates the per-thread results, in child order. */
static int join_runs(struct run *runs, unsigned nt, fk_pair **out, size_t *n)
{
    size_t total = 0;
    int failed = 0;
    for (unsigned t = 0; t < nt; t++) {
        total += runs[t].n;
        failed |= runs[t].failed;
    }
    fk_pair *all = failed ? NULL : malloc((total ? total : 1) * sizeof *all);
    size_t at = 0;
    for (unsigned t = 0; t < nt; t++) {
        if (all && runs[t].n)
            memcpy(all + at, runs[t].pairs, runs[t].n * sizeof *all);
        at += runs[t].n;
        free(runs[t].pairs);
    }
    if (!all)
        return -1;
    *out = all;
    *n = total;
    return 0;
}

int fk_index_candidates_all(const fk_index *ix, unsigned threads, fk_pair **out,
                            size_t *n)
{
    unsigned nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    struct run runs[64];
    pthread_t tid[64];
    unsigned started = 0;
    for (unsigned t = 0; t < nt; t++)
        runs[t] = (struct run){
            ix, ix->ncols * t / nt, ix->ncols * (t + 1) / nt, NULL, 0, 0, 0};
    for (unsigned t = 1; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, run_range, &runs[t]) != 0) {
            runs[t].failed = 1;
            break;
        }
        started = t;
    }
    run_range(&runs[0]);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    /* Ranges whose thread never started were not computed. */
    for (unsigned t = started + 1; t < nt; t++)
        runs[t].failed = 1;
    return join_runs(runs, nt, out, n);
}
