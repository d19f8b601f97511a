/*
 * Name evidence.  Only ever adds to value evidence: a parent is a
 * candidate because the child's values are contained in it, and names
 * decide between parents whose values fit equally well (a column holding
 * 1..40 fits every integer key with at least 40 rows).
 */
#include "fk_discover.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_TOK 12
#define TOK_LEN 40

struct toks {
    char t[MAX_TOK][TOK_LEN];
    int n;
};

/* Lower-case words of an identifier: split at '_', '-', ' ', '.', and at
 * camelCase humps (SupportRepId -> support rep id). */
static void tokenise(const char *s, struct toks *out)
{
    out->n = 0;
    int len = 0;
    for (const char *p = s ? s : "";; p++) {
        unsigned char c = (unsigned char)*p;
        bool hump =
            len > 0 && isupper(c) && p > s && islower((unsigned char)p[-1]);
        bool sep = !c || c == '_' || c == '-' || c == ' ' || c == '.';
        if ((sep || hump) && len > 0 && out->n < MAX_TOK) {
            out->t[out->n++][len] = '\0';
            len = 0;
        }
        if (!c)
            break;
        if (!sep && out->n < MAX_TOK && len < TOK_LEN - 1)
            out->t[out->n][len++] = (char)tolower(c);
    }
}

static bool in_list(const char *w, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

/* Trailing words that mark a reference rather than name a thing. */
static const char *const key_words[] = {"id", "key", "code", "no", "num",
                                        "nr", "fk",  "ref",  "pk", NULL};

/* English plural -> singular, good enough for table names. */
static void singular(const char *w, char *out, size_t outlen)
{
    size_t n = strlen(w);
    snprintf(out, outlen, "%s", w);
    if (strcmp(w, "people") == 0)
        snprintf(out, outlen, "person");
    else if (n > 3 && strcmp(w + n - 3, "ies") == 0)
        snprintf(out, outlen, "%.*sy", (int)(n - 3), w);
    else if (n > 4 &&
             (strcmp(w + n - 4, "ches") == 0 ||
              strcmp(w + n - 4, "shes") == 0 ||
              strcmp(w + n - 4, "sses") == 0 || strcmp(w + n - 3, "xes") == 0))
        snprintf(out, outlen, "%.*s", (int)(n - 2), w);
    else if (n > 1 && w[n - 1] == 's' && w[n - 2] != 's')
        snprintf(out, outlen, "%.*s", (int)(n - 1), w);
}

/* Words [from, to) glued together: order_item for ("order", "item"). */
static void glue(const struct toks *t, int from, int to, char *out,
                 size_t outlen)
{
    out[0] = '\0';
    size_t len = 0;
    for (int i = from; i < to && len + 1 < outlen; i++)
        len += (size_t)snprintf(out + len, outlen - len, "%s", t->t[i]);
}

/* Words of the child column without its trailing key word. */
static int stem_words(const struct toks *c)
{
    int n = c->n;
    if (n > 1 && in_list(c->t[n - 1], key_words))
        n--;
    return n;
}

/* The parent table's name, singular, glued: "order_items" -> "orderitem". */
static void table_key(const char *table, char *out, size_t outlen)
{
    struct toks t;
    tokenise(table, &t);
    if (t.n == 0) {
        out[0] = '\0';
        return;
    }
    char last[TOK_LEN];
    singular(t.t[t.n - 1], last, sizeof last);
    snprintf(t.t[t.n - 1], TOK_LEN, "%s", last);
    glue(&t, 0, t.n, out, outlen);
}

/* Role words and the kinds of table they point at. */
static const char *const person_roles[] = {
    "manager",  "reports",  "rep",         "representative", "supervisor",
    "boss",     "owner",    "creator",     "author",         "assignee",
    "approver", "reviewer", "salesperson", "seller",         "agent",
    "handler",  "mentor",   "lead",        "employee",       "staff",
    "user",     NULL};
static const char *const person_tables[] = {
    "employee", "staff",  "user",      "person",      "member",
    "agent",    "worker", "personnel", "salesperson", NULL};
static const char *const ship_roles[] = {
    "ship", "via", "shipper", "carrier", "courier", "shipvia", NULL};
static const char *const ship_tables[] = {"shipper", "carrier", "courier",
                                          "shippingcompany", NULL};
static const char *const self_roles[] = {
    "parent",   "manager", "reports", "boss",        "supervisor",
    "superior", "head",    "mentor",  "predecessor", "successor",
    "previous", "prev",    "next",    "original",    "replaced",
    "replaces", "master",  "root",    NULL};

static bool any_word(const struct toks *c, int n, const char *const *list)
{
    for (int i = 0; i < n; i++)
        if (in_list(c->t[i], list))
            return true;
    return false;
}

/* Does the glued parent key end the child's stem words? */
static bool contains_key(const struct toks *c, int n, const char *key)
{
    char buf[MAX_TOK * TOK_LEN];
    for (int from = 0; from < n; from++) {
        /* only runs ending the name: rental_duration is about a rental,
         * it does not point at one */
        for (int to = n; to <= n; to++) {
            glue(c, from, to, buf, sizeof buf);
            char one[sizeof buf];
            singular(buf, one, sizeof one);
            if (strcmp(buf, key) == 0 || strcmp(one, key) == 0)
                return true;
        }
    }
    return false;
}

static double role_score(const struct toks *c, int n, const char *pkey,
                         bool self, const char **why)
{
    if (any_word(c, n, person_roles) && in_list(pkey, person_tables)) {
        *why = "role name for a person table";
        return 0.6;
    }
    if (any_word(c, n, ship_roles) && in_list(pkey, ship_tables)) {
        *why = "role name for a carrier table";
        return 0.6;
    }
    if (self && any_word(c, n, self_roles)) {
        *why = "hierarchy name on a self-reference";
        return 0.6;
    }
    return 0.0;
}

double fkd_name_score(const char *child_col, const char *parent_table,
                      const char *parent_col, bool self, const char **why)
{
    const char *dummy;
    why = why ? why : &dummy;
    *why = "no name evidence";
    struct toks c, p;
    tokenise(child_col, &c);
    tokenise(parent_col, &p);
    int n = stem_words(&c);
    char pkey[MAX_TOK * TOK_LEN], cstem[MAX_TOK * TOK_LEN];
    table_key(parent_table, pkey, sizeof pkey);
    glue(&c, 0, n, cstem, sizeof cstem);
    char cstem1[sizeof cstem];
    singular(cstem, cstem1, sizeof cstem1);
    /* same key-like name on both sides: customer_id = customer_id */
    bool keyish = c.n > 1 && in_list(c.t[c.n - 1], key_words);
    if (keyish && c.n == p.n) {
        char a[sizeof cstem], b[sizeof cstem];
        glue(&c, 0, c.n, a, sizeof a);
        glue(&p, 0, p.n, b, sizeof b);
        if (strcmp(a, b) == 0) {
            *why = "same key name as the parent column";
            return 1.0;
        }
    }
    if (pkey[0] && (strcmp(cstem, pkey) == 0 || strcmp(cstem1, pkey) == 0) &&
        n < c.n) {
        *why = "named after the parent table";
        return 1.0;
    }
    if (pkey[0] && contains_key(&c, n, pkey)) {
        *why = "parent table named inside the column name";
        return 0.8;
    }
    return role_score(&c, n, pkey, self, why);
}

/* Appends `k` (singular) to keys unless it is there already. */
static void add_key(char (*keys)[FKD_KEY_LEN], size_t max, size_t *n,
                    const char *k)
{
    char one[FKD_KEY_LEN];
    singular(k, one, sizeof one);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(keys[i], one) == 0)
            return;
    if (*n < max && one[0])
        snprintf(keys[(*n)++], FKD_KEY_LEN, "%s", one);
}

static void add_list(char (*keys)[FKD_KEY_LEN], size_t max, size_t *n,
                     const char *const *list)
{
    for (int i = 0; list[i]; i++)
        add_key(keys, max, n, list[i]);
}

size_t fkd_name_keys(const char *child_col, char (*keys)[FKD_KEY_LEN],
                     size_t max, bool *self_role)
{
    struct toks c;
    tokenise(child_col, &c);
    int n = stem_words(&c);
    size_t nk = 0;
    char buf[MAX_TOK * TOK_LEN];
    for (int from = 0; from < n; from++) {
        for (int to = n; to <= n; to++) { /* as contains_key() */
            glue(&c, from, to, buf, sizeof buf);
            if (strlen(buf) < FKD_KEY_LEN)
                add_key(keys, max, &nk, buf);
        }
    }
    if (any_word(&c, n, person_roles))
        add_list(keys, max, &nk, person_tables);
    if (any_word(&c, n, ship_roles))
        add_list(keys, max, &nk, ship_tables);
    *self_role = any_word(&c, n, self_roles);
    return nk;
}

void fkd_table_key(const char *table, char *out, size_t outlen)
{
    table_key(table, out, outlen);
}
