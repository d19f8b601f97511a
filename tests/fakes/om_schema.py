"""OpenMetadata JSON schema validation for the fake server.

Loads every schema file under a directory once, maps the
https://open-metadata.org/schema/... URIs to those files (so no `$ref` ever
reaches the network) and validates with Draft-07.  Three adaptations keep the
validator as strict as the Java server without tripping on Java-isms:

- `pattern`: the schemas use Java regexes; the leading `(?U)` flag (Unicode
  character classes) is Python's default for str patterns, so it is dropped.
- `multipleOf`: versions such as 0.3 are not an exact float multiple of 0.1;
  the check is done in decimal, as Java's BigDecimal would.
- `format: uuid` is checked (Java deserialisation of a UUID field fails on
  anything else); other formats are not, as the server does not check them.
"""
import copy
import decimal
import json
import os
import re
import threading
import uuid

import jsonschema
from jsonschema import validators
from jsonschema.exceptions import ValidationError

BASE_URI = "https://open-metadata.org/schema/"


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    py = pattern[4:] if pattern.startswith("(?U)") else pattern
    if re.search(py, instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _multiple_of(validator, step, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    try:
        rest = decimal.Decimal(str(instance)) % decimal.Decimal(str(step))
    except decimal.InvalidOperation:
        rest = 1
    if rest != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


_Validator = validators.extend(
    jsonschema.Draft7Validator, {"pattern": _pattern, "multipleOf": _multiple_of})

_formats = jsonschema.FormatChecker(formats=())


@_formats.checks("uuid", raises=ValueError)
def _is_uuid(value):
    if not isinstance(value, str):
        return True
    return str(uuid.UUID(value)) == value.lower()


def json_path(parts):
    """Renders a jsonschema error path as $.a[0].b."""
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


class SchemaSet:
    """Every schema file of one directory, with cached validators.

    Thread-safe: validators are built under a lock and are themselves
    stateless.  Raises OSError/ValueError when the directory cannot be read."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.docs = {}
        self.store = {}
        self._cache = {}
        self._lock = threading.Lock()
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(".json"):
                    self._load(os.path.join(dirpath, name))

    def _load(self, path):
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.docs[rel] = doc
        self.store[BASE_URI + rel] = doc
        # suggestion.json declares the $id of thread.json: register both so
        # references relative to either resolve to this file.
        declared = doc.get("$id") if isinstance(doc, dict) else None
        if declared and declared not in self.store:
            self.store[declared] = doc

    def validator(self, rel, drop=()):
        """The validator of schema `rel` (e.g. "type/tagLabel.json"), with
        the top-level keywords in `drop` removed."""
        key = (rel, tuple(drop))
        with self._lock:
            if key not in self._cache:
                schema = self.docs[rel]
                if drop:
                    schema = copy.deepcopy(schema)
                    for k in drop:
                        schema.pop(k, None)
                resolver = jsonschema.RefResolver(BASE_URI + rel, schema, store=self.store)
                self._cache[key] = _Validator(schema, resolver=resolver,
                                              format_checker=_formats)
            return self._cache[key]

    def errors(self, rel, instance, drop=(), limit=3):
        """Validation errors as "schema: $.path: message" strings ([] = valid)."""
        found = sorted(self.validator(rel, drop).iter_errors(instance),
                       key=lambda e: (len(e.absolute_path), json_path(e.absolute_path)))
        out = []
        for e in found[:limit]:
            msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
            out.append(f"{rel}: {json_path(e.absolute_path)}: {msg}")
        return out


_sets = {}
_sets_lock = threading.Lock()


def schema_set(root):
    """One shared SchemaSet per directory (loading 170 files takes a while)."""
    root = os.path.abspath(root)
    with _sets_lock:
        if root not in _sets:
            _sets[root] = SchemaSet(root)
        return _sets[root]
