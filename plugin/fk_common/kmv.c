/*
 * Bottom-k (KMV) sketches of value hashes and the set estimators built
 * on them.  Both estimators only look at hashes up to tau, the largest
 * hash below which both sketches are exact (a full sketch holds every
 * hash of its set up to its own largest one); the hashes of each set
 * below tau are then a uniform random subset of it.
 */
#include "fk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fk_kmv_init(fk_kmv *s, unsigned k)
{
    memset(s, 0, sizeof *s);
    s->k = (uint16_t)(k < 1 ? 1 : k > FK_KMV_K ? FK_KMV_K : k);
}

void fk_kmv_add(fk_kmv *s, uint64_t h)
{
    if (s->n == s->k && h >= s->h[s->n - 1])
        return;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->h[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->h[lo] == h)
        return;
    size_t keep = s->n < s->k ? s->n : s->n - 1u;
    memmove(&s->h[lo + 1], &s->h[lo], (keep - lo) * sizeof s->h[0]);
    s->h[lo] = h;
    if (s->n < s->k)
        s->n++;
}

void fk_kmv_merge(fk_kmv *dst, const fk_kmv *src)
{
    uint64_t out[FK_KMV_K];
    size_t i = 0, j = 0, n = 0;
    while (n < dst->k && (i < dst->n || j < src->n)) {
        uint64_t v;
        if (j >= src->n || (i < dst->n && dst->h[i] < src->h[j]))
            v = dst->h[i++];
        else if (i >= dst->n || src->h[j] < dst->h[i])
            v = src->h[j++];
        else {
            v = dst->h[i++];
            j++;
        }
        out[n++] = v;
    }
    memcpy(dst->h, out, n * sizeof out[0]);
    dst->n = (uint16_t)n;
}

int fk_kmv_complete(const fk_kmv *s)
{
    return s->n < s->k;
}

double fk_kmv_distinct(const fk_kmv *s)
{
    if (fk_kmv_complete(s))
        return s->n;
    /* Unbiased KMV estimator (Bar-Yossef et al.; Beyer et al. 2007). */
    double u = ((double)s->h[s->n - 1] + 1.0) / 18446744073709551616.0;
    return (s->k - 1) / u;
}

/* Largest hash up to which the sketch holds all of its set's hashes. */
static uint64_t exact_to(const fk_kmv *s)
{
    return fk_kmv_complete(s) ? UINT64_MAX : s->h[s->n - 1];
}

size_t fk_kmv_shared(const fk_kmv *a, const fk_kmv *b)
{
    size_t i = 0, j = 0, both = 0;
    while (i < a->n && j < b->n) {
        if (a->h[i] < b->h[j])
            i++;
        else if (b->h[j] < a->h[i])
            j++;
        else {
            both++;
            i++;
            j++;
        }
    }
    return both;
}

/* Hashes <= tau: in A only, in B only, in both. */
static void count_below(const fk_kmv *a, const fk_kmv *b, uint64_t tau,
                        size_t *only_a, size_t *only_b, size_t *both)
{
    size_t i = 0, j = 0;
    *only_a = *only_b = *both = 0;
    while ((i < a->n && a->h[i] <= tau) || (j < b->n && b->h[j] <= tau)) {
        int a_ok = i < a->n && a->h[i] <= tau;
        int b_ok = j < b->n && b->h[j] <= tau;
        if (a_ok && (!b_ok || a->h[i] < b->h[j])) {
            (*only_a)++;
            i++;
        } else if (b_ok && (!a_ok || b->h[j] < a->h[i])) {
            (*only_b)++;
            j++;
        } else {
            (*both)++;
            i++;
            j++;
        }
    }
}

double fk_kmv_jaccard(const fk_kmv *a, const fk_kmv *b)
{
    uint64_t ta = exact_to(a), tb = exact_to(b);
    size_t oa, ob, both;
    count_below(a, b, ta < tb ? ta : tb, &oa, &ob, &both);
    size_t all = oa + ob + both;
    return all ? (double)both / (double)all : 0.0;
}

double fk_kmv_containment(const fk_kmv *a, const fk_kmv *b, size_t *support)
{
    uint64_t ta = exact_to(a), tb = exact_to(b);
    size_t oa, ob, both;
    count_below(a, b, ta < tb ? ta : tb, &oa, &ob, &both);
    if (support)
        *support = oa + both;
    return oa + both ? (double)both / (double)(oa + both) : 0.0;
}

double fk_kmv_containment_sampled(const fk_kmv *child, const fk_kmv *parent,
                                  double parent_fraction, size_t *support,
                                  double *expected_shared)
{
    size_t m;
    double raw = fk_kmv_containment(child, parent, &m);
    double f =
        parent_fraction > 0 && parent_fraction <= 1 ? parent_fraction : 1.0;
    if (support)
        *support = m;
    if (expected_shared)
        *expected_shared = (double)m * f;
    double c = raw / f;
    return c > 1.0 ? 1.0 : c;
}

void fk_kmv_compare(const fk_kmv *a, const fk_kmv *b, fk_kmv_overlap *out)
{
    uint64_t ta = exact_to(a), tb = exact_to(b), tau = ta < tb ? ta : tb;
    size_t i = 0, j = 0;
    memset(out, 0, sizeof *out);
    while (i < a->n && j < b->n) {
        if (a->h[i] < b->h[j]) {
            out->support += a->h[i] <= tau;
            i++;
        } else if (b->h[j] < a->h[i]) {
            j++;
        } else {
            out->shared++;
            out->support += a->h[i] <= tau;
            out->shared_below += a->h[i] <= tau;
            i++;
            j++;
        }
    }
    for (; i < a->n && a->h[i] <= tau; i++)
        out->support++;
}

json_t *fk_kmv_to_json(const fk_kmv *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s->n; i++) {
        char hex[17];
        fk_hash_hex(s->h[i], hex);
        if (json_array_append_new(arr, json_string(hex)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int fk_kmv_from_json(const json_t *arr, unsigned k, fk_kmv *s, char *err,
                     size_t errlen)
{
    fk_kmv_init(s, k);
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "kmv: not an array");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        uint64_t h;
        if (fk_hash_parse(json_string_value(json_array_get(arr, i)), &h)) {
            snprintf(err, errlen, "kmv[%zu]: not 16 hex digits", i);
            return -1;
        }
        fk_kmv_add(s, h);
    }
    return 0;
}
