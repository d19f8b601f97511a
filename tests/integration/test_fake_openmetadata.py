"""The fake OpenMetadata (tests/fakes/openmetadata.py) refuses what the real
server refuses, pages and searches like it, and signs change events with the
documented algorithm; seed_demo registers a Postgres catalog in it."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from openmetadata import FakeOpenMetadata, schemas_dir  # noqa: E402
from seed_demo import register_demo  # noqa: E402

if schemas_dir() is None:
    cs.skip("../shared/contracts/openmetadata is absent: the fake validates every body "
            "against OpenMetadata's schemas and cannot run without them")

TOKEN, BOT = "om-test-token", "catalog-sync-bot"
STEWARD_TOKEN = "steward-token"
PATCH_JSON = "application/json-patch+json"
om = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
om.add_token(STEWARD_TOKEN, "steward")
BASE = om.start() + "/api/v1"
SCHEMAS = om.schemas


def call(method, path, body=None, token=TOKEN, ctype="application/json", raw=None):
    """(status, parsed JSON or None) of one request to the fake."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        text, status = e.read(), e.code
    return status, (json.loads(text) if text else None)


def qs(**params):
    return "?" + urllib.parse.urlencode(params, doseq=True)


def create(name, schema="bank", columns=None, **extra):
    cols = columns or [{"name": "id", "dataType": "INT", "constraint": "PRIMARY_KEY"},
                       {"name": "email", "dataType": "VARCHAR", "dataLength": 120},
                       {"name": "note", "dataType": "TEXT"}]
    return dict({"name": name, "databaseSchema": f"svc.db.{schema}", "columns": cols}, **extra)


def label(fqn, **over):
    return dict({"tagFQN": fqn, "source": "Classification", "labelType": "Automated",
                 "state": "Suggested"}, **over)


def expect_error(status, out, code, words=()):
    assert status == code, (status, out)
    assert out["code"] == code and isinstance(out["message"], str), out
    for w in words:
        assert w in out["message"], (w, out["message"])


def take_schema_errors(*words):
    """Asserts exactly one recorded schema error containing `words`, then clears."""
    assert len(om.schema_errors) == 1, om.schema_errors
    for w in words:
        assert w in om.schema_errors[0], (w, om.schema_errors)
    om.schema_errors.clear()


ALL = [f"svc.db.{s}.t{i:02d}" for s in ("bank", "shop") for i in range(11)]
for fqn in ALL:
    om.put_table(create(fqn.split(".")[-1], schema=fqn.split(".")[2]))
TARGET = "svc.db.bank.t03"


def test_auth_required_with_server_error_shape():
    expect_error(*call("GET", "/tables", token=None), 401)
    expect_error(*call("GET", "/tables", token="wrong"), 401)
    status, out = call("GET", "/tables")
    assert status == 200 and out["paging"]["total"] == len(ALL), out
    assert om.requests[-1]["method"] == "GET" and om.requests[-1]["path"] == "/api/v1/tables"


def test_table_shape_and_field_gating():
    t = om.table(TARGET)
    assert t["version"] == 0.1 and t["updatedBy"] == "admin" and not t["deleted"], t
    assert t["columns"][1]["fullyQualifiedName"] == TARGET + ".email", t
    assert t["href"].endswith("/api/v1/tables/" + t["id"]), t
    stamps = [om.table(f)["updatedAt"] for f in ALL]
    assert all(a < b for a, b in zip(stamps, stamps[1:])), stamps
    status, bare = call("GET", "/tables/name/" + TARGET)
    assert status == 200 and "columns" not in bare and "tags" not in bare, bare
    _, cols = call("GET", f"/tables/{t['id']}" + qs(fields="columns"))
    assert cols["columns"] and all("tags" not in c for c in cols["columns"]), cols
    _, full = call("GET", "/tables/name/" + TARGET + qs(fields="columns,tags,tableConstraints"))
    assert all(c["tags"] == [] for c in full["columns"]) and full["tags"] == [], full
    expect_error(*call("GET", "/tables/name/" + TARGET + qs(fields="columns,bogus")), 400,
                 ["bogus"])
    expect_error(*call("GET", "/tables/name/svc.db.bank.nope"), 404)


def test_paging_covers_every_table_exactly_once():
    seen, after, pages = [], None, 0
    while True:
        _, out = call("GET", "/tables" + qs(limit=4, **({"after": after} if after else {})))
        assert out["paging"]["total"] == len(ALL), out["paging"]
        seen += [t["fullyQualifiedName"] for t in out["data"]]
        pages += 1
        after = out["paging"].get("after")
        if not after:
            break
        assert pages < 20, "paging does not end"
    assert sorted(seen) == sorted(ALL) and len(seen) == len(set(seen)), seen
    back, before = [], out["paging"].get("before")
    back += [t["fullyQualifiedName"] for t in out["data"]]
    while before:
        _, page = call("GET", "/tables" + qs(limit=4, before=before))
        back = [t["fullyQualifiedName"] for t in page["data"]] + back
        before = page["paging"].get("before")
    assert back == seen, (back, seen)
    _, one = call("GET", "/tables" + qs(databaseSchema="svc.db.shop", limit=1000))
    assert {t["fullyQualifiedName"] for t in one["data"]} == {f for f in ALL if ".shop." in f}
    expect_error(*call("GET", "/tables" + qs(limit=1001)), 400)
    expect_error(*call("GET", "/tables" + qs(before="x", after="y")), 400)


def test_patch_needs_json_patch_content_type():
    before = om.table(TARGET)
    expect_error(*call("PATCH", "/tables/name/" + TARGET, {"description": "merged"},
                       ctype="application/merge-patch+json"), 415)
    expect_error(*call("PATCH", "/tables/name/" + TARGET, [
        {"op": "add", "path": "/description", "value": "x"}]), 415)
    assert om.table(TARGET) == before


def test_patch_is_atomic_and_bumps_version():
    t = om.table(TARGET)
    ops = [{"op": "test", "path": "/columns/1/name", "value": "email"},
           {"op": "add", "path": "/columns/1/description", "value": "Contact address."},
           {"op": "add", "path": "/description", "value": "Targets."}]
    status, out = call("PATCH", "/tables/" + t["id"], ops, ctype=PATCH_JSON)
    assert status == 200, out
    assert out["version"] == 0.2 and out["updatedBy"] == BOT, out
    assert out["updatedAt"] > t["updatedAt"], (out["updatedAt"], t["updatedAt"])
    assert out["columns"][1]["description"] == "Contact address."
    stale = [{"op": "add", "path": "/description", "value": "lost"},
             {"op": "test", "path": "/columns/1/name", "value": "note"}]
    expect_error(*call("PATCH", "/tables/name/" + TARGET, stale, ctype=PATCH_JSON), 400, ["test"])
    assert om.table(TARGET)["description"] == "Targets.", "a failed patch was half applied"
    status, same = call("PATCH", "/tables/name/" + TARGET, ops[:1], ctype=PATCH_JSON)
    assert status == 200 and same["version"] == 0.2, "a no-op patch changed the version"
    expect_error(*call("PATCH", "/tables/name/" + TARGET, [
        {"op": "replace", "path": "/fullyQualifiedName", "value": "x.y.z.w"}],
        ctype=PATCH_JSON), 400)
    assert om.schema_errors == [], om.schema_errors


def test_invalid_and_unknown_tag_labels_are_refused():
    bad = [{"op": "add", "path": "/columns/1/tags/-", "value": label("PII.Sensitive",
                                                                   labelType="Robot")}]
    expect_error(*call("PATCH", "/tables/name/" + TARGET, bad, ctype=PATCH_JSON), 400)
    take_schema_errors("entity/data/table.json", "$.columns[1].tags[0].labelType", "Robot")
    extra = [{"op": "add", "path": "/tags/-", "value": dict(label("PII.Sensitive"), why="x")}]
    expect_error(*call("PATCH", "/tables/name/" + TARGET, extra, ctype=PATCH_JSON), 400)
    take_schema_errors("$.tags[0]", "why")
    unknown = [{"op": "add", "path": "/columns/1/tags/-", "value": label("PII.TopSecret")}]
    expect_error(*call("PATCH", "/tables/name/" + TARGET, unknown, ctype=PATCH_JSON), 404,
                 ["PII.TopSecret"])
    assert om.table(TARGET)["columns"][1]["tags"] == []


def test_second_pii_tag_is_refused():
    add = lambda fqn: [{"op": "add", "path": "/columns/1/tags/-", "value": label(fqn)}]  # noqa
    status, out = call("PATCH", "/tables/name/" + TARGET, add("PII.Sensitive"), ctype=PATCH_JSON)
    assert status == 200 and out["columns"][1]["tags"] == [label("PII.Sensitive")], out
    expect_error(*call("PATCH", "/tables/name/" + TARGET, add("PII.NonSensitive"),
                       ctype=PATCH_JSON), 400, ["mutually exclusive"])
    status, out = call("PATCH", "/tables/name/" + TARGET, add("PersonalData.Personal"),
                       ctype=PATCH_JSON)
    assert status == 200 and len(out["columns"][1]["tags"]) == 2, out
    two = [{"op": "add", "path": "/tags", "value": [label("PII.None"), label("PII.Sensitive")]}]
    expect_error(*call("PATCH", "/tables/name/" + TARGET, two, ctype=PATCH_JSON), 400)


def test_suggestions_validated_resolved_and_applied():
    link = f"<#E::table::{TARGET}::columns::note>"
    expect_error(*call("POST", "/suggestions", {"type": "SuggestDescription",
                                                "entityLink": f"<#E::table::{TARGET}>>",
                                                "description": "x"}), 400)
    take_schema_errors("api/feed/createSuggestion.json", "$.entityLink")
    nope = f"<#E::table::{TARGET}::columns::nope>"
    expect_error(*call("POST", "/suggestions", {"type": "SuggestDescription",
                                                "entityLink": nope, "description": "x"}),
                 404, ["nope"])
    expect_error(*call("POST", "/suggestions", {"type": "SuggestDescription",
                                                "entityLink": "<#E::table::svc.db.bank.gone>",
                                                "description": "x"}), 404)
    expect_error(*call("POST", "/suggestions", {"type": "SuggestDescription",
                                                "entityLink": link, "description": ""}), 400)
    expect_error(*call("POST", "/suggestions", {"type": "SuggestTagLabel", "entityLink": link,
                                                "tagLabels": [label("PII.Sensitive", x=1)]}), 400)
    take_schema_errors("$.tagLabels[0]")
    status, s = call("POST", "/suggestions", {"type": "SuggestTagLabel", "entityLink": link,
                                              "tagLabels": [label("PII.Sensitive")]})
    assert status == 201 and s["status"] == "Open" and s["createdBy"]["name"] == BOT, s
    assert SCHEMAS.errors("entity/feed/suggestion.json", s, drop=("oneOf",)) == []
    _, d = call("POST", "/suggestions", {"type": "SuggestDescription", "entityLink": link,
                                         "description": "Free text."})
    _, listed = call("GET", "/suggestions" + qs(entityFQN=TARGET))
    assert {x["id"] for x in listed["data"]} == {s["id"], d["id"]}, listed
    status, acc = call("PUT", f"/suggestions/{s['id']}/accept", token=STEWARD_TOKEN)
    assert status == 200 and acc["status"] == "Accepted", acc
    t = om.table(TARGET)
    assert t["columns"][2]["tags"] == [label("PII.Sensitive")] and t["updatedBy"] == "steward"
    om.reject_suggestion(d["id"])
    assert om.table(TARGET)["columns"][2].get("description") is None
    _, left = call("GET", "/suggestions" + qs(entityFQN=TARGET))
    assert left["data"] == [] and left["paging"]["total"] == 0, left
    assert om.schema_errors == [], om.schema_errors


def test_lineage_checks_entities_and_columns():
    src, dst = om.table("svc.db.shop.t01"), om.table("svc.db.shop.t02")
    edge = lambda frm, to: {"edge": {  # noqa: E731
        "fromEntity": {"id": src["id"], "type": "table"},
        "toEntity": {"id": dst["id"], "type": "table"},
        "lineageDetails": {"source": "Manual", "columnsLineage": [
            {"fromColumns": [frm], "toColumn": to}]}}}
    good = edge("svc.db.shop.t01.id", "svc.db.shop.t02.id")
    expect_error(*call("PUT", "/lineage", edge("svc.db.shop.t01.id", "svc.db.shop.t02.nope")),
                 400, ["svc.db.shop.t02.nope"])
    expect_error(*call("PUT", "/lineage", edge("svc.db.shop.t02.id", "svc.db.shop.t02.id")), 400)
    missing = json.loads(json.dumps(good))
    missing["edge"]["toEntity"]["id"] = "00000000-0000-4000-8000-000000000000"
    expect_error(*call("PUT", "/lineage", missing), 404)
    expect_error(*call("PUT", "/lineage", {"edge": dict(good["edge"], weight=1)}), 400)
    take_schema_errors("api/lineage/addLineage.json", "weight")
    assert om.lineage == []
    assert call("PUT", "/lineage", good)[0] == 200
    assert call("PUT", "/lineage", good)[0] == 200
    assert len(om.lineage) == 1 and om.lineage[0]["fromEntity"]["id"] == src["id"], om.lineage
    _, g = call("GET", "/lineage/table/name/svc.db.shop.t02")
    assert [e["fromEntity"] for e in g["upstreamEdges"]] == [src["id"]], g


def search(**params):
    status, out = call("GET", "/search/query" + qs(index="table_search_index", q="*", **params))
    assert status == 200, out
    return out["hits"]


def test_search_range_filter_sort_and_paging():
    live = [t for t in om.tables() if not t["deleted"]]
    stamps = sorted(t["updatedAt"] for t in live)
    mark = stamps[len(stamps) // 2]
    newer = sorted((t["updatedAt"], t["id"]) for t in live if t["updatedAt"] > mark)
    flt = json.dumps({"query": {"bool": {"filter": [{"range": {"updatedAt": {"gt": mark}}}]}}})
    hits = search(sort_field="updatedAt", sort_order="asc", size=100, query_filter=flt)
    assert hits["total"]["value"] == len(newer), (hits["total"], len(newer))
    assert [tuple(h["sort"]) for h in hits["hits"]] == newer
    assert all(h["_source"]["updatedAt"] == h["sort"][0] for h in hits["hits"])
    got, after = [], None
    while True:
        extra = {"search_after": ",".join(str(v) for v in after)} if after else {}
        page = search(sort_field="updatedAt", sort_order="asc", size=3, query_filter=flt,
                      **extra)["hits"]
        if not page:
            break
        got += [h["_id"] for h in page]
        after = page[-1]["sort"]
    assert got == [i for _, i in newer], (got, newer)
    desc = search(sort_field="updatedAt", sort_order="desc", size=100)["hits"]
    assert [h["sort"][0] for h in desc] == sorted([t["updatedAt"] for t in live], reverse=True)
    term = json.dumps({"query": {"bool": {"must": [{"term": {"databaseSchema.name": "shop"}},
                                                   {"range": {"updatedAt": {"lte": mark}}}]}}})
    shop_old = {t["id"] for t in live if ".shop." in t["fullyQualifiedName"]
                and t["updatedAt"] <= mark}
    assert {h["_id"] for h in search(size=100, query_filter=term)["hits"]} == shop_old
    om.ignore_query_filter = True
    try:
        assert search(size=100, query_filter=flt)["total"]["value"] == len(live)
    finally:
        om.ignore_query_filter = False
    garbled = search(size=100, query_filter='{"query": {"rnage": {}}}')
    assert garbled["total"]["value"] == len(live), "an unknown filter must be ignored"


def test_soft_and_hard_delete():
    victim = "svc.db.shop.t09"
    t = om.delete_table(victim)
    assert t["deleted"] and t["version"] == 0.2, t
    expect_error(*call("GET", "/tables/name/" + victim), 404)
    status, out = call("GET", "/tables/name/" + victim + qs(include="all"))
    assert status == 200 and out["deleted"] is True, out
    _, lst = call("GET", "/tables" + qs(limit=1000))
    assert victim not in {x["fullyQualifiedName"] for x in lst["data"]}
    _, dl = call("GET", "/tables" + qs(limit=1000, include="deleted"))
    assert [x["fullyQualifiedName"] for x in dl["data"]] == [victim], dl
    assert [h["_id"] for h in search(deleted="true")["hits"]] == [t["id"]]
    assert call("DELETE", f"/tables/{t['id']}" + qs(hardDelete="true"))[0] == 200
    assert om.table(victim) is None
    expect_error(*call("GET", "/tables/name/" + victim + qs(include="all")), 404)


def test_human_edit_and_fail_next():
    t = om.human_edit("svc.db.bank.t07", [{"op": "add", "path": "/description",
                                           "value": "Curated."}], user="steward")
    assert t["updatedBy"] == "steward" and t["version"] == 0.2, t
    om.fail_next(2, status=503, method="GET", path_prefix="/tables")
    assert call("GET", "/tables")[0] == 503
    assert call("PATCH", "/tables/name/svc.db.bank.t07", [], ctype=PATCH_JSON)[0] == 200
    assert call("GET", "/tables/name/svc.db.bank.t07")[0] == 503
    assert call("GET", "/tables")[0] == 200


def test_put_and_post_tables():
    body = create("t05")
    expect_error(*call("POST", "/tables", body), 409)
    status, out = call("PUT", "/tables", dict(body, description="From ingestion."))
    assert status == 200 and out["description"] == "From ingestion." and out["version"] == 0.2
    om.human_edit("svc.db.bank.t05", [{"op": "add", "path": "/description",
                                       "value": "Steward's words."}])
    status, out = call("PUT", "/tables", dict(body, description="Bot again."))
    assert status == 200 and out["description"] == "Steward's words.", out
    assert out["version"] == 0.3, "a PUT that changes nothing bumped the version"
    status, out = call("POST", "/tables", create("fresh", schema="extra"))
    assert status == 201 and out["fullyQualifiedName"] == "svc.db.extra.fresh", out
    no_len = create("bad", columns=[{"name": "v", "dataType": "VARCHAR"}])
    expect_error(*call("PUT", "/tables", no_len), 400, ["dataLength"])
    expect_error(*call("PUT", "/tables", raw=b"{not json"), 400)
    take_schema_errors("api/data/createTable.json", "not JSON")
    expect_error(*call("PUT", "/tables", dict(body, owner="x")), 400)
    take_schema_errors("api/data/createTable.json", "owner")
    om.delete_table("svc.db.extra.fresh", hard=True)


class _Receiver(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def test_change_event_signature():
    vec = om.sign("Jefe", b"what do ya want for nothing?")  # RFC 4231 test case 2
    assert vec == "sha256=" + base64.b64encode(bytes.fromhex(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")).decode()
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
        status, text = om.send_change_event(url, "s3cret", "entityUpdated", TARGET,
                                            user_name="steward")
    finally:
        srv.shutdown()
        srv.server_close()
    assert (status, text) == (202, "ok")
    headers, body = _Receiver.got[-1]
    mac = hmac.new(b"s3cret", body, hashlib.sha256).digest()
    assert headers["x-om-signature"] == "sha256=" + base64.b64encode(mac).decode(), headers
    ev = json.loads(body)
    assert SCHEMAS.errors("type/changeEvent.json", ev) == []
    assert (ev["eventType"], ev["entityId"], ev["entityFullyQualifiedName"], ev["userName"]) == \
        ("entityUpdated", om.table(TARGET)["id"], TARGET, "steward"), ev
    tampered = body.replace(b"steward", b"catalog-sync-bot")
    assert om.sign("s3cret", tampered) != headers["x-om-signature"]
    assert om.sign("wrong", body) != headers["x-om-signature"]
    gone = json.loads(om.change_event("entityDeleted", "svc.db.x.y", entityId=ev["entityId"]))
    assert gone["eventType"] == "entityDeleted" and gone["entityId"] == ev["entityId"]


SEED_SQL = """
create schema s1;
create type s1.mood as enum ('ok', 'meh');
create table s1.parent (id bigint primary key, code varchar(8) not null unique,
  label text, amount numeric(12,2), at timestamptz, flag boolean, doc jsonb,
  uid uuid, born date, tags int[], m s1.mood, ch char(2), free varchar);
create table s1.child (a int, b int, parent_id bigint references s1.parent(id),
  primary key (a, b), unique (b, parent_id));
comment on table s1.parent is 'Parents';
create view s1.v as select id from s1.parent;
"""


def test_seed_demo_maps_catalog():
    dsn = cs.new_db("fakeom")
    cs.query(dsn, SEED_SQL)
    db = cs.dsn_db(dsn)
    fresh = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
    tables = register_demo(fresh, dsn, database=db, schemas=("s1",))
    assert [t["fullyQualifiedName"] for t in tables] == \
        [f"demo_pg.{db}.s1.child", f"demo_pg.{db}.s1.parent"], tables
    child, parent = tables
    cols = {c["name"]: c for c in parent["columns"]}
    want = {"id": ("BIGINT", "PRIMARY_KEY"), "code": ("VARCHAR", "UNIQUE"),
            "label": ("TEXT", "NULL"), "amount": ("NUMERIC", "NULL"),
            "at": ("TIMESTAMPZ", "NULL"), "flag": ("BOOLEAN", "NULL"), "doc": ("JSON", "NULL"),
            "uid": ("UUID", "NULL"), "born": ("DATE", "NULL"), "tags": ("ARRAY", "NULL"),
            "m": ("ENUM", "NULL"), "ch": ("CHAR", "NULL"), "free": ("VARCHAR", "NULL")}
    assert {n: (c["dataType"], c["constraint"]) for n, c in cols.items()} == want, cols
    assert cols["code"]["dataLength"] == 8 and cols["free"]["dataLength"] == 1
    assert (cols["amount"]["precision"], cols["amount"]["scale"]) == (12, 2)
    assert cols["tags"]["arrayDataType"] == "INT" and cols["ch"]["dataLength"] == 2
    assert cols["amount"]["dataTypeDisplay"] == "numeric(12,2)"
    assert "description" not in parent, "comments are copied only with descriptions=True"
    assert sorted((c["constraintType"], c["columns"]) for c in child["tableConstraints"]) == \
        [("PRIMARY_KEY", ["a", "b"]), ("UNIQUE", ["b", "parent_id"])], child
    assert {c["name"]: c["constraint"] for c in child["columns"]} == \
        {"a": "NOT_NULL", "b": "NOT_NULL", "parent_id": "NULL"}, child["columns"]
    fresh2 = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
    described = register_demo(fresh2, dsn, database=db, schemas=("s1",), descriptions=True)
    assert described[1]["description"] == "Parents"
    assert fresh.schema_errors == [] and fresh2.schema_errors == []


def test_seed_demo_registers_the_demo_database():
    dsn = cs.new_db("fakeom_demo")
    cs.load_demo(dsn)
    db = cs.dsn_db(dsn)
    fresh = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
    tables = register_demo(fresh, dsn, database=db)
    want = {f"demo_pg.{db}.{s}.{t}" for s, t in cs.query(dsn, """
        select table_schema, table_name from information_schema.tables
         where table_schema in ('bank', 'shop') and table_type = 'BASE TABLE'""")}
    assert {t["fullyQualifiedName"] for t in tables} == want and len(want) > 10, tables
    for t in tables:
        kinds = {c["constraintType"] for c in t.get("tableConstraints") or []}
        assert "PRIMARY_KEY" in kinds and "FOREIGN_KEY" not in kinds, t
        assert all(c["dataType"] != "UNKNOWN" for c in t["columns"]), t["columns"]
        assert t["version"] == 0.1 and t["updatedBy"] == "admin", t
    assert fresh.schema_errors == []


try:
    cs.main([test_auth_required_with_server_error_shape, test_table_shape_and_field_gating,
             test_paging_covers_every_table_exactly_once,
             test_patch_needs_json_patch_content_type, test_patch_is_atomic_and_bumps_version,
             test_invalid_and_unknown_tag_labels_are_refused, test_second_pii_tag_is_refused,
             test_suggestions_validated_resolved_and_applied,
             test_lineage_checks_entities_and_columns, test_search_range_filter_sort_and_paging,
             test_soft_and_hard_delete, test_human_edit_and_fail_next, test_put_and_post_tables,
             test_change_event_signature, test_seed_demo_maps_catalog,
             test_seed_demo_registers_the_demo_database])
finally:
    om.stop()
