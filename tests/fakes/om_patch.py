"""RFC 6902 JSON Patch (with RFC 6901 pointers) for the fake OpenMetadata.

apply_patch() works on a deep copy, so a failing operation leaves the
document untouched (the server applies a patch atomically).  Errors raise
PatchError with a message naming the operation index, op and path.
"""
import copy
import re

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class PatchError(ValueError):
    """A patch that cannot be applied (malformed op, missing target, failed test)."""


def json_equal(a, b):
    """JSON equality: unlike ==, true is not 1 and 1 is equal to 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def parse_pointer(pointer):
    """"/a/b~1c" -> ["a", "b/c"]; "" -> [] (the whole document)."""
    if not isinstance(pointer, str):
        raise PatchError(f"path {pointer!r} is not a string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"path {pointer!r} does not start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container, token, pointer, allow_end):
    if allow_end and token == "-":
        return len(container)
    if not _INDEX.match(token):
        raise PatchError(f"{pointer}: {token!r} is not an array index")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"{pointer}: index {i} is out of range (array of {len(container)})")
    return i


def _walk(doc, tokens, pointer):
    node = doc
    for t in tokens:
        if isinstance(node, dict):
            if t not in node:
                raise PatchError(f"{pointer}: member {t!r} does not exist")
            node = node[t]
        elif isinstance(node, list):
            node = node[_index(node, t, pointer, False)]
        else:
            raise PatchError(f"{pointer}: {t!r} is inside a scalar")
    return node


def get(doc, pointer):
    """The value at `pointer`; PatchError when it does not exist."""
    return _walk(doc, parse_pointer(pointer), pointer)


def _add(doc, tokens, value, pointer):
    if not tokens:
        return value
    parent = _walk(doc, tokens[:-1], pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, pointer, True), value)
    else:
        raise PatchError(f"{pointer}: parent is not an object or array")
    return doc


def _remove(doc, tokens, pointer):
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, tokens[:-1], pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer}: member {last!r} does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, pointer, False))
    raise PatchError(f"{pointer}: parent is not an object or array")


def _member(op, name, i):
    if name not in op:
        raise PatchError(f"operation {i} ({op.get('op')}): missing {name!r}")
    return op[name]


def _apply_one(doc, op, i):
    if not isinstance(op, dict):
        raise PatchError(f"operation {i} is not an object")
    kind = _member(op, "op", i)
    path = _member(op, "path", i)
    tokens = parse_pointer(path)
    if kind == "add":
        return _add(doc, tokens, copy.deepcopy(_member(op, "value", i)), path)
    if kind == "remove":
        _remove(doc, tokens, path)
        return doc
    if kind == "replace":
        _walk(doc, tokens, path)  # must exist
        if tokens:
            _remove(doc, tokens, path)
        return _add(doc, tokens, copy.deepcopy(_member(op, "value", i)), path)
    if kind in ("move", "copy"):
        src = _member(op, "from", i)
        src_tokens = parse_pointer(src)
        if kind == "move" and tokens[:len(src_tokens)] == src_tokens and tokens != src_tokens:
            raise PatchError(f"operation {i} (move): {path} is inside {src}")
        if kind == "move":
            value = _remove(doc, src_tokens, src) if src_tokens else doc
        else:
            value = copy.deepcopy(_walk(doc, src_tokens, src))
        return _add(doc, tokens, value, path)
    if kind == "test":
        actual = _walk(doc, tokens, path)
        if not json_equal(actual, _member(op, "value", i)):
            raise PatchError(f"operation {i} (test) failed: {path} is {actual!r}, "
                             f"expected {op['value']!r}")
        return doc
    raise PatchError(f"operation {i}: unknown op {kind!r}")


def apply_patch(doc, ops):
    """Returns a patched deep copy of `doc`; raises PatchError, `doc` unchanged."""
    if not isinstance(ops, list):
        raise PatchError("a JSON Patch document must be an array of operations")
    out = copy.deepcopy(doc)
    for i, op in enumerate(ops):
        try:
            out = _apply_one(out, op, i)
        except PatchError as e:
            msg = str(e)
            raise PatchError(msg if msg.startswith("operation") else
                             f"operation {i} ({op.get('op')} {op.get('path')}): {msg}") from None
    return out
