/*
 * From candidates to chosen edges.
 *
 * The fk_common index gives, for one child column, the unique-ish parent
 * columns whose sketches share hashes with it, pruned by type family,
 * distinct counts and value ranges.  Small integer keys fit many parents
 * (1..40 lies inside every key with 40 rows or more), so containment
 * alone cannot choose.  The parents are ranked by, in order:
 *   1. name evidence (fkd_name_score: 1.0, 0.8, 0.6 or 0);
 *   2. a declared key (primary key or unique) over a column that is only
 *      unique on the sample;
 *   3. the parent in the child's schema;
 *   4. the containment estimate, in steps of 0.05 (sketch noise);
 *   5. coverage, the share of the parent's keys the child uses, in steps
 *      of 0.05 (a child of branches uses most branch ids, not 1 % of
 *      the transaction ids that also contain them).
 * The best rank wins; parents of an equal rank are all kept.  Without
 * any name evidence a child is kept only when exactly one parent contains
 * it (a `quantity` of 1..5 fits every key and means none), only for the
 * classes keys are made of (integer, text, uuid: a price copied from the
 * products table is contained in it without referring to it), only into
 * a declared key (an invoice's billing address copied from the customer
 * is contained in the customers' addresses, unique on a small table), and
 * never for a column that is itself its table's primary key.  The index cannot
 * see every such parent: a bottom-k sketch of a large key holds few of a small
 * child's values.  So a dense integer key (about max - min + 1 distinct
 * values) whose range covers the child's counts as containing it too.
 */
#include "fk_discover.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fkd_edges_push(struct fkd_edges *e, const struct fkd_edge *x)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        struct fkd_edge *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = *x;
    return 0;
}

void fkd_edges_free(struct fkd_edges *e)
{
    free(e->v);
    *e = (struct fkd_edges){0};
}

static double bucket(double x)
{
    return floor(x * 20.0 + 1e-9);
}

/* >0 when a ranks above b; 0 when their evidence is equal. */
static int rank_cmp(const struct fkd_edge *a, const struct fkd_edge *b)
{
    double d[5] = {a->name_score - b->name_score,
                   (double)a->declared_key - (double)b->declared_key,
                   (double)a->same_schema - (double)b->same_schema,
                   bucket(a->cand.containment) - bucket(b->cand.containment),
                   bucket(a->coverage) - bucket(b->coverage)};
    for (int i = 0; i < 5; i++) {
        if (d[i] > 1e-9)
            return 1;
        if (d[i] < -1e-9)
            return -1;
    }
    return 0;
}

static double coverage(const fk_column *c, const fk_column *p)
{
    double pd = p->distinct_estimate > 0 ? p->distinct_estimate : 1.0;
    double cov = c->distinct_estimate / pd;
    return cov > 1.0 ? 1.0 : (cov < 0 ? 0 : cov);
}

/* The length of an FQN's "service.database" as written (a quoted part
 * may hold dots). */
static size_t db_prefix(const char *fqn)
{
    int dots = 0;
    bool quoted = false;
    size_t i = 0;
    for (; fqn[i]; i++) {
        if (fqn[i] == '"')
            quoted = !quoted; /* a doubled quote toggles twice */
        else if (fqn[i] == '.' && !quoted && ++dots == 2)
            break;
    }
    return i;
}

/* One schema of one source: by connection when both tables name one
 * (Postgres), else by the FQN's service and database (Trino). */
static bool same_schema(const struct fkd_table *a, const struct fkd_table *b)
{
    if (strcmp(a->schema, b->schema) != 0)
        return false;
    if (a->connection && b->connection)
        return strcmp(a->connection, b->connection) == 0;
    size_t n = db_prefix(a->fqn);
    return n == db_prefix(b->fqn) && strncmp(a->fqn, b->fqn, n) == 0;
}

/* Scores one candidate; false when it is out of the running. */
static bool score(const struct fkd_model *m, size_t child,
                  const fk_candidate *cand, const struct fkd_opts *o,
                  struct fkd_edge *e)
{
    const fk_column *c = &m->cols[child], *p = &m->cols[cand->parent];
    const struct fkd_table *ct = &m->tables[c->table_id];
    const struct fkd_table *pt = &m->tables[p->table_id];
    bool declared_key = p->flags & (FK_COL_PK | FK_COL_UNIQUE);
    if (!declared_key && p->uniqueness < o->min_parent_uniqueness)
        return false;
    *e = (struct fkd_edge){.child = (uint32_t)child,
                           .parent = cand->parent,
                           .cand = *cand,
                           .checked = -1,
                           .violations = -1};
    e->name_score = fkd_name_score(m->col_names[child], pt->name,
                                   m->col_names[cand->parent],
                                   c->table_id == p->table_id, &e->name_why);
    e->same_schema = same_schema(ct, pt);
    e->coverage = coverage(c, p);
    e->declared_key = declared_key;
    /* a primary key pointing elsewhere (1:1 extension tables) needs its
     * name to say so, a declared key of another table as parent: integer
     * keys 1..n are all contained in each other */
    if ((c->flags & FK_COL_PK) &&
        (e->name_score < 0.8 || !declared_key || c->table_id == p->table_id))
        return false;
    if (e->name_score <= 0 &&
        (!declared_key || (c->cls != FK_CLASS_INTEGER &&
                           c->cls != FK_CLASS_TEXT && c->cls != FK_CLASS_UUID)))
        return false;
    double need =
        e->name_score > 0 ? o->min_containment : o->min_value_containment;
    /* fewer than ~3 shared hashes expected even if fully contained, or a
     * parent of unknown size whose sample is a prefix: the sketches cannot
     * tell, a name that points here can (and the anti-join decides) */
    bool unknown_size = p->row_count < 0 && !(p->flags & FK_COL_WHOLE);
    if (e->name_score > 0 && (cand->expected_shared < 3.0 || unknown_size))
        need = 0;
    return cand->containment >= need;
}

/* Parent-eligible integer keys holding (nearly) every integer of their
 * range, by max descending. */
struct dense {
    uint32_t *v;
    size_t n;
};

static int by_max_desc(const void *a, const void *b, void *cols)
{
    const fk_column *c = cols;
    double x = c[*(const uint32_t *)a].max;
    double y = c[*(const uint32_t *)b].max;
    return (x < y) - (x > y);
}

static bool is_dense(const fk_column *c, const struct fkd_opts *o)
{
    if (c->cls != FK_CLASS_INTEGER || !(c->flags & FK_COL_HAS_RANGE))
        return false;
    if (!(c->flags & (FK_COL_PK | FK_COL_UNIQUE)) &&
        c->uniqueness < o->min_parent_uniqueness)
        return false;
    double width = c->max - c->min + 1.0;
    return width >= 1.0 && c->distinct_estimate >= 0.9 * width;
}

static int dense_build(const struct fkd_model *m, const struct fkd_opts *o,
                       struct dense *d)
{
    d->n = 0;
    d->v = malloc((m->ncols + 1) * sizeof *d->v);
    if (!d->v)
        return -1;
    for (size_t i = 0; i < m->ncols; i++)
        if (is_dense(&m->cols[i], o))
            d->v[d->n++] = (uint32_t)i;
    qsort_r(d->v, d->n, sizeof *d->v, by_max_desc, m->cols);
    return 0;
}

/* Another dense key (not `parent`, not the child) covering the child? */
static bool dense_rival(const struct fkd_model *m, const struct dense *d,
                        size_t child, size_t parent)
{
    const fk_column *c = &m->cols[child];
    if (!d || c->cls != FK_CLASS_INTEGER || !(c->flags & FK_COL_HAS_RANGE))
        return false;
    for (size_t i = 0; i < d->n; i++) {
        const fk_column *p = &m->cols[d->v[i]];
        if (p->max < c->max)
            break;
        if (d->v[i] != child && d->v[i] != parent && p->min <= c->min)
            return true;
    }
    return false;
}

/* Keeps the best-ranked scored candidates of one child in out. */
static int keep_best(const struct fkd_model *m, const struct dense *d,
                     struct fkd_edge *s, size_t n, struct fkd_edges *out)
{
    size_t best = 0, value_only = 0;
    for (size_t i = 0; i < n; i++) {
        if (rank_cmp(&s[i], &s[best]) > 0)
            best = i;
        value_only += s[i].name_score <= 0;
    }
    if (n == 0)
        return 0;
    if (s[best].name_score <= 0 &&
        (value_only != 1 || dense_rival(m, d, s[best].child, s[best].parent)))
        return 0; /* values alone fit several parents */
    size_t tied = 0;
    for (size_t i = 0; i < n; i++)
        tied += rank_cmp(&s[i], &s[best]) == 0;
    for (size_t i = 0; i < n; i++) {
        if (rank_cmp(&s[i], &s[best]) != 0)
            continue;
        s[i].tied = tied;
        s[i].value_only = s[i].name_score <= 0;
        if (fkd_edges_push(out, &s[i]) != 0)
            return -1;
    }
    return 0;
}

/* Working set of one fkd_choose() call. */
struct chooser {
    const struct fkd_model *m;
    const struct fkd_opts *o;
    fk_index_opts io;
    struct dense d;
    struct tkey *keys; /* table name keys, sorted */
    size_t nkeys;
    struct fkd_edge *s; /* scored candidates of the current child */
    size_t n, cap;
};

struct tkey {
    char key[FKD_KEY_LEN];
    uint32_t table;
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct tkey *)a)->key, ((const struct tkey *)b)->key);
}

static int keys_build(struct chooser *ch)
{
    const struct fkd_model *m = ch->m;
    ch->keys = malloc((m->ntables + 1) * sizeof *ch->keys);
    if (!ch->keys)
        return -1;
    for (size_t t = 0; t < m->ntables; t++) {
        fkd_table_key(m->tables[t].name, ch->keys[t].key, FKD_KEY_LEN);
        ch->keys[t].table = (uint32_t)t;
    }
    ch->nkeys = m->ntables;
    qsort(ch->keys, ch->nkeys, sizeof *ch->keys, by_key);
    return 0;
}

/* Scores one candidate into the working set. */
static int consider(struct chooser *ch, size_t child, const fk_candidate *c)
{
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 16;
        struct fkd_edge *v = realloc(ch->s, cap * sizeof *v);
        if (!v)
            return -1;
        ch->s = v;
        ch->cap = cap;
    }
    ch->n += score(ch->m, child, c, ch->o, &ch->s[ch->n]);
    return 0;
}

static bool seen(const struct chooser *ch, const fk_cand_list *l, uint32_t p)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].parent == p)
            return true;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->s[i].parent == p)
            return true;
    return false;
}

/* Could a fully read parent hold the child's values at all? */
static bool fits(const fk_column *c, const fk_column *p)
{
    if (fk_class_family((fk_class)c->cls) != fk_class_family((fk_class)p->cls))
        return false;
    if (!(p->flags & FK_COL_WHOLE) || !(c->flags & FK_COL_HAS_RANGE) ||
        !(p->flags & FK_COL_HAS_RANGE))
        return true;
    return c->min >= p->min && c->max <= p->max;
}

/* The keys of table t as candidates of `child`, sketch evidence or not:
 * a bottom-k sketch of a large key rarely holds a small child's values,
 * so a parent its name points at is compared even without shared hashes
 * (the anti-join decides). */
static int table_candidates(struct chooser *ch, size_t child, size_t t,
                            const fk_cand_list *l)
{
    const struct fkd_model *m = ch->m;
    const fk_column *c = &m->cols[child];
    const struct fkd_table *tb = &m->tables[t];
    for (size_t j = tb->first_col; j < tb->first_col + tb->ncols; j++) {
        const fk_column *p = &m->cols[j];
        if (j == child || !fk_column_parent_ok(p, &ch->io) || !fits(c, p) ||
            seen(ch, l, (uint32_t)j))
            continue;
        fk_candidate k = {.parent = (uint32_t)j,
                          .shared = (uint32_t)fk_kmv_shared(&c->kmv, &p->kmv)};
        size_t support = 0;
        k.raw_containment = fk_kmv_containment(&c->kmv, &p->kmv, NULL);
        k.containment = fk_kmv_containment_sampled(
            &c->kmv, &p->kmv, fk_column_sample_fraction(p), &support,
            &k.expected_shared);
        k.support = (uint32_t)support;
        if (consider(ch, child, &k) != 0)
            return -1;
    }
    return 0;
}

/* Parents the child's name points at, looked up by table name key. */
static int name_candidates(struct chooser *ch, size_t child,
                           const fk_cand_list *l)
{
    char keys[48][FKD_KEY_LEN];
    bool self = false;
    size_t nk = fkd_name_keys(ch->m->col_names[child], keys, 48, &self);
    for (size_t k = 0; k < nk; k++) {
        struct tkey probe;
        snprintf(probe.key, sizeof probe.key, "%s", keys[k]);
        size_t lo = 0, hi = ch->nkeys;
        while (lo < hi) { /* first entry >= key */
            size_t mid = lo + (hi - lo) / 2;
            if (by_key(&ch->keys[mid], &probe) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < ch->nkeys && by_key(&ch->keys[lo], &probe) == 0; lo++)
            if (table_candidates(ch, child, ch->keys[lo].table, l) != 0)
                return -1;
    }
    if (self)
        return table_candidates(ch, child, ch->m->cols[child].table_id, l);
    return 0;
}

static int choose_one(struct chooser *ch, const fk_index *ix, size_t i,
                      fk_cand_list *l, struct fkd_edges *out, size_t *ncand)
{
    if (fk_index_candidates(ix, &ch->m->cols[i], i, l) != 0)
        return -1;
    ch->n = 0;
    for (size_t j = 0; j < l->n; j++)
        if (consider(ch, i, &l->v[j]) != 0)
            return -1;
    size_t before = ch->n;
    if (name_candidates(ch, i, l) != 0)
        return -1;
    *ncand += l->n + (ch->n - before);
    return keep_best(ch->m, &ch->d, ch->s, ch->n, out);
}

/* Candidates of every child column; see fk_discover.h. */
int fkd_choose(const struct fkd_model *m, const fk_index *ix,
               const struct fkd_opts *o, struct fkd_edges *out,
               size_t *n_candidates)
{
    struct chooser ch = {.m = m, .o = o};
    fk_cand_list l = {0};
    fk_index_opts_default(&ch.io);
    ch.io.min_uniqueness = o->min_parent_uniqueness;
    int rc = dense_build(m, o, &ch.d) || keys_build(&ch) ? -1 : 0;
    *n_candidates = 0;
    for (size_t i = 0; i < m->ncols && rc == 0; i++) {
        if (!fk_column_child_ok(&m->cols[i]) || fkd_model_declared_child(m, i))
            continue;
        rc = choose_one(&ch, ix, i, &l, out, n_candidates);
    }
    free(ch.d.v);
    free(ch.keys);
    free(ch.s);
    fk_cand_list_free(&l);
    return rc;
}
