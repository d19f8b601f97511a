"""`catalog-sync once` with a copy of manifests/pii-milvus.yaml, pointed by its
variables at the demo database, a fake Milvus (tests/fakes/milvus.py, REST v2,
validating like Milvus) and a fake embedding endpoint (tests/fakes/openai.py):
discovery_postgres -> profile_postgres -> pii_tag -> push_milvus.

One record per table and per column lands in the collection, with the
endpoint's vector for its text; a second run sends no upsert; a non-zero
Milvus code fails the affected entities with the code in the reason while
the run completes, and only their records go out on the next run; every
write has its audit row; no planted PII value reaches a request body of
either fake, a log or the state store."""
import json
import os
import shutil
import sys

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from milvus import FakeMilvus  # noqa: E402

try:
    from openai import FakeLLM, embedding  # noqa: E402
except ImportError as e:
    cs.skip(f"tests/fakes/openai.py (the fake embedding endpoint) is not usable: {e}")

TOKEN = "root:milvus-it-5e1d"
MODEL = "test-embed"
DIM = 16
COLLECTION = "catalog_metadata"

state = cs.new_db("mv_state")
demo = cs.new_db("mv_demo")
cs.load_demo(demo)
wd = cs.Workdir("milvus")
mv = FakeMilvus(token=TOKEN)
mv_base = mv.start()
llm = FakeLLM(dimensions=DIM)
llm.start()
manifest = wd.file("pii-milvus.yaml")
shutil.copy(os.path.join(cs.SRC, "manifests", "pii-milvus.yaml"), manifest)
ENV = {
    "CS_STATE_DSN": state, "CS_DEMO_DSN": demo,
    "CS_DEMO_HOST": "127.0.0.1", "CS_DEMO_PORT": str(cs.port()),
    "CS_MILVUS_HOST": "127.0.0.1", "CS_MILVUS_PORT": mv_base.rsplit(":", 1)[1],
    "MILVUS_TOKEN": TOKEN,
    "CS_EMBED_HOST": "127.0.0.1", "CS_EMBED_PORT": str(llm.port),
    "CS_EMBED_MODEL": MODEL, "CS_EMBED_DIM": str(DIM),
    "CS_PLUGIN_DIR": cs.PASS_DIR, "CS_API_LISTEN": f"127.0.0.1:{cs.free_port()}",
}
logs = []
seen = {}


def once(name):
    report = wd.file(f"report-{name}.json")
    p = cs.run_cli("once", "-m", manifest, "--report", report, env=ENV)
    logs.append(p.stdout + p.stderr)
    assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
    with open(report) as f:
        return json.load(f)


def rediscover():
    """Makes discovery list every table again on the next run."""
    cs.query(state, "delete from catalog_sync.watermarks")


def expected_ids(fqns):
    """{record id: kind} of the demo tables and their columns."""
    cols = cs.query(demo, """select table_schema, table_name, column_name
                               from information_schema.columns
                              where table_schema in ('bank', 'shop')""")
    out = {f: "table" for f in fqns}
    for schema, table, column in cols:
        for f in fqns:
            if f.endswith(f".{schema}.{table}"):
                out[f"{f}.{column}"] = "column"
    return out


def upserts(since=0):
    return [r["body"] for r in mv.requests[since:] if r["path"].endswith("/entities/upsert")]


def pii_aspects():
    rows = cs.query(state, "select fqn, value from catalog_sync.aspects where aspect = 'pii'")
    return {f: (v if isinstance(v, dict) else json.loads(v)) for f, v in rows}


def test_bundled_manifest_checks():
    # with its defaults (only the two DSNs set) and pointed at the fakes
    bundled = os.path.join(cs.SRC, "manifests", "pii-milvus.yaml")
    p = cs.run_cli("check", "-m", bundled, env={"CS_STATE_DSN": state, "CS_DEMO_DSN": demo,
                                                 "CS_PLUGIN_DIR": cs.PASS_DIR})
    assert p.returncode == 0, p.stdout + p.stderr
    p = cs.run_cli("check", "-m", manifest, "--load", env=ENV)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "push_milvus" in p.stdout and "no network" in p.stdout, p.stdout
    # an embedding model and no chat model at all
    with open(bundled) as f:
        text = f.read()
    assert "embedding_model:" in text and "chat_model" not in text


def test_first_run_one_record_per_table_and_column():
    r = once("first")
    assert r["summary"]["failed"] == 0, r.get("failures")
    fqns = sorted(r["entities"])
    assert len(fqns) >= 10, fqns
    seen["fqns"] = fqns
    want = expected_ids(fqns)
    records = mv.collections[COLLECTION]["records"]
    assert {k: v["kind"] for k, v in records.items()} == want, \
        sorted(set(records) ^ set(want))
    n_up = sum(len(b["data"]) for b in upserts())
    assert n_up == len(want), (n_up, len(want))  # each record sent once
    for rid, row in records.items():
        vec = row["embedding"]
        assert len(vec) == DIM, (rid, len(vec))
        ref = embedding(MODEL, row["text"], DIM)  # the endpoint's vector for that text
        assert max(abs(a - b) for a, b in zip(vec, ref)) < 1e-6, rid
        assert row["fqn"] == rid and row["table_fqn"] in fqns, row
    # the collection: declared schema, AUTOINDEX on the vector of the endpoint's dim
    coll = mv.collections[COLLECTION]
    assert coll["schema"]["enableDynamicField"] is False
    vec_field = [f for f in coll["schema"]["fields"] if f["fieldName"] == "embedding"][0]
    assert int(vec_field["elementTypeParams"]["dim"]) == DIM
    assert coll["indexes"][0]["indexType"] == "AUTOINDEX", coll["indexes"]
    # PII tags of pii_tag are in the column records (field and text)
    tagged = 0
    for table, pii in pii_aspects().items():
        for col, e in pii["columns"].items():
            row = records[f"{table}.{col}"]
            if e.get("status") == "tagged" and e.get("tag"):
                tagged += 1
                assert row["pii"] == e["tag"], (table, col, row["pii"])
                assert f"pii: {e['tag']}" in row["text"], row["text"]
            else:
                assert row["pii"] == "", (table, col, row["pii"])
    assert tagged >= 3, "pii_tag tagged too few demo columns to test anything"
    # the embedding endpoint saw the texts, batched, with the manifest's model
    embeds = llm.embedding_requests()
    assert embeds and all(b["model"] == MODEL for b in embeds), embeds[:1]
    assert all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in mv.requests)
    seen["requests"] = len(mv.requests)
    seen["embeds"] = len(embeds)
    seen["records"] = len(want)


def test_every_write_has_an_audit_row():
    rows = cs.query(state, """select target, action, new_value from catalog_sync.audit_log
                               where pass = 'push_milvus' and action in ('create', 'upsert')""")
    creates = [r for r in rows if r[1] == "create"]
    ups = [r for r in rows if r[1] == "upsert"]
    assert len(creates) == 1 and creates[0][0] == f"milvus:{COLLECTION}", creates
    assert len(ups) == len(upserts()), (len(ups), len(upserts()))
    assert sum(r[2]["count"] for r in ups) == seen["records"]
    assert {i for r in ups for i in r[2]["ids"]} == set(mv.collections[COLLECTION]["records"])
    assert all(r[0] == f"milvus:{COLLECTION}" for r in ups)


def test_second_run_sends_nothing():
    rediscover()
    r = once("second")
    assert r["summary"]["failed"] == 0, r.get("failures")
    assert sorted(r["entities"]) == seen["fqns"], "discovery did not list every table again"
    assert mv.requests[seen["requests"]:] == [], mv.requests[seen["requests"]:][:2]
    assert len(llm.embedding_requests()) == seen["embeds"]
    for fqn, e in r["entities"].items():
        assert e["aspects"]["embedding"]["status"] == "unchanged", (fqn, e["aspects"])


def test_milvus_error_code_fails_affected_entities():
    # forget what was sent, so that every table goes out again; two upserts fail
    cs.query(state, "delete from catalog_sync.pass_state where pass = 'push_milvus'")
    rediscover()
    since = len(mv.requests)
    mv.fail_next(2, code=1100, message="injected: invalid parameter", path="/entities/upsert")
    r = once("failing")
    assert r["run"]["status"] == "completed", r["run"]
    assert r["summary"]["failed"] == 2, r["summary"]
    failed = {f["fqn"]: f["errors"] for f in r["failures"]}
    for fqn, errors in failed.items():
        msg = errors["push_milvus"]
        assert "code 1100" in msg and "injected: invalid parameter" in msg, msg
        assert "entities/upsert" in msg, msg
    assert r["summary"]["done"] == len(seen["fqns"]) - 2
    seen["failed"] = set(failed)
    # the next run sends exactly the records of the two failed tables
    rediscover()
    since = len(mv.requests)
    r = once("recovery")
    assert r["summary"]["failed"] == 0, r.get("failures")
    sent = {row["table_fqn"] for b in upserts(since) for row in b["data"]}
    assert sent == seen["failed"], (sent, seen["failed"])


def test_no_planted_value_leaves():
    bodies = "\n".join(r["raw"] for r in mv.requests) + "\n" + llm.raw_text()
    stored = cs.query(state, """select value::text from catalog_sync.aspects
                                union all select value::text from catalog_sync.pass_state
                                union all select coalesce(new_value::text, '') ||
                                                 coalesce(evidence::text, '')
                                            from catalog_sync.audit_log""")
    everything = bodies + "\n".join(r[0] for r in stored) + "\n".join(logs)
    for v in cs.PLANTED:
        assert v not in everything, f"planted value {v!r} left the process"
    assert TOKEN not in "\n".join(logs)
    assert len(bodies) > 1000, "the fakes received almost nothing"


try:
    cs.main([test_bundled_manifest_checks,
             test_first_run_one_record_per_table_and_column,
             test_every_write_has_an_audit_row,
             test_second_run_sends_nothing,
             test_milvus_error_code_fails_affected_entities,
             test_no_planted_value_leaves])
finally:
    mv.stop()
    llm.stop()
