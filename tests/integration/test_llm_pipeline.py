"""The LLM part of manifests/full.yaml, end to end against the fakes
(fullstack.py): descriptions and PII votes from the chat fake, embeddings
from a second fake, Milvus and OpenMetadata.

- A run describes every table and column, suggests the descriptions in
  OpenMetadata, votes on PII and fills Milvus; every description obeys
  the word limit and none replaces a person's.
- Privacy: every PII value of the demo database (the planted canaries and
  every value of its personal-data columns) is searched for in every
  request body every fake received, with vote=recognizers and again with
  vote=both (where the LLM's silence on names holds back pii_tag's tag
  and mask must still hide them).  One hit fails.
- The chat endpoint down for the whole run: the run completes; the
  entities fail with the reason (no description); PII and Milvus are
  done anyway.
- The chat endpoint flapping: no entity is lost."""
import json
import re
import threading
import time

import cslib as cs
from fullstack import Stack

st = Stack("llm")
demo, db = st.demo, st.db
MAX_WORDS = 20
FAST = {"CS_LLM_COOLDOWN": "1s"}

# Columns of the demo database that hold personal data (tests/pii/README.md
# label policy), and the canaries planted in it.
PII_COLUMNS = {
    "bank.customers": ["first_name", "last_name", "email", "phone", "address",
                       "national_id"],
    "bank.employees": ["first_name", "last_name", "email"],
    "bank.accounts": ["iban"],
    "bank.cards": ["card_number"],
    "shop.customers": ["email", "full_name", "phone"],
}
PLANTED = ["planted.canary.7731@example.org", "+33 6 12 34 56 78",
           "4539148803436467", "FR7630006000011234567890189"]


def personal_values():
    vals = set(PLANTED)
    for table, cols in PII_COLUMNS.items():
        for c in cols:
            rows = cs.query(demo, f"select distinct {c}::text from {table} where {c} is not null")
            vals.update(r[0] for r in rows if len(r[0]) >= 3)
    # Birth dates, except those that are also a date of some other column
    # (an order or hiring date is no evidence of a leak).
    others = cs.query(demo, """
        select string_agg(format('select %I::date::text d from %I.%I', column_name,
                                 table_schema, table_name), ' union ')
        from information_schema.columns
        where table_schema in ('bank', 'shop') and column_name <> 'date_of_birth'
          and data_type in ('date', 'timestamp with time zone',
                            'timestamp without time zone')""")[0][0]
    rows = cs.query(demo, "select distinct date_of_birth::text from bank.customers "
                          f"except select d from ({others}) o")
    vals.update(r[0] for r in rows)
    return vals


def bodies():
    """Every request body each fake received, as text."""
    out = {
        "chat LLM": st.chat.raw_text(),
        "embeddings LLM": st.embed.raw_text(),
        "Milvus": "\n".join(r.get("raw") or "" for r in st.milvus.requests),
        "OpenMetadata": "\n".join(
            (r["body"].decode() if isinstance(r["body"], bytes) else str(r["body"] or ""))
            for r in st.om.requests),
    }
    return out


TOKEN = re.compile(r"[^\s\"',:;\[\]{}()<>\\]+")


def tokens(text):
    """Every run of non-separator characters, also without its trailing
    dots (a value at the end of a sentence)."""
    out = set()
    for t in TOKEN.findall(text):
        out.add(t)
        out.add(t.rstrip("."))
    return out


def assert_no_personal_value(values):
    for who, text in bodies().items():
        toks = tokens(text)
        for v in values:
            words = v.split()
            # A value is searched as a whole only when each of its words
            # is a token of the text: fast, and exact for single words.
            if all(w in toks for w in words) and (len(words) == 1 or v in text):
                raise AssertionError(
                    f"a personal value of the demo database reached {who}: {v[:3]}...")


def descriptions_of_run():
    return st.aspects("description")


def test_full_run_describes_votes_and_embeds():
    r = st.once("first", **FAST)
    assert r["summary"]["done"] >= 14, r["summary"]
    desc = descriptions_of_run()
    assert len(desc) >= 14, sorted(desc)
    for fqn, d in desc.items():
        assert d["source"] == "describe_llm"
        texts = [c["description"] for c in d["columns"].values()]
        if "table" in d:
            texts.append(d["table"]["description"])
        assert texts, fqn
        for t in texts:
            assert 0 < len(t.split()) <= MAX_WORDS, (fqn, t)
            assert not re.search(r"<[A-Z_]+_\d+>", t), (fqn, t)
        assert len(d["prompt_hash"]) == 64 and d["attempts"], d
        assert d["model"] == "small-instruct", d["model"]
    votes = st.aspects("pii_llm")
    assert len(votes) >= 14
    email = next(v for f, v in votes.items() if f.endswith("bank.customers"))
    assert email["columns"]["email"]["entity"] == "EMAIL", email
    # Descriptions went to OpenMetadata as suggestions, all schema-valid.
    sugg = [s for s in st.om.suggestions if s["type"] == "SuggestDescription"]
    assert len(sugg) >= 14 * 3, len(sugg)
    assert st.om.schema_errors == [], st.om.schema_errors
    # One Milvus record per table and per column, with our descriptions.
    recs = st.milvus.collections["catalog_metadata"]["records"]
    assert sum(1 for k in recs if k.count(".") == 3) >= 14, sorted(recs)[:5]
    assert any("Attribute email recorded" in json.dumps(v) for v in recs.values())
    # The prompts carried masked rows: placeholders, not values.
    assert "<EMAIL_1>" in st.chat.raw_text()


def test_person_descriptions_are_never_replaced():
    fqn = f"demo_pg.{db}.bank.branches"
    link = f"<#E::table::{fqn}::columns::code>"

    def ours():
        return [s for s in st.om.suggestions
                if s["type"] == "SuggestDescription" and s["entityLink"] == link]
    before = len(ours())
    st.om.human_edit(fqn, [{"op": "add", "path": "/columns/1/description",
                            "value": "Branch code used by the back office"}])
    st.once("human", **FAST)
    d = descriptions_of_run()[fqn]
    assert "code" in d["kept"], d
    assert "code" not in d["columns"], d
    assert len(ours()) == before, ours()
    col = next(c for c in st.om.table(fqn)["columns"] if c["name"] == "code")
    assert col["description"] == "Branch code used by the back office", col


def test_nothing_personal_leaves_with_either_vote():
    values = personal_values()
    assert len(values) > 1000, len(values)
    assert_no_personal_value(values)
    # Again with vote=both: a changed plan re-processes every table.
    st.chat.reset()
    st.embed.reset()
    st.once("both", CS_PII_VOTE="both", **FAST)
    pii = st.aspects("pii")
    names = pii[f"demo_pg.{db}.bank.customers"]["columns"]["first_name"]
    assert names["status"] == "candidate" and names.get("vote_blocked"), names
    assert st.chat.raw_text(), "the vote=both run sent no prompt"
    assert_no_personal_value(values)


def test_chat_down_for_the_whole_run():
    st.rediscover()
    st.chat.down = True
    before = len(st.milvus.requests)
    try:
        r = st.once("down", allow_failed=True, CS_LLM_WAIT_MS="1500", **FAST)
    finally:
        st.chat.down = False
    fails = {}
    for f in r.get("failures", []):  # one entry per failed job (stage)
        fails.setdefault(f["fqn"], {}).update(f["errors"] or {})
    assert len(fails) >= 14, r["summary"]
    for fqn, errs in fails.items():
        assert set(errs) <= {"describe", "pii_vote"}, (fqn, errs)
        assert "no description" in errs["describe"], errs
        assert "unavailable" in errs["describe"] or "timed out" in errs["describe"], errs
    run = cs.scalar(st.state, "select max(id) from catalog_sync.runs")
    assert cs.scalar(st.state, "select status from catalog_sync.runs where id = %s",
                     (run,)) == "completed"
    # PII tags and Milvus were still done in this run.
    for aspect in ("pii", "embedding"):
        n = cs.scalar(st.state, "select count(*) from catalog_sync.aspects "
                                "where aspect = %s and run_id = %s", (aspect, run))
        assert n >= 14, (aspect, n)
    assert len(st.milvus.requests) > before


def test_chat_flapping_loses_no_entity():
    st.rediscover()
    stop = threading.Event()

    def flap():
        while not stop.is_set():
            st.chat.down = not st.chat.down
            time.sleep(0.4)
        st.chat.down = False

    seen = len(st.chat.log)
    t = threading.Thread(target=flap, daemon=True)
    t.start()
    try:
        r = st.once("flapping", CS_LLM_WAIT_MS="30000", **FAST)
    finally:
        stop.set()
        t.join()
    assert r["summary"]["failed"] == 0 and r["summary"]["done"] >= 14, r["summary"]
    dropped = [e for e in st.chat.log[seen:] if e["status"] == 0]
    assert dropped, "the endpoint never dropped a request: nothing was tested"
    run = cs.scalar(st.state, "select max(id) from catalog_sync.runs")
    n = cs.scalar(st.state, "select count(*) from catalog_sync.aspects "
                            "where aspect = 'description' and run_id = %s", (run,))
    assert n >= 14, n


try:
    cs.main([test_full_run_describes_votes_and_embeds,
             test_person_descriptions_are_never_replaced,
             test_nothing_personal_leaves_with_either_vote,
             test_chat_down_for_the_whole_run,
             test_chat_flapping_loses_no_entity])
finally:
    st.stop()
