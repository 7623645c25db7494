"""The JSON form of the graph format (``"format": "exposure-graph"``, versions 1 and 2).

Problems are located by JSON path (``$.edges[3].amount``) and by the line of
the raw text where that value starts. Lines are found only when there is a
problem to report, by walking the text with the C JSON scanner; a valid file
is parsed once.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ._common import decode_text, format_error, locate, object_frame
from .._validation import _describe, build_tables, sort_problems
from ..exceptions import GraphFormatError, InvalidNetworkError, Problem
from ..network import ExposureNetwork

__all__ = ["parse_json_graph", "JsonLocator", "json_path", "FORMAT_NAME", "VERSIONS", "document_to_frames",
           "schema_problems", "graph_schema"]

FORMAT_NAME = "exposure-graph"
VERSIONS = (1, 2)
_TOP_TEXT = ("name", "as_of", "currency")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WS = re.compile(r"[ \t\n\r]*")


def json_path(*parts) -> str:
    """``json_path("edges", 3, "amount") == "$.edges[3].amount"``."""
    out = "$"
    for p in parts:
        if isinstance(p, (int, np.integer)):
            out += f"[{int(p)}]"
        elif _IDENT.match(str(p)):
            out += f".{p}"
        else:
            out += "[" + json.dumps(str(p)) + "]"
    return out


class JsonLocator:
    """Maps JSON paths onto offsets (and lines) of the raw text.

    Containers are scanned at most once each: an object's key offsets and an
    array's element offsets are cached.
    """

    def __init__(self, text: str):
        self.text = text
        self._dec = json.JSONDecoder()
        self._cache: dict[tuple, Any] = {}
        self._newlines = None

    def _skip(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()

    def _children(self, start: int):
        """Offsets of the children of the container starting at ``start``."""
        if start in self._cache:
            return self._cache[start]
        t = self.text
        pos = self._skip(start + 1)
        if t[start] == "{":
            out: dict = {}
            while pos < len(t) and t[pos] != "}":
                key, pos = json.decoder.scanstring(t, pos + 1)
                pos = self._skip(self._skip(pos) + 1)  # past ':'
                out[key] = pos
                _, pos = self._dec.raw_decode(t, pos)
                pos = self._skip(pos)
                if t[pos] == ",":
                    pos = self._skip(pos + 1)
        elif t[start] == "[":
            out = []
            while pos < len(t) and t[pos] != "]":
                out.append(pos)
                _, pos = self._dec.raw_decode(t, pos)
                pos = self._skip(pos)
                if t[pos] == ",":
                    pos = self._skip(pos + 1)
        else:
            out = None
        self._cache[start] = out
        return out

    def offset(self, parts) -> int:
        """Offset of the deepest existing value along ``parts``."""
        pos = self._skip(0)
        for p in parts:
            kids = self._children(pos)
            if isinstance(kids, dict) and isinstance(p, str) and p in kids:
                pos = kids[p]
            elif isinstance(kids, list) and isinstance(p, (int, np.integer)) and 0 <= p < len(kids):
                pos = kids[int(p)]
            else:
                break
        return pos

    def line(self, parts) -> int:
        if self._newlines is None:
            self._newlines = np.flatnonzero(np.frombuffer(self.text.encode("utf-32-le"), dtype="<u4") == 10)
        return int(np.searchsorted(self._newlines, self.offset(parts))) + 1


def document_to_frames(doc: dict, problems: list[Problem]):
    """Split a parsed document into (meta, nodes frame, node positions, edges frame, edge positions).

    Structural problems (wrong top-level types, records that are not objects)
    are appended to ``problems`` with their JSON path.
    """
    def err(msg, *path):
        problems.append(Problem("error", msg, location=json_path(*path)))

    fmt = doc.get("format")
    if "format" not in doc:
        problems.append(Problem("warning", f"Field 'format' is missing; expected {FORMAT_NAME!r}. "
                                "The document is read as an exposure graph.", location="$.format"))
    elif fmt != FORMAT_NAME:
        err(f"Field 'format' must be {FORMAT_NAME!r}. Got {_describe(fmt)} instead.", "format")
    version = doc.get("version", 1)
    if "version" not in doc:
        problems.append(Problem("warning", "Field 'version' is missing; version 1 is assumed.",
                                location="$.version"))
    elif isinstance(version, bool) or not isinstance(version, int) or version not in VERSIONS:
        err(f"Field 'version' must be 1 or 2. Got {_describe(version)} instead.", "version")
        version = 2 if version == 2 else 1
    for k in _TOP_TEXT:
        if k in doc and doc[k] is not None and not isinstance(doc[k], str):
            err(f"Field {k!r} must be a string. Got {_describe(doc[k])} instead.", k)
    meta = {k: v for k, v in doc.items() if k not in ("nodes", "edges", "format")}
    meta["version"] = version
    frames = []
    for key, required in (("nodes", True), ("edges", False)):
        raw = doc.get(key)
        if raw is None:
            if required or key in doc:
                err(f"Field {key!r} is required but missing; expected a list of objects."
                    if key not in doc else f"Field {key!r} must be a list of objects. Got null instead.", key)
            raw = []
        elif not isinstance(raw, list):
            err(f"Field {key!r} must be a list of objects. Got {_describe(raw)} instead.", key)
            raw = []
        recs, pos = [], []
        for i, r in enumerate(raw):
            if isinstance(r, dict):
                recs.append(r)
                pos.append(i)
            else:
                err(f"Each entry of {key!r} must be an object. Got {_describe(r)} instead.", key, i)
        frames.append((object_frame(recs), np.asarray(pos, dtype=np.int64)))
    (nodes, npos), (edges, epos) = frames
    return meta, nodes, npos, edges, epos


def parse_json_text(text: str, name: str) -> Any:
    """``json.loads`` with a :class:`GraphFormatError` naming line and column."""
    if not text.strip():
        raise format_error("The file is empty; expected a JSON document with \"format\": "
                           f"{FORMAT_NAME!r}.", name, "line 1")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()):
            msg = ("The JSON document ends unexpectedly (is the file truncated?): "
                   f"{err.msg} at column {err.colno}.")
        else:
            msg = f"Invalid JSON: {err.msg} at column {err.colno}."
        raise format_error(msg, name, f"line {err.lineno}") from None
    except RecursionError:
        raise format_error("The JSON document is nested too deeply.", name, "line 1") from None


def parse_json_graph(data, name: str, *, strict: bool = True):
    """Read a JSON graph document; return ``(network, problems)`` (see :func:`exposure.io.read_graph`)."""
    text = decode_text(data, name)
    doc = parse_json_text(text, name)
    if not isinstance(doc, dict):
        raise format_error(f"The document must be a JSON object with \"format\": {FORMAT_NAME!r}. "
                           f"Got {_describe(doc) if not isinstance(doc, (int, float)) else repr(doc)} instead.",
                           name, "$ (line 1)")
    problems: list[Problem] = []
    meta, nodes, npos, edges, epos = document_to_frames(doc, problems)
    node_table, tables, found = build_tables(nodes, edges, version=meta["version"])
    if any(p.location == "$.nodes" for p in problems):  # already said: nodes missing or not a list
        found = [p for p in found if not (p.table == "nodes" and p.row is None and p.field == "nodes")]
    problems += found
    loc = JsonLocator(text)

    def where(p: Problem) -> str | None:
        if p.table in ("nodes", "edges"):
            pos = npos if p.table == "nodes" else epos
            if p.row is None:
                parts = [p.table]
            else:
                parts = [p.table, int(pos[p.row])]
                rec = (nodes if p.table == "nodes" else edges)
                if p.field and p.field in rec.columns and rec[p.field].iat[p.row] is not None:
                    parts.append(p.field)
        elif p.field:
            parts = [p.field]
        else:
            return None
        return f"{json_path(*parts)} (line {loc.line(parts)})"

    def with_line(p: Problem) -> Problem:
        if p.location and p.location.startswith("$") and "(line" not in p.location:
            parts = _parse_path(p.location)
            return p.at(location=f"{p.location} (line {loc.line(parts)})")
        return p

    problems = [with_line(p) for p in locate(sort_problems(problems), name, where)]
    errors = [p for p in problems if p.severity == "error"]
    if errors and strict:
        structural = any(p.table is None for p in errors)
        raise (GraphFormatError if structural else InvalidNetworkError)(problems)
    net = ExposureNetwork._assemble(node_table, tables, meta, tuple(problems))
    return net, problems, (doc, loc)


def _parse_path(path: str) -> list:
    parts: list = []
    for m in re.finditer(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[(\"(?:[^\"\\]|\\.)*\")\]", path):
        if m.group(1):
            parts.append(m.group(1))
        elif m.group(2):
            parts.append(int(m.group(2)))
        else:
            parts.append(json.loads(m.group(3)))
    return parts


def graph_schema() -> dict:
    """The JSON Schema of the graph format shipped in ``exposure/schemas/graph.schema.json``."""
    return json.loads(resources.files("exposure").joinpath("schemas/graph.schema.json").read_text("utf-8"))


def _record_key(path: str) -> str:
    parts = _parse_path(path)
    return json_path(*parts[:2] if parts and parts[0] in ("nodes", "edges") and len(parts) > 1 else parts[:1])


def schema_problems(doc, locator: JsonLocator, existing: list[Problem], name: str) -> list[Problem]:
    """Violations of the shipped JSON Schema on records that have no problem reported yet.

    The reader's own checks cover the schema; a violation on a record the reader
    found nothing wrong with is reported as an error of its own.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(graph_schema())
    seen = {_record_key(p.location.split(" ")[0]) for p in existing if p.location and p.location.startswith("$")}
    out = []
    for err in validator.iter_errors(doc):
        path = err.json_path
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            path = json_path(*_parse_path(path), *(missing[:1]))
        key = _record_key(path)
        if key in seen or "$" in seen and key == "$":
            continue
        seen.add(key)
        parts = _parse_path(path)
        out.append(Problem("error", f"The document does not match the graph format's JSON Schema: {err.message}.",
                           file=name, location=f"{path} (line {locator.line(parts)})"))
    return out
