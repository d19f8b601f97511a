"""`catalog-sync once` over the demo database, published to the fake
OpenMetadata (tests/fakes/openmetadata.py, which validates every request body
against OpenMetadata 1.13's schemas): discovery_postgres (service demo_pg, the
tables registered in the fake by seed_demo.register_demo) -> profile -> pii_tag,
fingerprint, a stand-in describe pass -> fk_discover -> publish_openmetadata.

Suggest mode: one tag suggestion per PII column, a description suggestion per
empty description, a lineage edge per confirmed foreign key; a second run,
and a run after stewards accepted and rejected suggestions, send no write.
Apply mode: guarded patches that leave a steward's description alone and
recover from a burst of 500s.  Every write has its audit_log row; no token
and no planted value reaches a log, a request or the state store."""
import json
import os
import subprocess
import sys
from urllib.parse import urlparse

import cslib as cs

SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
if not os.path.isdir(os.path.join(SHARED, "contracts", "openmetadata")):
    cs.skip(f"{os.path.join(SHARED, 'contracts', 'openmetadata')} is absent: "
            "the OpenMetadata schemas the fake validates against are needed")
sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from openmetadata import FakeOpenMetadata, schemas_dir  # noqa: E402
from seed_demo import register_demo  # noqa: E402

if schemas_dir() is None:
    cs.skip("../shared/contracts/openmetadata is absent: the fake cannot validate")

TOKEN = "om-test-token-4ff1c2"
BOT = "catalog-sync-bot"
WRITES = ("POST", "PUT", "PATCH", "DELETE")

state = cs.new_db("pub_state")
demo = cs.new_db("pub_demo")
cs.load_demo(demo)
db = cs.dsn_db(demo)
wd = cs.Workdir("publish")
om = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
base = om.start()
# with the Postgres comments as descriptions, as OpenMetadata's ingestion does:
# those are a person's words and must be left alone
register_demo(om, demo, service="demo_pg", database=db, descriptions=True)
logs = []
run = {}


def fqn(table):
    return f"demo_pg.{db}.{table}"


def build_fixture():
    out = wd.file("describe_fixture.so")
    subprocess.run([os.path.join(cs.SRC, "tests", "passes", "build.sh"), cs.install_prefix(),
                    os.path.join(cs.SRC, "tests", "passes", "describe_fixture.c"), out],
                   check=True)
    return out


def manifest(mode, name, path):
    publish = {"name": name, "plugin": "publish_openmetadata", "kind": "entity",
               "inputs": ["table", "pii?", "fk?", "description?"], "outputs": ["published"],
               "config": {"base_url": base, "mode": mode, "bot_name": BOT,
                          "backoff_ms": 100, "retry_budget_ms": 20000}}
    passes = cs.demo_passes(sample_percent=100, extra=[
        {"name": "pii_tag", "plugin": "pii_tag", "kind": "entity",
         "inputs": ["table", "sample", "profile"], "outputs": ["pii"]},
        {"name": "fingerprint", "plugin": "fingerprint", "kind": "entity",
         "inputs": ["table", "sample", "profile"], "outputs": ["fingerprint"]},
        {"name": "describe", "plugin": fixture, "kind": "entity",
         "inputs": ["table"], "outputs": ["description"]},
        {"name": "fk_discover", "plugin": "fk_discover", "kind": "batch",
         "inputs": ["fingerprint"], "outputs": ["fk"]},
        publish])
    for p in passes:
        if p["name"] == "discovery":
            p["config"].update(service="demo_pg", full=True)
        if p["name"] == "profile":
            p["config"]["sample_rows"] = 1000
    m = cs.manifest(state, demo, passes)
    m["egress"].append(f"127.0.0.1:{urlparse(base).port}")
    return cs.write_manifest(wd.file(path), m)


fixture = build_fixture()
m_suggest = manifest("suggest", "publish", "m-suggest.json")
m_apply = manifest("apply", "publish_apply", "m-apply.json")


def once(mpath, name):
    report = wd.file(f"report-{name}.json")
    p = cs.run_cli("once", "-m", mpath, "--report", report, "--log-format", "json",
                   env={"OPENMETADATA_TOKEN": TOKEN})
    logs.append(p.stderr + p.stdout)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report) as f:
        r = json.load(f)
    assert r["summary"]["failed"] == 0, r.get("failures")
    return r


def writes(since=0):
    return [r for r in om.requests[since:] if r["method"] in WRITES]


def audits(actions=("suggest", "patch", "lineage.put")):
    return cs.scalar(state, "select count(*) from catalog_sync.audit_log where action = any(%s)",
                     (list(actions),))


def aspect_rows(name):
    rows = cs.query(state, "select fqn, value from catalog_sync.aspects where aspect = %s",
                    (name,))
    return {f: (v if isinstance(v, dict) else json.loads(v)) for f, v in rows}


def tagged_columns():
    """{(table fqn, column): tag} of every column pii_tag tagged."""
    out = {}
    for table, pii in aspect_rows("pii").items():
        for col, e in pii["columns"].items():
            if e.get("status") == "tagged" and e.get("tag"):
                out[(table, col)] = e["tag"]
    return out


def confirmed_edges():
    """{(child fqn, child column): (parent fqn, parent column)}, self-references excluded."""
    out = {}
    for child, fk in aspect_rows("fk").items():
        for e in fk["edges"]:
            if e["status"] == "confirmed" and e["toTable"] != child:
                out[(child, e["fromColumns"][0])] = (e["toTable"], e["toColumns"][0])
    return out


def link(table, column=None):
    return f"<#E::table::{table}>" if column is None else f"<#E::table::{table}::columns::{column}>"


def test_first_run_suggests_and_puts_lineage():
    tables = [om.table(fqn(t)) for t in demo_tables()]
    assert all(tables), "register_demo did not register every demo table"
    run["empty_cols"] = {(t["fullyQualifiedName"], c["name"]) for t in tables
                         for c in t["columns"] if not c.get("description")}
    run["described"] = {t["fullyQualifiedName"] for t in tables if t.get("description")}
    assert run["empty_cols"], "demo changed: every column has a comment"
    assert run["described"], "register_demo copied no comment into a description"
    once(m_suggest, "first")
    run["suggestions"] = len(om.suggestions)
    assert om.schema_errors == [], om.schema_errors
    tagged = tagged_columns()
    assert (fqn("bank.customers"), "email") in tagged, tagged
    tag_sugg = {(s["entityLink"], tl["tagFQN"]) for s in om.suggestions
                if s["type"] == "SuggestTagLabel" for tl in s["tagLabels"]}
    for (table, col), tag in tagged.items():
        assert (link(table, col), tag) in tag_sugg, (table, col, tag, sorted(tag_sugg))
    assert len(tag_sugg) == len(tagged), (sorted(tag_sugg), tagged)
    for s in om.suggestions:
        assert s["createdBy"]["name"] == BOT, s
        for tl in s.get("tagLabels") or []:
            assert tl == {"tagFQN": tl["tagFQN"], "source": "Classification",
                          "labelType": "Automated", "state": "Suggested"}, tl
    desc_links = {s["entityLink"] for s in om.suggestions if s["type"] == "SuggestDescription"}
    # a description a person wrote (the Postgres comments) gets no suggestion
    want = {link(t, c) for t, c in run["empty_cols"]} | \
        {link(t["fullyQualifiedName"]) for t in tables if not t.get("description")}
    assert desc_links == want, sorted(desc_links ^ want)
    published = aspect_rows("published")
    for table in run["described"]:
        skipped = {s["field"]: s["reason"] for s in published[table]["skipped"]}
        assert "person" in skipped.get("description", ""), (table, skipped)
    edges = confirmed_edges()
    assert edges, "fk_discover found no edge in the demo"
    stored = {(e["toEntity"]["id"], lc["toColumn"], e["fromEntity"]["id"], lc["fromColumns"][0])
              for e in om.lineage for lc in e["lineageDetails"]["columnsLineage"]}
    for (child, col), (parent, pcol) in edges.items():
        key = (om.table(child)["id"], f"{child}.{col}", om.table(parent)["id"], f"{parent}.{pcol}")
        assert key in stored, (child, col, parent, pcol, stored)
    # one edge per pair of tables, every foreign key of the pair in it
    pairs = {(child, parent) for (child, _), (parent, _) in edges.items()}
    assert len(om.lineage) == len(pairs), (len(om.lineage), sorted(pairs))


def test_every_write_has_an_audit_row():
    n_writes = len(writes())
    assert n_writes == len(om.suggestions) + len(om.lineage), n_writes
    assert audits() == n_writes, (audits(), n_writes)
    rows = cs.query(state, """select target, action, field, new_value from catalog_sync.audit_log
                               where action = 'suggest' and field like 'columns.%%.tags'""")
    ids = {s["id"] for s in om.suggestions}
    for target, action, field, new in rows:
        assert target.startswith("openmetadata:table/"), target
        assert (new if isinstance(new, dict) else json.loads(new))["suggestion"] in ids, new
    for f, p in aspect_rows("published").items():
        assert p["status"] in ("published", "unchanged"), (f, p)


def test_second_run_sends_no_write():
    n = len(om.requests)
    audited = audits()
    once(m_suggest, "second")
    assert writes(n) == [], [(r["method"], r["path"]) for r in writes(n)]
    assert audits() == audited
    assert len(om.suggestions) == run["suggestions"]


def test_steward_decisions_stand():
    tags = [s for s in om.suggestions if s["type"] == "SuggestTagLabel"]
    assert len(tags) >= 2, tags
    om.accept_suggestion(tags[0]["id"], user="steward")
    om.reject_suggestion(tags[1]["id"], user="steward")
    n = len(om.requests)
    once(m_suggest, "after-steward")
    assert writes(n) == [], [(r["method"], r["path"]) for r in writes(n)]
    assert om.schema_errors == [], om.schema_errors


def test_apply_mode_keeps_steward_description_and_survives_500s():
    table = fqn("shop.orders")
    col = sorted(c for t, c in run["empty_cols"] if t == table)[0]
    idx = [c["name"] for c in om.table(table)["columns"]].index(col)
    om.human_edit(table, [{"op": "add", "path": "/description",
                           "value": "Orders, curated by the data steward."},
                          {"op": "add", "path": f"/columns/{idx}/description",
                           "value": "Written by the data steward."}], user="steward")
    om.fail_next(3, status=500, method="PATCH")
    n = len(om.requests)
    patched = audits(("patch",))
    report = once(m_apply, "apply")
    assert om.schema_errors == [], om.schema_errors
    after = om.table(table)
    assert after["description"] == "Orders, curated by the data steward.", after
    assert after["columns"][idx]["description"] == "Written by the data steward.", after
    patches = [r for r in om.requests[n:] if r["method"] == "PATCH"]
    assert len(patches) > 3, len(patches)  # the three that got a 500 were sent again
    for r in patches:
        ctype = {k.lower(): v for k, v in r["headers"].items()}.get("content-type", "")
        assert ctype.startswith("application/json-patch+json"), r["headers"]
        ops = json.loads(r["body"])
        for i, op in enumerate(ops):
            if op["path"].startswith("/columns/") and op["op"] != "test":
                idx = op["path"].split("/")[2]
                assert any(o["op"] == "test" and o["path"] == f"/columns/{idx}/name"
                           for o in ops[:i]), ops
    # the first three PATCHes got the injected 500; one audit row per field
    # of every patch that went through
    fields = sum(1 for r in patches[3:] for op in json.loads(r["body"]) if op["op"] != "test")
    assert fields > 0 and audits(("patch",)) - patched == fields, (audits(("patch",)), fields)
    # a column nobody described now holds the stand-in's text, written by the bot
    for t, c in sorted(run["empty_cols"]):
        if t == fqn("shop.carriers"):
            got = next(x for x in om.table(t)["columns"] if x["name"] == c)
            assert got.get("description") == f"Fixture description of column {c}.", got
    assert om.table(fqn("shop.carriers"))["updatedBy"] == BOT
    skipped = {s["field"]: s["reason"] for s in
               report["entities"][table]["aspects"]["published"]["skipped"]}
    assert "person" in skipped.get("description", ""), skipped
    assert "person" in skipped.get(f"columns.{col}.description", ""), skipped
    # tags applied in place of nothing: one PII label per column at most
    for t in demo_tables():
        for c in om.table(fqn(t))["columns"]:
            pii = [tl for tl in c.get("tags") or [] if tl["tagFQN"].startswith("PII.")]
            assert len(pii) <= 1, (t, c["name"], pii)
    n = len(om.requests)
    once(m_apply, "apply-again")
    assert writes(n) == [], [(r["method"], r["path"]) for r in writes(n)]


def test_nothing_secret_or_sampled_leaves():
    text = "".join(logs)
    assert TOKEN not in text, "the token reached a log line"
    bodies = b"".join(r["body"] or b"" for r in om.requests).decode(errors="replace")
    dumped = cs.scalar(state, """select coalesce(string_agg(t::text, ' '), '') from (
                                   select value::text as t from catalog_sync.aspects
                                    where aspect in ('published', 'pii', 'fk', 'description')
                                   union all select row_to_json(a)::text from catalog_sync.audit_log a
                                   union all select value::text from catalog_sync.pass_state) x""")
    for value in cs.PLANTED:
        assert value not in text, f"planted value {value!r} in the logs"
        assert value not in bodies, f"planted value {value!r} sent to OpenMetadata"
        assert value not in dumped, f"planted value {value!r} in the state store"


def demo_tables():
    return [t for (t,) in cs.query(demo, """
        select table_schema || '.' || table_name from information_schema.tables
         where table_schema in ('bank', 'shop') and table_type = 'BASE TABLE'
         order by 1""")]


try:
    cs.main([test_first_run_suggests_and_puts_lineage, test_every_write_has_an_audit_row,
             test_second_run_sends_no_write, test_steward_decisions_stand,
             test_apply_mode_keeps_steward_description_and_survives_500s,
             test_nothing_secret_or_sampled_leaves])
finally:
    om.stop()
