/*
 * Scale of FK candidate generation (docs/benchmarks.md, section 4): the
 * fk_common candidate index over synthetic column records.
 *
 *   bench_fk_scale [--threads N] [--max-posting N] [--max-per-hash N]
 *                  [--max-candidates N] [--gather-hashes N] [--max-evaluated N]
 *                  [--pass-defaults] [COLUMNS...]
 *
 * --pass-defaults prunes with fk_discover's option defaults (uniqueness
 * 0.95, distinct tolerance 4, range slack 10) instead of the index's.
 *                  (defaults: threads = online CPUs, 10000 100000 1000000)
 *
 * For each size a fresh process generates COLUMNS fk_column records from
 * a fixed seed, then times what fk_discover does before any SQL: building
 * the index (fk_index_build) and querying it for every column
 * (fk_index_candidates_each on N threads, each child's candidates
 * scored as they come, as fk_discover consumes them one child at a time).
 * Memory per column is given three ways: the record (sizeof), the index's
 * own accounting (fk_index_memory), and the VmRSS growth of the process
 * from before the records were allocated to after the candidates were
 * produced (records + index + scratch + allocator overhead).  Each size runs in
 * its own child process so RSS does not carry over, under a wall-clock and an
 * address-space limit (--timeout, --mem-limit; 0 = none, which an
 * AddressSanitizer build needs: it reserves more address space than any
 * sensible limit).
 *
 * The synthetic warehouse, ten columns per table:
 *   10 % key columns: integer surrogate keys 1..n (60 %), integer keys in
 *        a high block base+1..base+n (15 %), text/uuid codes (25 %); n is
 *        log-uniform in 10..2,000,000, 80 % declared primary keys;
 *   45 % children of a key column (popular parents chosen more often),
 *        1 to 50 rows per parent key, up to 30 % NULL; one in ten is a
 *        1:1 extension (unique, so parent-eligible itself);
 *   45 % noise of the same type classes: small integers 0..K (quantities,
 *        codes: they share values with every small surrogate key),
 *        amounts with cents, words from shared vocabularies, timestamps
 *        (unique-ish, so parent-eligible).
 * Samples are 1000 rows like profile_postgres's default; a table of at
 * most 1000 rows is sampled whole.  Values are hashed with a 64-bit mixer
 * instead of the keyed SipHash (the index only compares hashes); an
 * amount with zero cents hashes like the integer, as normalisation makes
 * it.  The true parent of each child is known, so the share of children
 * whose true parent is among their candidates is printed too: that is the
 * recall ceiling of the sketch stage, low for parents far larger than
 * their sample, which fk_discover has to make up for some other way.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fk.h"

#define SAMPLE 1000
#define COLS_PER_TABLE 10
#define SEED 0x5ca1ab1e2024ull

enum kind {
    K_KEY_SEQ,
    K_KEY_HIGH,
    K_KEY_TEXT,
    K_CHILD,
    K_NOISE_INT,
    K_NOISE_DEC,
    K_NOISE_TEXT,
    K_NOISE_TIME,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "int key",   "high int key",  "text key",   "child",
    "noise int", "noise decimal", "noise text", "noise time"};

/* Generator bookkeeping per column (not part of what is measured). */
typedef struct spec {
    uint8_t kind;
    uint8_t one_to_one; /* child: distinct subset of the parent's keys */
    uint32_t parent;    /* child: its key column; else UINT32_MAX */
    int64_t base;       /* keys base+1..base+n */
    int64_t n;          /* keys (key), K (noise int), vocabulary (text) */
    double rows;
    double null_fraction;
} spec;

typedef struct rng {
    uint64_t s;
} rng;

typedef struct result {
    size_t columns, parents, children, pairs;
    size_t truth_total, truth_found, truth_whole, truth_whole_found;
    size_t twin_found, twin_whole_found; /* the parent or an identical key */
    double build_s, query_s;
    size_t index_bytes, rss_bytes;
    size_t by_child[K_COUNT], by_parent[K_COUNT]; /* pairs by spec kind */
    int ok;
} result;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t next(rng *r)
{
    return mix64(r->s += 0x9e3779b97f4a7c15ull);
}

static double unif(rng *r)
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

static int64_t below(rng *r, int64_t n)
{
    return n > 0 ? (int64_t)(next(r) % (uint64_t)n) : 0;
}

static double log_uniform(rng *r, double lo, double hi)
{
    return lo * pow(hi / lo, unif(r));
}

/* Hash of a normalised value: one mixer per value domain, so equal
 * values in one domain collide exactly as their normalised text would. */
static uint64_t h_int(int64_t v)
{
    return mix64((uint64_t)v * 0x9e3779b97f4a7c15ull + 0x1234567ull);
}

static uint64_t h_tag(uint64_t tag, uint64_t a, uint64_t b)
{
    return mix64(mix64(tag * 0xd6e8feb86659fd93ull ^ a) + b);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* VmRSS of this process in bytes, 0 when /proc is not readable. */
static size_t vm_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* ---- the synthetic warehouse ------------------------------------------ */

static void plan_key(spec *s, rng *r)
{
    double u = unif(r);
    s->kind = u < 0.60 ? K_KEY_SEQ : u < 0.75 ? K_KEY_HIGH : K_KEY_TEXT;
    s->n = (int64_t)llround(log_uniform(r, 10, 2e6));
    s->base = s->kind == K_KEY_HIGH ? (1 + below(r, 1000)) * 10000000 : 0;
    s->rows = (double)s->n;
}

static void plan_noise(spec *s, rng *r)
{
    double u = unif(r);
    s->kind = u < 0.30   ? K_NOISE_INT
              : u < 0.55 ? K_NOISE_DEC
              : u < 0.80 ? K_NOISE_TEXT
                         : K_NOISE_TIME;
    s->n = s->kind == K_NOISE_INT    ? (int64_t)llround(log_uniform(r, 2, 1e4))
           : s->kind == K_NOISE_TEXT ? (int64_t)llround(log_uniform(r, 5, 1e5))
                                     : 0;
    s->rows = floor(log_uniform(r, 100, 1e7));
    s->null_fraction = unif(r) < 0.3 ? 0.3 * unif(r) : 0;
}

/* Popular parents are referenced more: the cube of a uniform draw picks
 * early keys (the big dimensions of a star schema) most often. */
static void plan_child(spec *s, const spec *specs, const uint32_t *keys,
                       size_t nkeys, rng *r)
{
    uint32_t p = keys[(size_t)(nkeys * pow(unif(r), 3))];
    s->kind = K_CHILD;
    s->parent = p;
    if (unif(r) < 0.1) {
        s->one_to_one = 1;
        s->rows = fmax(1, floor(specs[p].n * (0.3 + 0.7 * unif(r))));
        return;
    }
    s->rows = fmax(1, floor(specs[p].n * log_uniform(r, 0.5, 50)));
    s->null_fraction = unif(r) < 0.3 ? 0.3 * unif(r) : 0;
}

/* Kinds for n columns: keys first decided, then children pick among
 * them.  NULL on allocation failure. */
static spec *plan(size_t n)
{
    spec *specs = calloc(n, sizeof *specs);
    uint32_t *keys = malloc(n * sizeof *keys);
    size_t nkeys = 0;
    rng r = {SEED};
    if (!specs || !keys) {
        free(specs);
        free(keys);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        specs[i].parent = UINT32_MAX;
        double v = unif(&r);
        if (v < 0.10) {
            plan_key(&specs[i], &r);
            keys[nkeys++] = (uint32_t)i;
        } else if (v < 0.55) {
            specs[i].kind = K_CHILD; /* parent chosen below */
        } else {
            plan_noise(&specs[i], &r);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (specs[i].kind != K_CHILD)
            continue;
        if (nkeys)
            plan_child(&specs[i], specs, keys, nkeys, &r);
        else
            plan_noise(&specs[i], &r);
    }
    free(keys);
    return specs;
}

/* The t-th key (1..n) of key column `key`: its hash, and its number in
 * *num when it has one (returns 1). */
static int key_value(const spec *specs, uint32_t key, int64_t t, uint64_t *h,
                     double *num)
{
    const spec *k = &specs[key];
    if (k->kind == K_KEY_TEXT) {
        *h = h_tag(3, key, (uint64_t)t);
        return 0;
    }
    *h = h_int(k->base + t);
    *num = (double)(k->base + t);
    return 1;
}

/* Draw j of m of column i's sample. */
static int draw(const spec *specs, uint32_t i, size_t j, size_t m, rng *r,
                uint64_t *h, double *num)
{
    const spec *s = &specs[i];
    switch (s->kind) {
    case K_KEY_SEQ:
    case K_KEY_HIGH:
    case K_KEY_TEXT: /* a distinct, evenly spread subset of the keys */
        return key_value(specs, i, 1 + (int64_t)((j + unif(r)) * s->n / m), h,
                         num);
    case K_CHILD: {
        int64_t n = specs[s->parent].n;
        int64_t t = s->one_to_one ? 1 + (int64_t)((j + unif(r)) * n / m)
                                  : 1 + below(r, n);
        return key_value(specs, s->parent, t, h, num);
    }
    case K_NOISE_INT: {
        int64_t v = below(r, s->n + 1);
        *h = h_int(v);
        *num = (double)v;
        return 1;
    }
    case K_NOISE_DEC: {
        int64_t cents = below(r, 10000000);
        *h = cents % 100 == 0 ? h_int(cents / 100) : h_tag(2, cents, 0);
        *num = cents / 100.0;
        return 1;
    }
    case K_NOISE_TEXT: {
        double u = unif(r);
        *h = h_tag(4, (uint64_t)(s->n * u * u), 0);
        return 0;
    }
    default: {
        int64_t t = 1420000000 + below(r, 300000000);
        *h = h_tag(5, (uint64_t)t, 0);
        *num = (double)t;
        return 1;
    }
    }
}

/* Distinct counting of one sample's hashes without clearing a table per
 * column: a slot is live when its stamp is the current column's. */
#define SET_SLOTS 4096
typedef struct hset {
    uint64_t h[SET_SLOTS];
    uint32_t stamp[SET_SLOTS];
    uint32_t count[SET_SLOTS];
    uint32_t now;
    size_t distinct, once; /* of the current column */
} hset;

static void hset_add(hset *s, uint64_t h)
{
    for (size_t i = h & (SET_SLOTS - 1);; i = (i + 1) & (SET_SLOTS - 1)) {
        if (s->stamp[i] != s->now) {
            s->stamp[i] = s->now;
            s->h[i] = h;
            s->count[i] = 1;
            s->distinct++;
            s->once++;
            return;
        }
        if (s->h[i] == h) {
            s->once -= s->count[i]++ == 1;
            return;
        }
    }
}

static fk_class class_of(const spec *specs, uint32_t i)
{
    const spec *s = &specs[i];
    switch (s->kind) {
    case K_KEY_SEQ:
    case K_KEY_HIGH:
    case K_NOISE_INT:
        return FK_CLASS_INTEGER;
    case K_KEY_TEXT:
        return i % 2 ? FK_CLASS_UUID : FK_CLASS_TEXT;
    case K_CHILD:
        return class_of(specs, s->parent);
    case K_NOISE_DEC:
        return FK_CLASS_DECIMAL;
    case K_NOISE_TEXT:
        return FK_CLASS_TEXT;
    default:
        return FK_CLASS_TEMPORAL;
    }
}

/* Distinct values of the whole column from the sample, the way the
 * fingerprint pass estimates them (Duj1: n d / (n - f1 + f1 n / N), with
 * f1 the values seen once); declared keys and whole samples are exact.
 * A high-cardinality child whose sample holds no repeat is estimated as
 * unique, as it would be in the pass. */
static double distinct_estimate(const fk_column *c, size_t f1)
{
    double n = c->sample_non_null, d = c->sample_distinct;
    double live = c->row_count * (1 - c->null_fraction);
    if (n <= 0)
        return 0;
    if ((c->flags & FK_COL_WHOLE) || live <= n)
        return d;
    if (c->flags & FK_COL_PK)
        return live;
    double denom = n - f1 + f1 * n / live;
    double est = denom > 0 ? n * d / denom : live;
    return est < d ? d : est > live ? live : est;
}

static void fill_sample(fk_column *c, const spec *specs, uint32_t i, size_t nn,
                        rng *r, hset *set)
{
    double mn = INFINITY, mx = -INFINITY;
    int ranged = 0;
    set->now++;
    set->distinct = set->once = 0;
    for (size_t j = 0; j < nn; j++) {
        uint64_t h;
        double v = 0;
        if (draw(specs, i, j, nn, r, &h, &v)) {
            ranged = 1;
            mn = fmin(mn, v);
            mx = fmax(mx, v);
        }
        fk_kmv_add(&c->kmv, h);
        hset_add(set, h);
    }
    c->sample_distinct = (uint32_t)set->distinct;
    if (ranged) {
        c->min = mn;
        c->max = mx;
        c->flags |= FK_COL_HAS_RANGE;
    }
}

static void fill_column(fk_column *c, const spec *specs, uint32_t i, rng *r,
                        hset *set)
{
    const spec *s = &specs[i];
    size_t sample = s->rows < SAMPLE ? (size_t)s->rows : SAMPLE;
    size_t nn = (size_t)llround(sample * (1 - s->null_fraction));
    memset(c, 0, sizeof *c);
    fk_kmv_init(&c->kmv, FK_KMV_K);
    c->cls = (uint8_t)class_of(specs, i);
    c->table_id = i / COLS_PER_TABLE;
    c->row_count = s->rows;
    c->sample_rows = (uint32_t)sample;
    c->sample_non_null = (uint32_t)nn;
    c->null_fraction = sample ? 1.0 - (double)nn / sample : 0;
    if (s->rows <= SAMPLE)
        c->flags |= FK_COL_WHOLE;
    if (s->kind <= K_KEY_TEXT && unif(r) < 0.8)
        c->flags |= FK_COL_PK;
    fill_sample(c, specs, i, nn, r, set);
    c->uniqueness = nn ? (double)c->sample_distinct / nn : 0;
    c->distinct_estimate = distinct_estimate(c, set->once);
}

/* ---- one size ----------------------------------------------------------- */

/* An integer key column with the same keys as the true parent: no value
 * evidence can tell the two apart. */
static int twin(const spec *specs, uint32_t q, uint32_t truth)
{
    const spec *a = &specs[q], *b = &specs[truth];
    return q == truth ||
           (a->kind == b->kind && a->kind != K_KEY_TEXT && a->kind != K_CHILD &&
            a->base == b->base && a->n == b->n);
}

/* What the candidates of all children add up to, one per thread. */
typedef struct scoring {
    const spec *specs;
    const fk_column *cols;
    result per_thread[64];
} scoring;

/* Called for each child with its candidates (fk_index_candidates_each):
 * counts pairs, and whether the true parent (or its twin) is among them. */
static void score_child(void *ud, unsigned thread, size_t i,
                        const fk_cand_list *l)
{
    scoring *sc = ud;
    const spec *specs = sc->specs;
    result *res = &sc->per_thread[thread];
    int found = 0, found_twin = 0;
    res->pairs += l->n;
    for (size_t j = 0; j < l->n; j++) {
        uint32_t q = l->v[j].parent;
        found |= q == specs[i].parent;
        found_twin |=
            specs[i].kind == K_CHILD && twin(specs, q, specs[i].parent);
        res->by_child[specs[i].kind]++;
        res->by_parent[specs[q].kind]++;
    }
    if (specs[i].kind != K_CHILD)
        return;
    int whole = (sc->cols[specs[i].parent].flags & FK_COL_WHOLE) != 0;
    res->truth_total++;
    res->truth_found += (size_t)found;
    res->truth_whole += (size_t)whole;
    res->truth_whole_found += (size_t)(found && whole);
    res->twin_found += (size_t)found_twin;
    res->twin_whole_found += (size_t)(found_twin && whole);
}

static void add_scores(result *res, const result *t)
{
    res->pairs += t->pairs;
    res->truth_total += t->truth_total;
    res->truth_found += t->truth_found;
    res->truth_whole += t->truth_whole;
    res->truth_whole_found += t->truth_whole_found;
    res->twin_found += t->twin_found;
    res->twin_whole_found += t->twin_whole_found;
    for (int k = 0; k < K_COUNT; k++) {
        res->by_child[k] += t->by_child[k];
        res->by_parent[k] += t->by_parent[k];
    }
}

static fk_column *generate(const spec *specs, size_t n)
{
    fk_column *cols = malloc(n * sizeof *cols);
    hset *set = calloc(1, sizeof *set);
    rng r = {SEED ^ 0xc01dull};
    if (cols && set)
        for (size_t i = 0; i < n; i++)
            fill_column(&cols[i], specs, (uint32_t)i, &r, set);
    free(set);
    if (!set) {
        free(cols);
        return NULL;
    }
    return cols;
}

static void count_kinds(const spec *specs, const fk_column *cols, size_t n,
                        const fk_index_opts *o, result *res)
{
    for (size_t i = 0; i < n; i++) {
        res->parents += (size_t)fk_column_parent_ok(&cols[i], o);
        res->children += (size_t)(specs[i].kind == K_CHILD);
    }
}

/* Generates n columns and measures candidate generation over them. */
static result run_size(size_t n, unsigned threads, const fk_index_opts *o)
{
    result res = {.columns = n};
    spec *specs = plan(n);
    size_t rss0 = vm_rss();
    fk_column *cols = specs ? generate(specs, n) : NULL;
    if (!cols) {
        fprintf(stderr,
                "bench_fk_scale: out of memory generating %zu columns\n", n);
        free(specs);
        return res;
    }
    double t0 = now();
    fk_index *ix = fk_index_build(cols, n, o);
    double t1 = now();
    scoring *sc = calloc(1, sizeof *sc);
    if (sc) {
        sc->specs = specs;
        sc->cols = cols;
    }
    if (!ix || !sc ||
        fk_index_candidates_each(ix, threads, score_child, sc) != 0) {
        fprintf(stderr, "bench_fk_scale: %s failed for %zu columns\n",
                ix ? "fk_index_candidates_each" : "fk_index_build", n);
    } else {
        res.query_s = now() - t1;
        res.build_s = t1 - t0;
        res.rss_bytes = vm_rss() - rss0;
        res.index_bytes = fk_index_memory(ix);
        count_kinds(specs, cols, n, o, &res);
        for (unsigned t = 0; t < 64; t++)
            add_scores(&res, &sc->per_thread[t]);
        res.ok = 1;
    }
    free(sc);
    fk_index_free(ix);
    free(cols);
    free(specs);
    return res;
}

/* Limits of one size's run: a size that needs more is reported, not
 * left to the OOM killer or to run for hours. */
typedef struct limits {
    unsigned threads;
    unsigned timeout_s; /* wall clock, SIGALRM */
    size_t mem_bytes;   /* RLIMIT_AS */
} limits;

static void child_run(int fd, size_t n, const limits *l, const fk_index_opts *o)
{
    struct rlimit rl = {l->mem_bytes, l->mem_bytes};
    if (l->mem_bytes && setrlimit(RLIMIT_AS, &rl))
        fprintf(stderr, "bench_fk_scale: setrlimit: %s\n", strerror(errno));
    alarm(l->timeout_s);
    result r = run_size(n, l->threads, o);
    ssize_t w = write(fd, &r, sizeof r);
    _exit(w == (ssize_t)sizeof r ? 0 : 1);
}

/* run_size in a child process, so every size starts from a fresh heap;
 * the result comes back through a pipe.  *why says how it failed. */
static result run_forked(size_t n, const limits *l, const fk_index_opts *o,
                         char *why, size_t whylen)
{
    result res = {.columns = n};
    int fd[2], status = 0;
    snprintf(why, whylen, "failed (see above)");
    if (pipe(fd)) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return res;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        child_run(fd[1], n, l, o);
    }
    close(fd[1]);
    if (pid < 0 || read(fd[0], &res, sizeof res) != (ssize_t)sizeof res)
        res.ok = 0;
    close(fd[0]);
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            snprintf(why, whylen, "not done within %u s (--timeout)",
                     l->timeout_s);
        else
            snprintf(
                why, whylen, "killed by signal %d (%s)%s", sig, strsignal(sig),
                l->mem_bytes ? ", likely out of memory under --mem-limit" : "");
    } else if (!res.ok && l->mem_bytes) {
        snprintf(why, whylen,
                 "failed: allocation refused under --mem-limit %zu MiB",
                 l->mem_bytes >> 20);
    }
    return res;
}

/* ---- output ------------------------------------------------------------- */

static double pct(size_t a, size_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0;
}

static void print_header(const limits *l, const fk_index_opts *o)
{
    printf("record: sizeof(fk_column) = %zu bytes; index options: "
           "min_uniqueness %.2f, distinct_tolerance %.2f, range_slack %.2f, "
           "min_shared %u, max_posting %u, max_per_hash %u, max_candidates "
           "%u, gather_hashes %u, max_evaluated %u; %u threads, limits %u s "
           "and %zu MiB per size\n",
           sizeof(fk_column), o->min_uniqueness, o->distinct_tolerance,
           o->range_slack, o->min_shared, o->max_posting, o->max_per_hash,
           o->max_candidates, o->gather_hashes, o->max_evaluated, l->threads,
           l->timeout_s, l->mem_bytes >> 20);
    printf("%9s %8s %7s %7s %7s %7s %10s %8s %9s %10s %9s %7s %7s %7s %7s\n",
           "columns", "parents", "build s", "query s", "total s", "us/col",
           "pairs", "pairs/ch", "index B/c", "rec+ix B/c", "RSS B/col",
           "truth%", "whole%", "twin%", "twinW%");
}

static void print_row(const result *r)
{
    double total = r->build_s + r->query_s;
    printf("%9zu %8zu %7.2f %7.2f %7.2f %7.2f %10zu %8.1f %9.0f %10.0f %9.0f "
           "%6.1f%% %6.1f%% %6.1f%% %6.1f%%\n",
           r->columns, r->parents, r->build_s, r->query_s, total,
           1e6 * total / r->columns, r->pairs,
           r->children ? (double)r->pairs / r->children : 0,
           (double)r->index_bytes / r->columns,
           sizeof(fk_column) + (double)r->index_bytes / r->columns,
           (double)r->rss_bytes / r->columns,
           pct(r->truth_found, r->truth_total),
           pct(r->truth_whole_found, r->truth_whole),
           pct(r->twin_found, r->truth_total),
           pct(r->twin_whole_found, r->truth_whole));
}

/* Time per column of each size relative to the first: 1.0 is linear. */
static void print_growth(const result *rs, size_t n)
{
    if (n < 2 || !rs[0].ok || rs[0].build_s + rs[0].query_s <= 0)
        return;
    double base = (rs[0].build_s + rs[0].query_s) / rs[0].columns;
    printf("growth (time per column / time per column at %zu):", rs[0].columns);
    for (size_t i = 1; i < n; i++)
        if (rs[i].ok)
            printf(" %zu: %.2f", rs[i].columns,
                   (rs[i].build_s + rs[i].query_s) / rs[i].columns / base);
    printf("\n");
}

/* MemTotal / 2: a size that needs more fails instead of swapping. */
static size_t default_mem_limit(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 512;
}

/* zero_ok: 0 means "no limit" (--timeout, --mem-limit). */
static int parse_num(const char *what, const char *arg, int zero_ok,
                     unsigned long *v)
{
    char *end;
    errno = 0;
    *v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || (*v == 0 && !zero_ok) ||
        *v > UINT32_MAX) {
        fprintf(stderr, "bench_fk_scale: %s: expected a %s number, got '%s'\n",
                what, zero_ok ? "non-negative" : "positive", arg);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, limits *l, fk_index_opts *o,
                      size_t *sizes, size_t *nsizes)
{
    for (int i = 1; i < argc; i++) {
        unsigned long v;
        if (!strcmp(argv[i], "--pass-defaults")) {
            /* fk_discover's option defaults (plugin/fk_discover) */
            o->min_uniqueness = 0.95;
            o->distinct_tolerance = 4;
            o->range_slack = 10;
            continue;
        }
        int opt = argv[i][0] == '-';
        const char *arg = opt ? (i + 1 < argc ? argv[i + 1] : "") : argv[i];
        int zero_ok = !strcmp(argv[i], "--timeout") ||
                      !strcmp(argv[i], "--mem-limit") ||
                      !strcmp(argv[i], "--max-per-hash") ||
                      !strcmp(argv[i], "--max-candidates") ||
                      !strcmp(argv[i], "--gather-hashes") ||
                      !strcmp(argv[i], "--max-evaluated");
        if (parse_num(opt ? argv[i] : "COLUMNS", arg, zero_ok, &v))
            return -1;
        if (!strcmp(argv[i], "--threads"))
            l->threads = (unsigned)v;
        else if (!strcmp(argv[i], "--max-posting"))
            o->max_posting = (unsigned)v;
        else if (!strcmp(argv[i], "--max-per-hash"))
            o->max_per_hash = (unsigned)v;
        else if (!strcmp(argv[i], "--max-candidates"))
            o->max_candidates = (unsigned)v;
        else if (!strcmp(argv[i], "--gather-hashes"))
            o->gather_hashes = (unsigned)v;
        else if (!strcmp(argv[i], "--max-evaluated"))
            o->max_evaluated = (unsigned)v;
        else if (!strcmp(argv[i], "--timeout"))
            l->timeout_s = (unsigned)v;
        else if (!strcmp(argv[i], "--mem-limit"))
            l->mem_bytes = (size_t)v << 20;
        else if (opt) {
            fprintf(stderr, "bench_fk_scale: unknown option %s\n", argv[i]);
            return -1;
        } else if (*nsizes < 16)
            sizes[(*nsizes)++] = v;
        i += opt;
    }
    return 0;
}

static void print_breakdown(const result *r)
{
    printf("  pairs at %zu columns by child kind:", r->columns);
    for (int k = 0; k < K_COUNT; k++)
        if (r->by_child[k])
            printf(" %s %.1f%%", kind_names[k], pct(r->by_child[k], r->pairs));
    printf("; by parent kind:");
    for (int k = 0; k < K_COUNT; k++)
        if (r->by_parent[k])
            printf(" %s %.1f%%", kind_names[k], pct(r->by_parent[k], r->pairs));
    printf("\n");
}

int main(int argc, char **argv)
{
    size_t sizes[16], nsizes = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    limits l = {cpus > 0 ? (unsigned)cpus : 1, 900, default_mem_limit()};
    fk_index_opts o;
    fk_index_opts_default(&o);
    if (parse_args(argc, argv, &l, &o, sizes, &nsizes))
        return 2;
    if (nsizes == 0) {
        sizes[0] = 10000, sizes[1] = 100000, sizes[2] = 1000000;
        nsizes = 3;
    }
    result rs[16];
    int failed = 0;
    char why[160];
    print_header(&l, &o);
    for (size_t i = 0; i < nsizes; i++) {
        rs[i] = run_forked(sizes[i], &l, &o, why, sizeof why);
        if (rs[i].ok)
            print_row(&rs[i]);
        else
            printf("%9zu %s\n", sizes[i], why), failed = 1;
        fflush(stdout);
    }
    print_growth(rs, nsizes);
    for (size_t i = 0; i < nsizes; i++)
        if (rs[i].ok)
            print_breakdown(&rs[i]);
    printf("truth%%: children whose true parent is among their candidates; "
           "whole%%: the same for parents sampled whole (<= %d rows); "
           "twin%%, twinW%%: the same counting an integer key with exactly "
           "the parent's keys (which no value evidence can tell apart) as "
           "found\n",
           SAMPLE);
    return failed;
}
