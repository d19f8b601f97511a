/*
 * Candidate parents of child columns: gather the parents sharing a sketch
 * hash through the index, prune them by family, distinct counts and
 * ranges, and estimate the containment from the two records.
 */
#include "fk_index_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
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

/* The pruning rules that need no sketch comparison. */
static int plausible(const fk_index *ix, const fk_column *c,
                     const struct fk_parent_sum *p)
{
    if (fk_class_family((fk_class)c->cls) != p->family ||
        c->distinct_estimate > p->distinct * ix->opts.distinct_tolerance)
        return 0;
    if (!p->range_rule || !(c->flags & FK_COL_HAS_RANGE))
        return 1;
    return c->min >= p->lo && c->max <= p->hi;
}

/* The first rank in [lo, hi) whose distinct estimate can hold the child's
 * distinct values (child <= parent x tolerance). */
static uint32_t first_rank(const fk_index *ix, const fk_column *child,
                           size_t lo, size_t hi)
{
    double need = child->distinct_estimate / ix->opts.distinct_tolerance;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->par[mid].distinct < need)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

/* First posting of bucket b at or above key (tag, rank). */
static uint32_t seek(const fk_index *ix, size_t b, uint16_t t, uint32_t rank)
{
    uint32_t lo = ix->dir[b], hi = ix->dir[b + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ix->tag[mid] < t || (ix->tag[mid] == t && ix->prank[mid] < rank))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where one child hash's walk over one group of parents starts and ends. */
struct walk {
    const fk_column *child;
    size_t self;
    size_t bucket;
    uint16_t tag;
};

/* The plausible parents with ranks in [from, to) of one hash, smallest
 * first, at most max_per_hash of them, appended to the scratch list. */
static int walk_group(const fk_index *ix, const struct walk *w, uint32_t from,
                      uint32_t to, fk_cand_list *out, size_t *n)
{
    size_t cap = ix->opts.max_per_hash ? ix->opts.max_per_hash : SIZE_MAX;
    size_t taken = 0;
    uint32_t end = ix->dir[w->bucket + 1];
    for (uint32_t p = seek(ix, w->bucket, w->tag, from);
         p < end && ix->tag[p] == w->tag && ix->prank[p] < to && taken < cap;
         p++) {
        const struct fk_parent_sum *ps = &ix->par[ix->prank[p]];
        if (ps->col == w->self || !plausible(ix, w->child, ps))
            continue;
        if (grow((void **)&out->scratch, &out->scratch_cap, *n + 1,
                 sizeof *out->scratch))
            return -1;
        out->scratch[(*n)++] = ix->prank[p];
        taken++;
    }
    return 0;
}

/* Plausible parents sharing a hash with the child (with repeats): per
 * hash, the tightest declared keys and the tightest sample-unique
 * columns, so neither group crowds the other out. */
static int gather(const fk_index *ix, const fk_column *child, size_t self,
                  fk_cand_list *out, size_t *n)
{
    *n = 0;
    uint32_t nd = (uint32_t)ix->ndeclared, np = (uint32_t)ix->nparents;
    uint32_t r_decl = first_rank(ix, child, 0, nd);
    uint32_t r_rest = first_rank(ix, child, nd, np);
    size_t nh = child->kmv.n;
    if (ix->opts.gather_hashes && nh > ix->opts.gather_hashes)
        nh = ix->opts.gather_hashes;
    for (size_t j = 0; j < nh; j++) {
        uint64_t h = child->kmv.h[j];
        struct walk w = {child, self, bucket_of(ix, h), tag_of(ix, h)};
        /* A value in very many parents ("1", "0") says little. */
        if (ix->opts.max_posting && seek(ix, w.bucket, w.tag, UINT32_MAX) -
                                            seek(ix, w.bucket, w.tag, 0) >
                                        ix->opts.max_posting)
            continue;
        if (walk_group(ix, &w, r_decl, nd, out, n) ||
            walk_group(ix, &w, r_rest, np, out, n))
            return -1;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Exact comparison of the two records, in one merge of their sketches
 * (the same figures as fk_kmv_shared and fk_kmv_containment_sampled);
 * 1 when kept. */
static int evaluate(const fk_index *ix, const fk_column *c, uint32_t pid,
                    fk_candidate *out)
{
    const fk_column *p = &ix->cols[pid];
    fk_kmv_overlap o;
    fk_kmv_compare(&c->kmv, &p->kmv, &o);
    if (o.shared < ix->opts.min_shared || o.shared == 0)
        return 0;
    double f = fk_column_sample_fraction(p);
    double raw = o.support ? (double)o.shared_below / (double)o.support : 0;
    out->parent = pid;
    out->shared = (uint32_t)o.shared;
    out->support = (uint32_t)o.support;
    out->raw_containment = raw;
    out->containment = raw / f > 1.0 ? 1.0 : raw / f;
    out->expected_shared = (double)o.support * f;
    out->parent_distinct = p->distinct_estimate;
    return 1;
}

static int cmp_cand(const void *a, const void *b)
{
    const fk_candidate *x = a, *y = b;
    if (x->containment != y->containment)
        return x->containment < y->containment ? 1 : -1;
    if (x->shared != y->shared)
        return x->shared < y->shared ? 1 : -1;
    /* Then the tightest fit: the parent with fewest keys. */
    if (x->parent_distinct != y->parent_distinct)
        return x->parent_distinct < y->parent_distinct ? -1 : 1;
    return (x->parent > y->parent) - (x->parent < y->parent);
}

/* A first estimate from the lookups alone: a parent met at `count` of
 * the child's `nh` looked-up hashes, whose sample holds a fraction f of
 * its keys, should have been met at nh x f of them if it held the child. */
static double lookup_estimate(const struct fk_parent_sum *p, size_t count,
                              size_t nh)
{
    double expect = (double)nh * p->fraction;
    return expect <= 0 || (double)count >= expect ? 1.0
                                                  : (double)count / expect;
}

static int cmp_prelim(const void *a, const void *b)
{
    const fk_candidate *x = a, *y = b;
    if (x->containment != y->containment)
        return x->containment < y->containment ? 1 : -1;
    if (x->shared != y->shared)
        return x->shared < y->shared ? 1 : -1;
    return (x->parent > y->parent) - (x->parent < y->parent);
}

/* The distinct parent ranks of the sorted scratch list as preliminary
 * candidates (parent = rank, containment = lookup estimate, shared =
 * lookups met) in out->v, best first, at most max_evaluated kept. */
static int preselect(const fk_index *ix, const fk_column *child, size_t n,
                     fk_cand_list *out)
{
    size_t nh = child->kmv.n;
    if (ix->opts.gather_hashes && nh > ix->opts.gather_hashes)
        nh = ix->opts.gather_hashes;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && out->scratch[j] == out->scratch[i]; j++)
            ;
        if (grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v))
            return -1;
        const struct fk_parent_sum *p = &ix->par[out->scratch[i]];
        out->v[out->n++] =
            (fk_candidate){.parent = out->scratch[i],
                           .shared = (uint32_t)(j - i),
                           .containment = lookup_estimate(p, j - i, nh)};
    }
    size_t keep = ix->opts.max_evaluated;
    if (keep && out->n > keep) {
        qsort(out->v, out->n, sizeof *out->v, cmp_prelim);
        out->n = keep;
    }
    return 0;
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
    if (preselect(ix, child, n, out))
        return -1;
    /* The exact comparison of the preselected parents, in place. */
    size_t kept = 0;
    for (size_t i = 0; i < out->n; i++) {
        uint32_t pid = ix->par[out->v[i].parent].col;
        kept += (size_t)evaluate(ix, child, pid, &out->v[kept]);
    }
    out->n = kept;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_cand);
    if (ix->opts.max_candidates && out->n > ix->opts.max_candidates)
        out->n = ix->opts.max_candidates;
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

/* ---- streaming, in locality order -------------------------------------- */

struct child_key {
    uint64_t h0;
    uint32_t col;
};

static int cmp_child_key(const void *a, const void *b)
{
    const struct child_key *x = a, *y = b;
    if (x->h0 != y->h0)
        return x->h0 < y->h0 ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

struct stream {
    const fk_index *ix;
    const struct child_key *order;
    size_t from, to;
    unsigned thread;
    fk_cand_fn fn;
    void *ud;
    int failed;
};

static void *run_stream(void *arg)
{
    struct stream *s = arg;
    fk_cand_list l = {0};
    for (size_t i = s->from; i < s->to; i++) {
        size_t c = s->order[i].col;
        if (fk_index_candidates(s->ix, &s->ix->cols[c], c, &l)) {
            s->failed = 1;
            break;
        }
        s->fn(s->ud, s->thread, c, &l);
    }
    fk_cand_list_free(&l);
    return NULL;
}

/* The child-eligible columns by smallest hash; NULL on allocation
 * failure. */
static struct child_key *locality_order(const fk_index *ix, size_t *n)
{
    struct child_key *v = malloc((ix->ncols + 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < ix->ncols; i++)
        if (fk_column_child_ok(&ix->cols[i]))
            v[(*n)++] = (struct child_key){ix->cols[i].kmv.h[0], (uint32_t)i};
    if (v)
        qsort(v, *n, sizeof *v, cmp_child_key);
    return v;
}

int fk_index_candidates_each(const fk_index *ix, unsigned threads,
                             fk_cand_fn fn, void *ud)
{
    unsigned nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    size_t n;
    struct child_key *order = locality_order(ix, &n);
    if (!order)
        return -1;
    struct stream st[64];
    pthread_t tid[64];
    unsigned started = 0;
    for (unsigned t = 0; t < nt; t++)
        st[t] = (struct stream){ix, order, n * t / nt, n * (t + 1) / nt,
                                t,  fn,    ud,         0};
    for (unsigned t = 1; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, run_stream, &st[t]) != 0)
            break;
        started = t;
    }
    run_stream(&st[0]);
    int failed = st[0].failed;
    for (unsigned t = 1; t <= started; t++) {
        pthread_join(tid[t], NULL);
        failed |= st[t].failed;
    }
    free(order);
    /* Ranges whose thread never started were not streamed. */
    return failed || started + 1 < nt ? -1 : 0;
}
