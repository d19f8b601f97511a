/* The bounded top-k of profile_common's value counter against a full sort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "counter.h"

static int full_order(const void *a, const void *b)
{
    const struct vcount *x = *(const struct vcount *const *)a;
    const struct vcount *y = *(const struct vcount *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->value, y->value);
}

/* Every used slot, fully sorted: the reference the heap must agree with. */
static struct vcount **all_sorted(const struct counter *c, size_t *n)
{
    struct vcount **v = malloc(c->used * sizeof *v);
    assert_non_null(v);
    size_t k = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].value)
            v[k++] = &c->slots[i];
    qsort(v, k, sizeof *v, full_order);
    *n = k;
    return v;
}

static void check_against_full_sort(struct counter *c, size_t k)
{
    size_t n_all, n_top;
    struct vcount **all = all_sorted(c, &n_all);
    struct vcount **top = counter_top(c, k, &n_top);
    assert_int_equal(n_top, k < n_all ? k : n_all);
    for (size_t i = 0; i < n_top; i++)
        assert_ptr_equal(top[i], all[i]);
    free(all);
    free(top);
}

static void test_top_matches_full_sort_with_ties(void **state)
{
    (void)state;
    struct counter c;
    assert_int_equal(counter_init(&c, 16, 1), 0);
    /* 500 distinct values, counts 1..5 in a pattern full of ties. */
    srand(7);
    for (int i = 0; i < 3000; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%03d", rand() % 500);
        assert_int_equal(counter_add(&c, v), 0);
    }
    for (size_t k = 1; k <= 12; k++)
        check_against_full_sort(&c, k);
    check_against_full_sort(&c, 1000); /* k above the distinct count */
    counter_free(&c);
}

static void test_top_of_empty_and_zero_k(void **state)
{
    (void)state;
    struct counter c;
    size_t n = 99;
    assert_int_equal(counter_init(&c, 4, 1), 0);
    assert_null(counter_top(&c, 10, &n));
    assert_int_equal(n, 0);
    assert_int_equal(counter_add(&c, "x"), 0);
    assert_null(counter_top(&c, 0, &n));
    assert_int_equal(n, 0);
    counter_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_matches_full_sort_with_ties),
        cmocka_unit_test(test_top_of_empty_and_zero_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
