"""manifests/full.yaml against the fakes, for the end-to-end tests.

    st = Stack("e2e")            # demo + state databases, every fake started
    report, log = st.once("first", CS_PII_VOTE="both")
    st.stop()

The fakes: OpenMetadata (validates every body against the 1.13 schemas in
../shared/contracts), Trino (runs the SQL on the demo database), two
OpenAI-compatible servers (`chat` for descriptions and the PII vote,
`embed` for embeddings, so one can be down while the other is up) and
Milvus.  The chat fake answers like a careful model would, from the
prompt alone (names, shapes, placeholders): see `catalog_answer`.
"""
import json
import os
import sys
from urllib.parse import urlparse

import cslib as cs

SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
if not os.path.isdir(os.path.join(SHARED, "contracts", "openmetadata")):
    cs.skip(f"{os.path.join(SHARED, 'contracts', 'openmetadata')} is absent: "
            "the OpenMetadata schemas the fake validates against are needed")
sys.path.insert(0, os.path.join(cs.SRC, "tests", "fakes"))
from fake_trino import FakeTrino  # noqa: E402
from milvus import FakeMilvus  # noqa: E402
from catalog_answers import catalog_answer  # noqa: E402
from openai import FakeLLM  # noqa: E402
from openmetadata import FakeOpenMetadata, schemas_dir  # noqa: E402
from seed_demo import register_demo  # noqa: E402

TOKEN = "om-e2e-token-93ad1"
MILVUS_TOKEN = "root:milvus-e2e-5521"
BOT = "catalog-sync-bot"
WRITES = ("POST", "PUT", "PATCH", "DELETE")

class Stack:
    def __init__(self, name):
        self.state = cs.new_db(f"{name}_state")
        self.demo = cs.new_db(f"{name}_demo")
        cs.load_demo(self.demo)
        self.db = cs.dsn_db(self.demo)
        self.wd = cs.Workdir(name)
        self.om = FakeOpenMetadata(schemas=schemas_dir(), token=TOKEN, bot=BOT)
        self.om_url = self.om.start()
        register_demo(self.om, self.demo, service="demo_pg", database=self.db)
        self.trino = FakeTrino(catalogs={"demo_pg": self.demo}, page_rows=200)
        self.trino_url = self.trino.start()
        self.chat = FakeLLM(answer=catalog_answer)
        self.chat_url = self.chat.start()
        self.embed = FakeLLM(dimensions=64)
        self.embed_url = self.embed.start()
        self.milvus = FakeMilvus(token=MILVUS_TOKEN)
        self.milvus_url = self.milvus.start()
        self.logs = []

    def env(self, **extra):
        def hp(url):
            return f"127.0.0.1:{urlparse(url).port}"
        e = {
            "CS_STATE_DSN": self.state,
            "CS_OM_URL": self.om_url,
            "OPENMETADATA_TOKEN": TOKEN,
            "CS_OM_BOT": BOT,
            "CS_TRINO_URL": self.trino_url,
            "CS_TRINO_USER": "catalog-sync-e2e",
            "CS_LLM_URL": self.chat_url,
            "CS_CHAT_MODEL": "small-instruct",
            "CS_FALLBACK_MODEL": "large-coder",
            "CS_EMBED_URL": self.embed_url,
            "CS_EMBED_MODEL": "embed-small",
            "CS_EMBED_DIM": "64",
            "CS_MILVUS_URL": self.milvus_url,
            "MILVUS_TOKEN": MILVUS_TOKEN,
            "CS_OM_HOSTPORT": hp(self.om_url),
            "CS_TRINO_HOSTPORT": hp(self.trino_url),
            "CS_LLM_HOSTPORT": hp(self.chat_url),
            "CS_EMBED_HOSTPORT": hp(self.embed_url),
            "CS_MILVUS_HOSTPORT": hp(self.milvus_url),
            "CS_STATE_HOSTPORT": f"127.0.0.1:{cs.port()}",
            "CS_PLUGIN_DIR": cs.PASS_DIR,
        }
        e.update(extra)
        return e

    def once(self, name, allow_failed=False, **extra):
        """Runs `once` on full.yaml; returns the report."""
        report = self.wd.file(f"report-{name}.json")
        p = cs.run_cli("once", "-m", os.path.join(cs.SRC, "manifests", "full.yaml"),
                       "--report", report, "--log-format", "json", env=self.env(**extra))
        self.logs.append(p.stderr + p.stdout)
        assert p.returncode == 0, f"once exited {p.returncode}:\n{p.stderr[-3000:]}"
        with open(report) as f:
            r = json.load(f)
        if not allow_failed:
            assert r["summary"]["failed"] == 0, r.get("failures")
        return r

    def aspects(self, name):
        rows = cs.query(self.state,
                        "select fqn, value from catalog_sync.aspects where aspect = %s", (name,))
        return {f: (v if isinstance(v, dict) else json.loads(v)) for f, v in rows}

    def rediscover(self):
        """Forgets the source's watermark: the next run sees every table."""
        cs.query(self.state, "delete from catalog_sync.watermarks")

    def stop(self):
        for f in (self.om, self.trino, self.chat, self.embed, self.milvus):
            f.stop()
