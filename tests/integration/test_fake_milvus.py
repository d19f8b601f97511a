"""The fake Milvus (tests/fakes/milvus.py) answers like Milvus REST v2: the
envelope on HTTP 200 with a non-zero code for errors (100, 1100, 1801, 1802),
401 with code 1800 without the token, a custom schema checked at create,
rows checked at upsert (primary key, missing and unknown fields, vector
dimension, VarChar length), upsert replacing by primary key, and the fault
knobs.  Tests of push_milvus rely on all of it."""
import json
import os
import sys
import urllib.error
import urllib.request

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from milvus import FakeMilvus  # noqa: E402

TOKEN = "root:Milvus"
mv = FakeMilvus(token=TOKEN)
base = mv.start()

SCHEMA = {"collectionName": "c", "schema": {
    "autoID": False, "enableDynamicField": False, "fields": [
        {"fieldName": "id", "dataType": "VarChar", "isPrimary": True,
         "elementTypeParams": {"max_length": 8}},
        {"fieldName": "t", "dataType": "VarChar", "elementTypeParams": {"max_length": 3}},
        {"fieldName": "n", "dataType": "VarChar", "nullable": True,
         "elementTypeParams": {"max_length": 3}},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]},
    "indexParams": [{"fieldName": "v", "indexName": "v_idx", "metricType": "COSINE",
                     "indexType": "AUTOINDEX"}]}


def post(action, body, token=TOKEN, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}/v2/vectordb/{action}", data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def code(action, body, **kw):
    status, env = post(action, body, **kw)
    assert status == 200, (status, env)
    return env["code"]


def test_auth_and_envelope_errors():
    assert post("collections/has", {"collectionName": "c"}, token=None) == \
        (401, {"code": 1800, "message": "user hasn't authenticated"})
    assert post("collections/has", {"collectionName": "c"}, token="root:wrong")[0] == 401
    assert code("collections/has", None, raw=b"{not json") == 1801
    assert code("collections/has", {}) == 1802
    assert code("entities/upsert", {"collectionName": "nope", "data": [{"id": "a"}]}) == 100
    assert post("collections/has", {"collectionName": "c"}) == \
        (200, {"code": 0, "data": {"has": False}, "cost": 0})


def test_create_checks_the_schema():
    bad_type = json.loads(json.dumps(SCHEMA))
    del bad_type["schema"]["fields"][1]["dataType"]
    assert code("collections/create", bad_type) == 1100
    no_dim = json.loads(json.dumps(SCHEMA))
    no_dim["schema"]["fields"][3]["elementTypeParams"] = {}
    assert code("collections/create", no_dim) == 1100
    assert "c" not in mv.collections
    assert code("collections/create", SCHEMA) == 0
    assert code("collections/create", SCHEMA) == 0  # same schema again: fine
    other = json.loads(json.dumps(SCHEMA))
    other["schema"]["fields"][3]["elementTypeParams"]["dim"] = 3
    assert code("collections/create", other) != 0
    _, env = post("collections/describe", {"collectionName": "c"})
    vec = [f for f in env["data"]["fields"] if f["name"] == "v"][0]
    assert vec["params"] == [{"key": "dim", "value": "2"}], vec
    assert env["data"]["indexes"][0]["indexType"] == "AUTOINDEX"


def test_upsert_checks_rows_and_replaces():
    def up(*rows):
        return post("entities/upsert", {"collectionName": "c", "data": list(rows)})[1]

    ok = {"id": "a", "t": "xy", "v": [0.1, 0.2]}
    assert up(ok)["data"] == {"upsertCount": 1, "upsertIds": ["a"]}
    cases = [({"t": "x", "v": [1, 2]}, "primary key id"),
             ({"id": "b", "v": [1, 2]}, "field t"),
             ({"id": "b", "t": "x", "v": [1, 2, 3]}, "dim"),
             ({"id": "b", "t": "long", "v": [1, 2]}, "max length"),
             ({"id": "b", "t": "x", "v": [1, 2], "zz": 1}, "zz")]
    for row, words in cases:
        env = up(ok, row)  # one bad row refuses the whole request
        assert env["code"] == 1100 and words in env["message"], (row, env)
    assert set(mv.collections["c"]["records"]) == {"a"}
    up({"id": "a", "t": "new", "v": [1, 0]})
    assert mv.collections["c"]["records"]["a"]["t"] == "new"
    assert len(mv.collections["c"]["records"]) == 1
    env = post("entities/delete", {"collectionName": "c", "filter": 'id in ["a", "zz"]'})[1]
    assert env == {"code": 0, "data": {"deleteCount": 1}, "cost": 0}, env


def test_fault_knobs():
    mv.fail_next(1, code=9, message="rate limit exceeded", path="/entities/upsert")
    assert code("collections/has", {"collectionName": "c"}) == 0  # other paths unaffected
    status, env = post("entities/upsert", {"collectionName": "c",
                                           "data": [{"id": "b", "t": "x", "v": [1, 2]}]})
    assert (status, env["code"], env["message"]) == (200, 9, "rate limit exceeded")
    assert "b" not in mv.collections["c"]["records"]
    mv.http_fail_next(1, 503)
    assert post("collections/has", {"collectionName": "c"})[0] == 503
    assert code("collections/has", {"collectionName": "c"}) == 0
    assert all("raw" in r and "path" in r for r in mv.requests)


try:
    cs.main([test_auth_and_envelope_errors, test_create_checks_the_schema,
             test_upsert_checks_rows_and_replaces, test_fault_knobs])
finally:
    mv.stop()
