"""The deployment the product is for, end to end: manifests/full.yaml as
shipped, with OpenMetadata, Trino, the LLM and Milvus replaced by the
fakes under tests/fakes (see fullstack.py) (OpenMetadata validates every request body against its 1.13
schemas; Trino runs the SQL on the real demo database).  The demo tables
are registered in the fake catalog as demo_pg.<db>.<schema>.<table>.

One `once` must leave a tag suggestion for every column pii_tag tagged
and a lineage edge for every confirmed foreign key between two tables, all
schema-valid; a second run must send OpenMetadata nothing.  Then faults:
OpenMetadata answering 503 and 500 for a while, and a table dropped from
the engine after the catalog changed it: the run completes, that table
fails with its reason, the others are synced once, nothing is duplicated."""
import json

import cslib as cs
from fullstack import TOKEN, WRITES, Stack

PLANTED = ["planted.canary.7731@example.org", "+33 6 12 34 56 78",
           "4539148803436467", "FR7630006000011234567890189"]

st = Stack("e2e")
om, trino, demo, db, state, logs = st.om, st.trino, st.demo, st.db, st.state, st.logs


def once(name):
    return st.once(name)


def aspect_rows(name):
    return st.aspects(name)


def tagged_columns():
    out = set()
    for table, pii in aspect_rows("pii").items():
        for col, e in pii["columns"].items():
            if e.get("status") == "tagged" and e.get("tag"):
                out.add(f"<#E::table::{table}::columns::{col}>")
    return out


def confirmed_pairs():
    out = set()
    for child, fk in aspect_rows("fk").items():
        for e in fk["edges"]:
            if e["status"] == "confirmed" and e["toTable"] != child:
                out.add((e["toTable"], child))
    return out


def edge_pairs():
    ids = {t["id"]: t["fullyQualifiedName"] for t in om.tables()}
    return {(ids[e["fromEntity"]["id"]], ids[e["toEntity"]["id"]]) for e in om.lineage}


first_writes = []


def test_first_run_publishes_pii_and_foreign_keys():
    r = once("first")
    assert r["summary"]["done"] >= 14, r["summary"]
    assert om.schema_errors == [], om.schema_errors
    tagged = tagged_columns()
    assert len(tagged) >= 4, tagged
    suggested = {s["entityLink"] for s in om.suggestions if s["type"] == "SuggestTagLabel"}
    assert tagged <= suggested, tagged - suggested
    pairs = confirmed_pairs()
    # The demo's undeclared relationships between two tables (self-references
    # are a hierarchy, not lineage): bank and shop have 11 such table pairs.
    assert len(pairs) >= 11, pairs
    assert pairs == edge_pairs(), (pairs, edge_pairs())
    # Everything went through Trino as the configured user.
    assert trino.queries and all(q["user"] == "catalog-sync-e2e" for q in trino.queries)
    first_writes.extend(r_ for r_ in om.requests if r_["method"] in WRITES)


def test_second_run_sends_nothing_new():
    before = len(om.requests)
    once("second")
    writes = [r for r in om.requests[before:] if r["method"] in WRITES]
    assert writes == [], writes[:3]
    assert om.schema_errors == []


def test_nothing_planted_leaves_the_process():
    bodies = [(r["body"] or b"") for r in om.requests]
    text = b"\n".join(b if isinstance(b, bytes) else str(b).encode() for b in bodies)
    stored = json.dumps(cs.query(state, "select value from catalog_sync.aspects")) + \
        json.dumps(cs.query(state, "select new_value, evidence from catalog_sync.audit_log"))
    for v in PLANTED:
        assert v.encode() not in text, f"{v} was sent to OpenMetadata"
        assert v not in stored, f"{v} is in the state store"
        assert all(v not in log for log in logs), f"{v} is in a log"
    assert all(TOKEN not in log for log in logs)


def test_faults_are_contained():
    for t in ("shop.carriers", "bank.branches", "shop.reviews"):
        om.human_edit(f"demo_pg.{db}.{t}",
                      [{"op": "add", "path": "/description", "value": f"{t}, edited"}])
    cs.query(demo, "DROP TABLE shop.reviews")
    links_before = sorted((s["type"], s["entityLink"]) for s in om.suggestions)
    om.fail_next(2, status=503, method="GET", path_prefix="/api/v1/tables/")
    om.fail_next(2, status=500, method="GET", path_prefix="/api/v1/tables/name/")
    r = st.once("faults", allow_failed=True)
    failed = {f["fqn"]: f["errors"] for f in r.get("failures", [])}
    assert list(failed) == [f"demo_pg.{db}.shop.reviews"], failed
    assert "TABLE_NOT_FOUND" in json.dumps(failed), failed
    assert r["summary"]["done"] == 2, r["summary"]
    links = sorted((s["type"], s["entityLink"]) for s in om.suggestions)
    assert links == links_before, set(links) ^ set(links_before)
    assert len(links) == len(set(links)), "a suggestion was sent twice"
    assert om.schema_errors == []


try:
    cs.main([test_first_run_publishes_pii_and_foreign_keys, test_second_run_sends_nothing_new,
             test_faults_are_contained, test_nothing_planted_leaves_the_process])
finally:
    st.stop()
