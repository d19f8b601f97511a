/*
 * Recognizer throughput: how many cell values per second one core pushes
 * through pii_classify_value(), the per-value work of the pii_tag pass.
 *
 *   bench_pii_throughput [VALUES [THREADS]]   (defaults 2000000 and 1)
 *
 * The values are short and mixed the way a sampled table is: mostly
 * ordinary cells (integers, amounts, words, dates, UUIDs, names) with
 * e-mails, phones, IBANs, cards and IPs among them.  They are generated
 * up front from a fixed seed, so only classification is timed.  With
 * THREADS > 1 every thread classifies its own share with its own scratch
 * (as the pass does on the worker's pool) and the aggregate rate is
 * printed too.  Run by scripts/bench-pii.sh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pii.h"

#define VALUE_MAX 48

typedef struct corpus {
    char *text; /* VALUE_MAX bytes per value, NUL-terminated */
    size_t *len;
    size_t n;
} corpus;

typedef struct worker {
    const pii_recognizers *rec;
    const corpus *c;
    size_t from, to;
    unsigned long validated[PII_ENTITY_COUNT];
    double secs;
    int failed;
} worker;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic and the same on every libc. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void digits(char *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (char)('0' + pick(10));
    out[n] = '\0';
}

/* Luhn check digit for a body of digits, so card values validate. */
static char luhn_digit(const char *body, int n)
{
    int sum = 0;
    for (int i = n - 1, k = 0; i >= 0; i--, k++) {
        int d = body[i] - '0';
        if (k % 2 == 0 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

static void make_card(char *out)
{
    out[0] = '4';
    digits(out + 1, 14);
    out[15] = luhn_digit(out, 15);
    out[16] = '\0';
}

/* A German IBAN with correct mod-97 check digits. */
static void make_iban(char *out)
{
    char bban[19], num[32];
    digits(bban, 18);
    snprintf(num, sizeof num, "%s131400", bban); /* "DE" = 13 14, then 00 */
    unsigned rem = 0;
    for (const char *p = num; *p; p++)
        rem = (rem * 10 + (unsigned)(*p - '0')) % 97;
    snprintf(out, VALUE_MAX, "DE%02u%s", 98 - rem, bban);
}

static const char *const WORDS[] = {
    "red",     "delivered", "Paris",  "Smith", "active", "María",
    "pending", "Widget 42", "Müller", "true",  "n/a",    "Berlin"};

/* One value of the mix; about 30 % look like PII. */
static void make_value(char *out)
{
    char d[24];
    switch (pick(20)) {
    case 0:
    case 1:
        snprintf(out, VALUE_MAX, "user%u.name@example.org", pick(100000));
        break;
    case 2:
        digits(d, 8);
        snprintf(out, VALUE_MAX, "+33 6 %.2s %.2s %.2s %.2s", d, d + 2, d + 4,
                 d + 6);
        break;
    case 3:
        make_iban(out);
        break;
    case 4:
        make_card(out);
        break;
    case 5:
        snprintf(out, VALUE_MAX, "%u.%u.%u.%u", pick(224), pick(256), pick(256),
                 pick(255) + 1);
        break;
    case 6:
        snprintf(out, VALUE_MAX, "%04u-%02u-%02u", 1940 + pick(80),
                 1 + pick(12), 1 + pick(28));
        break;
    case 7:
        snprintf(out, VALUE_MAX, "%08x-%04x-4%03x-a%03x-%012llx",
                 (unsigned)rnd(), pick(65536), pick(4096), pick(4096),
                 (unsigned long long)(rnd() & 0xffffffffffffull));
        break;
    case 8:
    case 9:
        snprintf(out, VALUE_MAX, "%u.%02u", pick(5000), pick(100));
        break;
    case 10:
    case 11:
    case 12:
    case 13:
        snprintf(out, VALUE_MAX, "%s", WORDS[pick(12)]);
        break;
    default:
        snprintf(out, VALUE_MAX, "%u", pick(1000000));
        break;
    }
}

/* Fills c with n values; 0, or -1 when out of memory. */
static int corpus_make(corpus *c, size_t n)
{
    c->text = malloc(n * VALUE_MAX);
    c->len = malloc(n * sizeof *c->len);
    if (!c->text || !c->len)
        return -1;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        char *v = c->text + i * VALUE_MAX;
        make_value(v);
        c->len[i] = strlen(v);
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Thread body: classifies values [from, to) with its own scratch. */
static void *classify_share(void *arg)
{
    worker *w = arg;
    pii_scratch *s = pii_scratch_new(w->rec);
    if (!s) {
        w->failed = 1;
        return NULL;
    }
    double start = now();
    for (size_t i = w->from; i < w->to; i++) {
        pii_value_result r;
        pii_classify_value(w->rec, s, w->c->text + i * VALUE_MAX, w->c->len[i],
                           &r);
        for (int e = 1; e < PII_ENTITY_COUNT; e++)
            if (r.validated & (1u << e))
                w->validated[e]++;
    }
    w->secs = now() - start;
    pii_scratch_free(s);
    return NULL;
}

/* Runs nthreads workers over the corpus; the slowest sets the wall time.
 * Returns 0, or -1 (message printed) when a thread or scratch failed. */
static int run(const pii_recognizers *rec, const corpus *c, int nthreads,
               worker *w, double *wall)
{
    pthread_t tid[64];
    for (int t = 0; t < nthreads; t++) {
        w[t] = (worker){.rec = rec, .c = c};
        w[t].from = c->n * (size_t)t / (size_t)nthreads;
        w[t].to = c->n * (size_t)(t + 1) / (size_t)nthreads;
    }
    double start = now();
    for (int t = 0; t < nthreads; t++) {
        int rc = pthread_create(&tid[t], NULL, classify_share, &w[t]);
        if (rc) {
            fprintf(stderr, "bench_pii_throughput: thread %d: %s\n", t,
                    strerror(rc));
            for (int k = 0; k < t; k++)
                pthread_join(tid[k], NULL);
            return -1;
        }
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(tid[t], NULL);
    *wall = now() - start;
    for (int t = 0; t < nthreads; t++)
        if (w[t].failed) {
            fprintf(stderr,
                    "bench_pii_throughput: out of memory for a scratch\n");
            return -1;
        }
    return 0;
}

static void print_mix(const worker *w, int nthreads, size_t n)
{
    printf("validated as PII:");
    for (int e = 1; e < PII_ENTITY_COUNT; e++) {
        unsigned long v = 0;
        for (int t = 0; t < nthreads; t++)
            v += w[t].validated[e];
        if (v)
            printf(" %s %.1f%%", pii_entity_name((pii_entity)e),
                   100.0 * (double)v / (double)n);
    }
    printf("\n");
}

static long arg_long(const char *s, long min, long max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "bench_pii_throughput: %s: expected %ld..%ld, got %s\n",
                what, min, max, s);
        exit(2);
    }
    return v;
}

static double avg_len(const corpus *c)
{
    double total = 0;
    for (size_t i = 0; i < c->n; i++)
        total += (double)c->len[i];
    return total / (double)c->n;
}

/* One measured run with nthreads; prints its rate.  0 or -1. */
static int measure(const pii_recognizers *rec, const corpus *c, int nthreads)
{
    worker w[64];
    double wall;
    if (run(rec, c, nthreads, w, &wall) != 0)
        return -1;
    double rate = (double)c->n / wall;
    if (nthreads == 1) {
        printf("1 thread: %.2f s, %.0f values/s per core\n", wall, rate);
        print_mix(w, 1, c->n);
    } else {
        printf("%d threads: %.2f s, %.0f values/s in all, %.0f per thread\n",
               nthreads, wall, rate, rate / nthreads);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n =
        argc > 1 ? (size_t)arg_long(argv[1], 1, 100000000, "VALUES") : 2000000;
    int nthreads = argc > 2 ? (int)arg_long(argv[2], 1, 64, "THREADS") : 1;
    char err[256];
    pii_recognizers *rec = pii_recognizers_new(err, sizeof err);
    if (!rec) {
        fprintf(stderr, "bench_pii_throughput: recognizers: %s\n", err);
        return 1;
    }
    corpus c = {0};
    int rc = 1;
    if (corpus_make(&c, n) != 0) {
        fprintf(stderr, "bench_pii_throughput: out of memory for %zu values\n",
                n);
    } else {
        printf("values: %zu short mixed cells, %.1f bytes on average\n", n,
               avg_len(&c));
        rc = measure(rec, &c, 1) == 0 &&
                     (nthreads == 1 || measure(rec, &c, nthreads) == 0)
                 ? 0
                 : 1;
    }
    free(c.text);
    free(c.len);
    pii_recognizers_free(rec);
    return rc;
}
