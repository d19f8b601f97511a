/*
 * prof_table: the sample as strings.  Cells are copied into an arena of
 * large blocks so that a 1,000-row sample costs a handful of mallocs, not
 * one per cell.
 */
#include "profile_common.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

struct prof_table {
    size_t ncols, nrows, cap_rows;
    char **names;
    char **types;
    const char **cells; /* nrows * ncols, row-major */
    struct arena_block *arena;
};

static char *arena_strdup(prof_table *t, const char *s)
{
    size_t n = strlen(s) + 1;
    struct arena_block *b = t->arena;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = t->arena;
        b->used = 0;
        b->cap = cap;
        t->arena = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

prof_table *prof_table_new(size_t ncols, const char *const *names,
                           const char *const *types)
{
    prof_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->names = calloc(ncols ? ncols : 1, sizeof *t->names);
    t->types = calloc(ncols ? ncols : 1, sizeof *t->types);
    if (!t->names || !t->types) {
        prof_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        t->names[i] = strdup(names[i] ? names[i] : "");
        t->types[i] = strdup(types && types[i] ? types[i] : "");
        if (!t->names[i] || !t->types[i]) {
            prof_table_free(t);
            return NULL;
        }
    }
    return t;
}

static int grow_rows(prof_table *t)
{
    size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
    const char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
    if (!cells)
        return -1;
    t->cells = cells;
    t->cap_rows = cap;
    return 0;
}

int prof_table_add_row(prof_table *t, const char *const *cells)
{
    if (t->ncols == 0) {
        t->nrows++;
        return 0;
    }
    if (t->nrows == t->cap_rows && grow_rows(t) != 0)
        return -1;
    const char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        row[c] = NULL;
        if (cells[c] && (row[c] = arena_strdup(t, cells[c])) == NULL)
            return -1; /* copied cells stay in the arena until free */
    }
    t->nrows++;
    return 0;
}

size_t prof_table_ncols(const prof_table *t)
{
    return t->ncols;
}

size_t prof_table_nrows(const prof_table *t)
{
    return t->nrows;
}

const char *prof_table_colname(const prof_table *t, size_t col)
{
    return col < t->ncols ? t->names[col] : NULL;
}

const char *prof_table_coltype(const prof_table *t, size_t col)
{
    return col < t->ncols ? t->types[col] : NULL;
}

const char *prof_table_cell(const prof_table *t, size_t row, size_t col)
{
    if (row >= t->nrows || col >= t->ncols)
        return NULL;
    return t->cells[row * t->ncols + col];
}

void prof_table_free(prof_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->names)
            free(t->names[i]);
        if (t->types)
            free(t->types[i]);
    }
    free(t->names);
    free(t->types);
    free(t->cells);
    while (t->arena) {
        struct arena_block *next = t->arena->next;
        free(t->arena);
        t->arena = next;
    }
    free(t);
}
