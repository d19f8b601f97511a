"""The host's LLM client end to end: the real daemon runs an out-of-tree
pass (tests/passes/llm_pass.c) that calls llm_chat and llm_embed once per
entity against the fake OpenAI-compatible server (tests/fakes/openai.py).

Success path, 429 with Retry-After honoured, 503 bursts and garbage
retried, prose around the JSON accepted, a schema-breaking answer retried
once with a stricter instruction then failed, the circuit opening on a
dead endpoint (entities fail fast, the run completes), the concurrency
limit, the rate limit within 5 %, and the metrics."""
import json
import os
import re
import subprocess
import sys
import time

import cslib as cs

sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from openai import FakeLLM, embedding  # noqa: E402

API_KEY = "sk-llm-test-" + os.urandom(6).hex()
MARKER = "zq_marker_col"  # a column name: it is in every prompt

wd = cs.Workdir("llm")
with open(wd.file("llm-key"), "w") as f:
    f.write(API_KEY + "\n")
pass_so = os.path.join(wd.path, "llm_pass.so")
subprocess.run([os.path.join(cs.SRC, "tests", "passes", "build.sh"), cs.install_prefix(),
                os.path.join(cs.SRC, "tests", "passes", "llm_pass.c"), pass_so, "-lm"],
               check=True)

src = cs.new_db("llm_src")


def make_tables(n):
    """Schema l<n> with n tables of three columns."""
    schema = f"l{n}"
    cs.query(src, f"""create schema if not exists {schema};
      do $$ begin for i in 1..{n} loop
        execute format('create table if not exists {schema}.t%s
                        (id int primary key, email text, {MARKER} text)', i);
      end loop; end $$;""")
    return schema


def manifest(name, llm, schema, endpoint=None, pass_cfg=None, workers=4, **top):
    ep = {"url": llm.url, "api_key_file": wd.file("llm-key"),
          "chat_model": "qwen2.5:7b-instruct", "embedding_model": "nomic-embed-text",
          "dimensions": 16, "concurrency": 4, "timeout": "5s", "retries": 3}
    ep.update(endpoint or {})
    passes = [
        {"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
         "outputs": ["table"], "config": {"connection": "demo", "schemas": [schema], "full": True}},
        {"name": "describe", "plugin": pass_so, "kind": "entity", "inputs": ["table"],
         "outputs": ["llm_out"], "config": pass_cfg or {}},
    ]
    state = cs.new_db("llm_state")
    m = cs.manifest(state, src, passes, workers=workers,
                    egress=[f"127.0.0.1:{cs.port()}", f"127.0.0.1:{llm.port}"],
                    llm={"endpoints": {"default": ep}}, **top)
    return cs.write_manifest(wd.file(name), m), state


def run_once(path, *args, timeout=300):
    report = path + ".report.json"
    start = time.monotonic()
    p = cs.run_cli("once", "-m", path, "--report", report, *args, timeout=timeout)
    took = time.monotonic() - start
    assert p.returncode == 0, p.stderr[-3000:]
    with open(report) as f:
        return json.load(f), p, took


def outputs(state):
    return {fqn: v for fqn, v in cs.query(
        state, "select fqn, value from catalog_sync.aspects where aspect = 'llm_out'")}


def chat_times(llm):
    return [e["t"] for e in llm.log if e["path"].endswith("/chat/completions")]


def with_fake(fn, **kw):
    llm = FakeLLM(**kw)
    llm.start()
    try:
        fn(llm)
    finally:
        llm.stop()


# ---- tests -----------------------------------------------------------------

def test_success_path():
    def body(llm):
        schema = make_tables(6)
        llm.reverse_data = True  # data[] out of order: `index` decides
        path, state = manifest("ok.json", llm, schema)
        report, p, _ = run_once(path)
        assert report["summary"]["done"] == 6, report["summary"]
        outs = outputs(state)
        assert len(outs) == 6, outs.keys()
        for fqn, out in outs.items():
            cols = out["answer"]["columns"]
            assert set(cols) == {"id", "email", MARKER}, cols
            assert fqn.split(".")[-1] in out["answer"]["table"]["description"], out
            assert out["chat_attempts"] == 1 and out["dim"] == 16, out
            assert all(abs(n - 1.0) < 1e-4 for n in out["norms"]), out["norms"]
            want = [embedding("nomic-embed-text", c, 16)[:2] for c in ("id", "email", MARKER)]
            assert all(abs(a - b) < 1e-6 for got, exp in zip(out["heads"], want)
                       for a, b in zip(got, exp)), (out["heads"], want)
            assert out["model"] == "qwen2.5:7b-instruct" and out["prompt_tokens"] > 0, out
        chats, embeds = llm.chat_requests(), llm.embedding_requests()
        assert len(chats) == 6 and len(embeds) == 6, (len(chats), len(embeds))
        for c in chats:
            # Servers differ in defaults: both always sent; the schema as
            # response_format.
            assert c["temperature"] == 0 and c["top_p"] == 1, c
            assert c["response_format"]["type"] == "json_schema", c
            assert c["response_format"]["json_schema"]["schema"]["required"] == ["table", "columns"]
            assert c["messages"][0]["role"] == "system" and MARKER in c["messages"][1]["content"]
        for e in embeds:
            assert e["model"] == "nomic-embed-text" and e["dimensions"] == 16, e
            assert sorted(e["input"]) == sorted(["id", "email", MARKER]), e
        assert all(e["headers"].get("Authorization") == f"Bearer {API_KEY}" for e in llm.log)
        # Prompts stay out of info-level logs; the key out of every log.
        assert MARKER not in p.stderr and API_KEY not in p.stderr, p.stderr[-2000:]
    with_fake(body)


def test_prompts_logged_at_debug_only_and_redacted():
    def body(llm):
        schema = make_tables(1)
        path, _ = manifest("debug.json", llm, schema)
        _, p, _ = run_once(path, "--log-level", "debug")
        assert MARKER in p.stderr, "the prompt is logged at debug level"
        assert API_KEY not in p.stderr
    with_fake(body)


def test_429_retry_after_honoured():
    def body(llm):
        schema = make_tables(2)
        llm.fail_next(1, status=429, retry_after=2)
        path, state = manifest("429.json", llm, schema, endpoint={"concurrency": 1},
                               pass_cfg={"embed": False})
        report, _, _ = run_once(path)
        assert report["summary"]["done"] == 2, report
        log = [e for e in llm.log if e["path"].endswith("/chat/completions")]
        assert [e["status"] for e in log] == [429, 200, 200], [e["status"] for e in log]
        gap = log[1]["t"] - log[0]["t"]
        assert 1.9 <= gap < 4.0, f"waited {gap:.2f}s after Retry-After: 2"
        attempts = sorted(o["chat_attempts"] for o in outputs(state).values())
        assert attempts == [1, 2], attempts
    with_fake(body)


def test_503_bursts_and_garbage_retried():
    def body(llm):
        schema = make_tables(8)
        llm.fail_next(3, status=503)  # Ollama: no Retry-After
        llm.garbage_next(1)
        path, state = manifest("503.json", llm, schema, pass_cfg={"embed": False},
                               endpoint={"retries": 4})
        report, _, _ = run_once(path)
        assert report["summary"]["done"] == 8, report
        statuses = [e["status"] for e in llm.log]
        assert statuses.count(503) == 3 and len(statuses) == 8 + 4, statuses
        assert sum(o["chat_attempts"] for o in outputs(state).values()) == 12
    with_fake(body)


def test_prose_accepted_and_schema_breakers_retried_strictly():
    def answer(req):
        prompt = req["messages"][1]["content"]
        if ".t2\n" in prompt:
            return {"table": "not an object", "columns": {}}
        return None

    def body(llm):
        schema = make_tables(4)
        llm.prose_next(2)
        path, state = manifest("strict.json", llm, schema, pass_cfg={"embed": False})
        report, _, _ = run_once(path)
        assert report["summary"]["done"] == 3, report["summary"]
        [failure] = report["failures"]
        assert failure["fqn"].endswith(".t2"), failure
        why = failure["errors"]["describe"]
        assert "$.table: expected object, got string" in why, why
        assert "after a stricter retry" in why, why
        t2 = [c for c in llm.chat_requests() if ".t2\n" in c["messages"][1]["content"]]
        assert len(t2) == 2, len(t2)
        assert "Your previous answer could not be used" in t2[1]["messages"][-1]["content"]
        # Prose around the JSON is not worth a retry: 4 entities, 5 requests.
        assert len(llm.chat_requests()) == 5
    with_fake(body, answer=answer)


def test_circuit_opens_when_endpoint_down():
    def body(llm):
        schema = make_tables(30)
        llm.down = True
        path, state = manifest("down.json", llm, schema,
                               endpoint={"concurrency": 2, "retries": 1,
                                         "circuit": {"failures": 3, "cooldown": "10m"}},
                               pass_cfg={"embed": False})
        report, _, took = run_once(path)
        s = report["summary"]
        assert s["failed"] == 30 and s["done"] == 0, s
        reasons = [f["errors"]["describe"] for f in report["failures"]]
        fast = [r for r in reasons if "circuit open until" in r]
        assert len(fast) >= 25, reasons[:5]
        assert re.search(r"LLM endpoint default is unavailable \(circuit open until "
                         r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): ", fast[0]), fast[0]
        # The reason of the failures that opened it is kept.
        assert "Empty reply" in fast[0] or "Server returned nothing" in fast[0], fast[0]
        # Few requests reached the dead endpoint, and the run did not wait
        # for 30 x 2 attempts.
        assert len(llm.log) <= 10, len(llm.log)
        assert took < 60, took
    with_fake(body)


def test_concurrency_never_above_limit():
    def body(llm):
        # Pool threads claim entities 16 at a time: 64 keep 4 of them busy.
        schema = make_tables(64)
        path, _ = manifest("conc.json", llm, schema, endpoint={"concurrency": 3}, workers=8)
        report, _, _ = run_once(path)
        assert report["summary"]["done"] == 64, report
        assert llm.max_in_flight == 3, llm.max_in_flight
    with_fake(body, latency=0.05)


def test_rate_limit_within_five_percent():
    def body(llm):
        schema = make_tables(41)
        path, _ = manifest("rate.json", llm, schema, pass_cfg={"embed": False}, workers=8,
                           endpoint={"concurrency": 8, "rate_per_second": 10, "burst": 1})
        report, _, _ = run_once(path)
        assert report["summary"]["done"] == 41, report
        t = sorted(chat_times(llm))
        rate = (len(t) - 1) / (t[-1] - t[0])
        assert abs(rate - 10) <= 0.5, f"{rate:.2f} requests/s for a limit of 10"
    with_fake(body)


def test_metrics():
    def body(llm):
        schema = make_tables(3)
        api_port = cs.free_port()
        base = f"http://127.0.0.1:{api_port}"
        token = "llm-operator-" + os.urandom(8).hex()
        with open(wd.file("tokens"), "w") as f:
            f.write(f"operator {token} llm-test\n")
        llm.fail_next(2, status=503)
        path, state = manifest("metrics.json", llm, schema,
                               api={"listen": f"127.0.0.1:{api_port}",
                                    "tokens_file": wd.file("tokens")})
        d = cs.Daemon(path, wd.file("metrics.log"))
        try:
            cs.wait_for(lambda: cs.http("GET", base + "/readyz")[0] == 200, timeout=30,
                        what="readiness")
            # The daemon starts a run at start-up; the trigger makes sure.
            status, started = cs.http("POST", base + "/v1/runs", token=token)
            assert status in (200, 202), (status, started)
            cs.wait_for(lambda: cs.scalar(state, "select count(*) from catalog_sync.aspects "
                                          "where aspect = 'llm_out'") == 3,
                        timeout=60, what="three llm_out aspects")

            def metrics():
                text = cs.http("GET", base + "/metrics")[1]
                return text if 'kind="embed"' in text and "llm_errors_total" in text else None
            text = cs.wait_for(metrics, timeout=20, what="LLM metrics")
        finally:
            d.stop()
        series = {k: float(v) for k, v in re.findall(r'^(catalog_sync_llm_\S+) (\S+)$', text, re.M)}
        assert series['catalog_sync_llm_request_seconds_count{endpoint="default",kind="chat"}'] == 5, series
        assert series['catalog_sync_llm_request_seconds_count{endpoint="default",kind="embed"}'] == 3, series
        assert series['catalog_sync_llm_errors_total{endpoint="default",reason="http_5xx"}'] == 2, series
        assert series['catalog_sync_llm_tokens_total{endpoint="default",kind="prompt"}'] > 0
        assert series['catalog_sync_llm_tokens_total{endpoint="default",kind="completion"}'] > 0
    with_fake(body)


def test_check_refuses_endpoint_off_the_egress_list():
    llm = FakeLLM()
    llm.start()
    try:
        path, _ = manifest("egress.json", llm, make_tables(1))
        m = json.load(open(path))
        m["egress"] = [f"127.0.0.1:{cs.port()}"]
        cs.write_manifest(path, m)
        p = cs.run_cli("check", "-m", path)
        assert p.returncode == 1, p.stdout
        assert (f"llm.endpoints.default.url: egress refused: 127.0.0.1:{llm.port} is not in "
                "the manifest's egress list") in p.stderr, p.stderr
    finally:
        llm.stop()


if __name__ == "__main__":
    cs.main([test_success_path, test_prompts_logged_at_debug_only_and_redacted,
             test_429_retry_after_honoured, test_503_bursts_and_garbage_retried,
             test_prose_accepted_and_schema_breakers_retried_strictly,
             test_circuit_opens_when_endpoint_down, test_concurrency_never_above_limit,
             test_rate_limit_within_five_percent, test_metrics,
             test_check_refuses_endpoint_off_the_egress_list])
