"""A fake OpenAI-compatible LLM server (LiteLLM / Ollama shapes) for tests.

    llm = FakeLLM(latency=0.0, answer=None)
    base = llm.start()            # "http://127.0.0.1:PORT"; the client adds /v1/...
    ...
    llm.stop()

POST /v1/chat/completions and /v1/embeddings answer like OpenAI (with
`usage`), deterministically:

- chat with `response_format` json_schema (or a JSON Schema quoted in the
  system message, as the host writes it for json_object/none endpoints):
  an answer built from the schema and the prompt: every object property is
  filled, objects keyed by column and arrays of {name: ...} items get one
  entry per column name found in the prompt, strings respect
  min/maxLength, arrays min/maxItems, enums take their first value;
- chat without a schema: a short sentence derived from the prompt;
- embeddings: one unit vector per text, seeded by a hash of model and
  text, of the requested `dimensions` (else `dimensions=` given here).

`answer(body)` (optional) overrides the chat content: return a string, a
dict/list (sent as JSON text) or None for the default.

Like a strict server it refuses (400, OpenAI error body) a chat request
without `model`, with empty `messages`, or without `temperature` or
`top_p`, and an embeddings request without `model` or `input`.

Faults, each for the next n requests: fail_next(n, status, retry_after)
(429 carries `retry-after` like LiteLLM when given; 503 is Ollama's busy
answer without it), timeout_next(n, seconds) (sleeps before answering),
garbage_next(n) (200 with a non-JSON body), prose_next(n) (the chat JSON
wrapped in prose and a ```json fence); `down = True` closes every
connection without an answer.

Recordings: `requests` (every parsed body, in arrival order), `log`
(dicts: path, body, raw, headers, peer = the client's port, one per kept-
alive connection, t = arrival time.monotonic(), status), `max_in_flight`,
`raw_text()` (every body as one string, for privacy checks).  Python
stdlib only.
"""
import hashlib
import json
import math
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUSY = "server busy, please try again.  maximum pending requests exceeded"


def _error(message, kind="invalid_request_error", code=None):
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# ---- answers built from a schema ----------------------------------------

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def _names_in_json(obj, out):
    """Column names from JSON quoted in a prompt: {"columns": [{"name": ...}]}
    or {"columns": {"<name>": ...}}."""
    if isinstance(obj, dict):
        cols = obj.get("columns")
        if isinstance(cols, list):
            out += [c["name"] for c in cols if isinstance(c, dict) and isinstance(c.get("name"), str)]
        elif isinstance(cols, dict):
            out += list(cols)
        for v in obj.values():
            _names_in_json(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _names_in_json(v, out)


def _json_blocks(text):
    """Every top-level {...} or [...] in text that parses as JSON."""
    dec = json.JSONDecoder()
    i = 0
    while i < len(text):
        if text[i] in "{[":
            try:
                obj, end = dec.raw_decode(text, i)
                yield obj
                i = end
                continue
            except ValueError:
                pass
        i += 1


def column_names(prompt):
    """The column names a prompt mentions: JSON with `columns`, bullet
    lines ("- email (varchar)", "* id: int"), or "columns: a, b, c"."""
    names = []
    for obj in _json_blocks(prompt):
        _names_in_json(obj, names)
    if not names:
        for line in prompt.splitlines():
            m = re.match(rf"\s*(?:[-*]|\d+\.)\s+`?({_IDENT})`?", line)
            if m:
                names.append(m.group(1))
    if not names:
        m = re.search(rf"columns?\s*:\s*({_IDENT}(?:\s*,\s*{_IDENT})*)", prompt, re.I)
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def table_name(prompt):
    """The name after "Table:" (or "table ="), else "the table"."""
    m = re.search(r"\b[Tt]able\s*[:=]\s*`?([A-Za-z0-9_.\"]+)`?", prompt)
    return m.group(1).strip('".') if m else "the table"


def _fit(text, schema):
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    if hi is not None and len(text) > hi:
        text = text[:hi].rstrip() if hi > 0 else ""
    while len(text) < lo:
        text += "."
    return text


def _item_schema(schema):
    items = schema.get("items")
    return items if isinstance(items, dict) else {}


class _Builder:
    def __init__(self, prompt):
        self.prompt = prompt
        self.columns = column_names(prompt)
        self.table = table_name(prompt)

    def value(self, schema, subject, key=None):
        if not isinstance(schema, dict):
            return None
        if "enum" in schema and schema["enum"]:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        t = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        return getattr(self, "_" + t, self._null)(schema, subject, key)

    def _null(self, schema, subject, key):
        return None

    def _boolean(self, schema, subject, key):
        return False

    def _integer(self, schema, subject, key):
        return int(schema.get("minimum", 0))

    def _number(self, schema, subject, key):
        return float(schema.get("minimum", 0))

    def _string(self, schema, subject, key):
        words = (key or "value").replace("_", " ")
        return _fit(f"The {words} of {subject}.", schema)

    def _object(self, schema, subject, key):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for name, sub in props.items():
            if name == "columns" and isinstance(sub, dict):
                out[name] = self._columns(sub)
            else:
                out[name] = self.value(sub, subject, name)
        if not props and isinstance(extra, dict):
            for col in self.columns:
                out[col] = self.value(extra, f"column {col} of {self.table}", None)
        return out

    def _columns(self, schema):
        """`columns` as {name: {...}} or [{name, ...}], one per column."""
        if schema.get("type") == "array":
            item = _item_schema(schema)
            rows = []
            for col in self.columns[: schema.get("maxItems", len(self.columns))]:
                row = self.value(item, f"column {col} of {self.table}")
                if isinstance(row, dict) and "name" in (item.get("properties") or {}):
                    row["name"] = col
                rows.append(row)
            return rows
        if schema.get("properties"):
            return self._object(schema, f"the columns of {self.table}", "columns")
        extra = schema.get("additionalProperties")
        return {col: self.value(extra if isinstance(extra, dict) else {"type": "string"},
                                f"column {col} of {self.table}", "description")
                for col in self.columns}

    def _array(self, schema, subject, key):
        n = max(1, schema.get("minItems", 0))
        if "maxItems" in schema:
            n = min(n, schema["maxItems"])
        return [self.value(_item_schema(schema), subject, key) for _ in range(n)]


def answer_from_schema(schema, prompt):
    """The fake's deterministic, schema-valid answer (a JSON value)."""
    return _Builder(prompt).value(schema, table_name(prompt))


def embedding(model, text, dim):
    """Deterministic unit vector of `dim` floats for (model, text)."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "big")
    rnd = random.Random(seed)
    v = [rnd.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _schema_in_messages(messages):
    """A JSON Schema the host quoted in a message (json_object / none
    endpoints): the last JSON object after the words "JSON Schema"."""
    for m in reversed(messages):
        text = m.get("content") if isinstance(m, dict) else None
        if isinstance(text, str) and "JSON Schema" in text:
            blocks = [b for b in _json_blocks(text.split("JSON Schema", 1)[1]) if isinstance(b, dict)]
            if blocks:
                return blocks[-1]
    return None


def _words(text):
    return len(str(text).split())


# ---- the server ------------------------------------------------------------

class FakeLLM:
    def __init__(self, latency=0.0, answer=None, dimensions=768, api_key=None,
                 host="127.0.0.1"):
        self.latency = latency
        self.answer = answer
        self.dimensions = dimensions
        self.api_key = api_key
        self.host = host
        self.down = False
        self.reverse_data = False  # embeddings data[] in reverse index order
        self.requests = []
        self.log = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults = []  # [kind, remaining, args]
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- control --
    def start(self):
        fake = self

        class Handler(_Handler):
            llm = fake

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self):
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def port(self):
        return self._server.server_address[1]

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _add_fault(self, kind, n, **args):
        with self._lock:
            self._faults.append([kind, n, args])

    def fail_next(self, n, status=429, retry_after=None):
        self._add_fault("fail", n, status=status, retry_after=retry_after)

    def timeout_next(self, n, seconds=3.0):
        self._add_fault("timeout", n, seconds=seconds)

    def garbage_next(self, n):
        self._add_fault("garbage", n)

    def prose_next(self, n):
        self._add_fault("prose", n, chat_only=True)

    def reset(self):
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.log.clear()
            self.max_in_flight = 0
        self.down = False

    def raw_text(self):
        """Every request body received, as one string (privacy checks)."""
        with self._lock:
            return "\n".join(e["raw"] for e in self.log)

    def chat_requests(self):
        with self._lock:
            return [e["body"] for e in self.log if e["path"].endswith("/chat/completions")]

    def embedding_requests(self):
        with self._lock:
            return [e["body"] for e in self.log if e["path"].endswith("/embeddings")]

    # -- used by the handler --
    def _take_fault(self, chat):
        with self._lock:
            for f in self._faults:
                if f[1] > 0 and (chat or not f[2].get("chat_only")):
                    f[1] -= 1
                    return f[0], f[2]
        return None, {}

    def _enter(self, entry):
        with self._lock:
            self.log.append(entry)
            if entry["body"] is not None:
                self.requests.append(entry["body"])
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self):
        with self._lock:
            self.in_flight -= 1

    def chat(self, body):
        """(status, response dict) for a validated chat request."""
        msgs = body["messages"]
        prompt = "\n".join(m.get("content", "") for m in msgs
                           if isinstance(m, dict) and isinstance(m.get("content"), str))
        content = self.answer(body) if self.answer else None
        if content is None:
            rf = body.get("response_format") or {}
            schema = (rf.get("json_schema") or {}).get("schema") if rf.get("type") == "json_schema" else None
            schema = schema or _schema_in_messages(msgs)
            if schema is not None:
                content = answer_from_schema(schema, prompt)
            elif rf.get("type") == "json_object":
                content = {"answer": f"About {table_name(prompt)}."}
            else:
                content = f"A deterministic answer about {table_name(prompt)}."
        if not isinstance(content, str):
            content = json.dumps(content)
        return 200, {
            "id": "chatcmpl-" + hashlib.sha1(prompt.encode()).hexdigest()[:12],
            "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": _words(prompt), "completion_tokens": _words(content),
                      "total_tokens": _words(prompt) + _words(content)}}

    def embed(self, body):
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dim = body.get("dimensions") or self.dimensions
        data = [{"object": "embedding", "index": i, "embedding": embedding(body["model"], t, dim)}
                for i, t in enumerate(inputs)]
        if self.reverse_data:
            data.reverse()
        tokens = sum(_words(t) for t in inputs)
        return 200, {"object": "list", "data": data, "model": body["model"],
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def validate_chat(body):
    if not isinstance(body, dict) or not body.get("model"):
        return "you must provide a model parameter"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages must be a non-empty list"
    for key in ("temperature", "top_p"):
        if not isinstance(body.get(key), (int, float)) or isinstance(body.get(key), bool):
            return f"{key} is required by this server (its default differs from the model's)"
    return None


def validate_embed(body):
    if not isinstance(body, dict) or not body.get("model"):
        return "you must provide a model parameter"
    inp = body.get("input")
    if not (isinstance(inp, str) or (isinstance(inp, list) and inp and all(isinstance(x, str) for x in inp))):
        return "input must be a string or a non-empty list of strings"
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "encoding_format must be float or base64"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    llm = None  # set by FakeLLM.start
    # Headers and body in one segment, sent at once: with Nagle and the
    # client's delayed ACK every answer would wait ~40 ms, as real
    # servers (uvicorn, Go) do not.
    disable_nagle_algorithm = True
    wbufsize = -1

    def log_message(self, *args):
        pass

    def _send(self, status, obj=None, raw=None, headers=()):
        data = raw if raw is not None else json.dumps(obj).encode()
        # Out of flight before the answer leaves: the client may send its
        # next request as soon as it has read this one.
        self._leave_once()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if raw is None else "text/html")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        if self.path.rstrip("/").endswith("/v1/models"):
            return self._send(200, {"object": "list", "data": []})
        self._send(404, _error(f"no route {self.path}", "not_found_error"))

    def do_POST(self):
        llm = self.llm
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        entry = {"path": self.path, "body": body, "raw": text, "headers": dict(self.headers),
                 "peer": self.client_address[1],
                 "t": time.monotonic(), "status": None}
        llm._enter(entry)
        self._left = False
        try:
            status = self._answer(llm, body, entry)
            entry["status"] = status
        finally:
            self._leave_once()

    def _leave_once(self):
        if not getattr(self, "_left", True):
            self._left = True
            self.llm._leave()

    def _answer(self, llm, body, entry):
        if llm.down:
            self.close_connection = True  # no answer at all
            return 0
        chat = self.path.endswith("/v1/chat/completions")
        if not chat and not self.path.endswith("/v1/embeddings"):
            self._send(404, _error(f"no route {self.path}", "not_found_error"))
            return 404
        if llm.api_key and self.headers.get("Authorization") != f"Bearer {llm.api_key}":
            self._send(401, _error("invalid API key", "authentication_error"))
            return 401
        fault, args = llm._take_fault(chat)
        if fault == "fail":
            return self._fail(args)
        if fault == "timeout":
            time.sleep(args["seconds"])
        if llm.latency:
            time.sleep(llm.latency)
        if fault == "garbage":
            self._send(200, raw=b"<html><body>502 Bad Gateway (not JSON)</body></html>")
            return 200
        why = (validate_chat if chat else validate_embed)(body)
        if why:
            self._send(400, _error(why))
            return 400
        status, resp = llm.chat(body) if chat else llm.embed(body)
        if fault == "prose":
            content = resp["choices"][0]["message"]["content"]
            resp["choices"][0]["message"]["content"] = (
                f"Sure! Here is the JSON you asked for:\n```json\n{content}\n```\nLet me know if you need more.")
        self._send(status, resp)
        return status

    def _fail(self, args):
        status = args["status"]
        headers = []
        if args.get("retry_after") is not None:
            headers.append(("retry-after", str(args["retry_after"])))
        if status == 429:
            body = _error("Rate limit exceeded", "throttling_error", "429")
        elif status == 503:
            body = _error(BUSY, "api_error")
        else:
            body = _error(f"fake failure {status}", "api_error")
        self._send(status, body, headers=headers)
        return status
