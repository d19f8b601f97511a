/*
 * Mode `apply`: one JSON Patch per table (PATCH /api/v1/tables/{id},
 * Content-Type application/json-patch+json), applied atomically by the
 * server.  Column indexes come from the entity fetched just before, and
 * every column the patch touches is guarded by a `test` op on its name,
 * so a column that moved makes the whole patch fail instead of writing to
 * the wrong column.  A 409/412, or a 400 from a failed `test`, makes the
 * caller fetch the entity again and rebuild the patch once.
 */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pub_patch_reset(struct pub_job *j)
{
    json_array_clear(j->ops);
    json_array_clear(j->pending);
    json_object_clear(j->tested);
}

int pub_patch_op(struct pub_job *j, json_t *op)
{
    if (!op || json_array_append_new(j->ops, op) != 0)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory for the patch");
    return CS_OK;
}

int pub_patch_guard(struct pub_job *j, long index, const char *name)
{
    char key[32], path[48];
    snprintf(key, sizeof key, "%ld", index);
    if (json_object_get(j->tested, key))
        return CS_OK;
    snprintf(path, sizeof path, "/columns/%ld/name", index);
    json_object_set_new(j->tested, key, json_true());
    return pub_patch_op(j, json_pack("{s:s, s:s, s:s}", "op", "test", "path",
                                     path, "value", name));
}

int pub_patch_record(struct pub_job *j, const char *field, const json_t *old,
                     const json_t *new_value, const json_t *evidence,
                     const char *section, json_t *state)
{
    json_t *p = json_pack("{s:s, s:O?, s:O?, s:O?, s:s, s:o}", "field", field,
                          "old", old, "new", new_value, "evidence", evidence,
                          "section", section, "state", state);
    if (!p || json_array_append_new(j->pending, p) != 0)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory for the patch");
    return CS_OK;
}

/* What one applied field records: state, then audit row, then report. */
static int applied(struct pub_job *j, const json_t *p)
{
    const char *field = json_string_value(json_object_get(p, "field"));
    const char *section = json_string_value(json_object_get(p, "section"));
    int rc = pub_state_set(j, section, field,
                           json_deep_copy(json_object_get(p, "state")));
    if (rc != CS_OK)
        return rc;
    pub_done(j, field);
    rc = pub_audit(j, "patch", field, json_object_get(p, "old"),
                   json_object_get(p, "new"), json_object_get(p, "evidence"));
    if (rc == CS_OK)
        pub_sent(j, field, "patch", NULL);
    return rc;
}

static int patch_answer(struct pub_job *j, const char *url,
                        const struct om_resp *r)
{
    if (r->status == 200) {
        pub_check_bot(j,
                      json_string_value(json_object_get(r->json, "updatedBy")));
        size_t i;
        json_t *p;
        json_array_foreach(j->pending, i, p)
        {
            int rc = applied(j, p);
            if (rc != CS_OK)
                return rc;
        }
        return CS_OK;
    }
    snprintf(j->note, sizeof j->note, "PATCH %s returned %ld%s%s", url,
             r->status, *om_message(r) ? ": " : "", om_message(r));
    if (r->status == 404)
        return PUB_GONE;
    if (r->status == 409 || r->status == 412 || r->status == 400)
        return PUB_CONFLICT;
    return pub_fail(j, CS_ERR, "%s", j->note);
}

int pub_patch_send(struct pub_job *j)
{
    if (json_array_size(j->ops) == 0)
        return CS_OK;
    char *id = om_urlencode(j->id);
    char *url = id ? om_fmt("%s/tables/%s", j->s->o.api, id) : NULL;
    free(id);
    if (!url)
        return pub_fail(j, CS_ERR_NOMEM, "out of memory");
    struct om_resp r;
    int rc =
        om_call(j, "PATCH", url, "application/json-patch+json", j->ops, &r);
    if (rc == CS_OK)
        rc = patch_answer(j, url, &r);
    om_resp_clear(&r);
    free(url);
    return rc;
}
