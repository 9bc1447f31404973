"""Read an Open Data Contract Standard (ODCS v3) document as a dqgate contract.

An ODCS file is recognised by ``apiVersion: v3.*`` and ``kind: DataContract``. It
is validated against the ``open-data-contract-standard`` package's own pydantic
models (its fields are the source of truth for unknown keys too, since the nested
models accept anything), then one of its ``schema`` objects is translated into
the mapping a dqgate contract file would hold. Every key of that mapping carries
the position of the ODCS key it came from, so ``build_contract``'s messages
(a bad regex, an unknown column in a SQL rule) point into the ODCS file.

What cannot be translated is never dropped silently: :func:`translate` returns
it as ``not mapped`` lines with their positions, which ``dq import odcs`` lists
and which ``dq check`` / ``dq lint`` / ``dq ingest`` raise as a ContractError
(exit 2). The rule mapping itself is in ``contract/odcs_rules.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pydantic import BaseModel, ValidationError

from dqgate.contract import model as m
from dqgate.contract import odcs_rules as rules
from dqgate.contract.load import Document, Path
from dqgate.contract.odcs_kind import is_odcs
from dqgate.errors import ContractError
from dqgate.span import Span, did_you_mean

CUSTOM_PROPERTY = "dqgate"
"""The top-level ``customProperties`` entry that carries what ODCS has no words for."""


# ODCS logicalType -> dqgate type; object, array, map and vector have none.
_LOGICAL = {"string": "string", "integer": "integer", "number": "number", "boolean": "bool",
            "date": "date", "timestamp": "timestamp", "time": "time"}  # fmt: skip
_TIMESTAMP_PHYSICAL = re.compile(r"timestamp|datetime", re.IGNORECASE)
# Duration units of slaProperties (the standard: d, day, days; y, yr, years; ISO units).
_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400,
          "w": 604800, "week": 604800, "weeks": 604800, "y": 31536000, "yr": 31536000, "year": 31536000,
          "years": 31536000}  # fmt: skip
_FRESHNESS_SLA = ("latency", "ly", "freshness")


@dataclass
class Translation:
    """A dqgate contract document made from an ODCS one, and what could not be carried over."""

    doc: Document
    object: str
    not_mapped: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    """The not-mapped lines that are rules (or types) dqgate cannot run: ``dq check`` refuses them."""


class _Out:
    """The dqgate mapping being built, with the ODCS position of every key put in it."""

    def __init__(self, src: Document) -> None:
        self.src = src
        self.value: dict[str, Any] = {}
        self.spans: dict[Path, Span] = {}
        self.not_mapped: list[tuple[Span, str, bool]] = []

    def put(self, path: Path, value: Any, origin: Path) -> None:
        node: Any = self.value
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[path[-1]] = value
        self.spans.setdefault(path, self.src.span(origin))

    def append(self, key: str, value: Any, origin: Path, spans: dict[Path, Path] | None = None) -> None:
        """Add ``value`` to the list under ``key``; ``spans`` maps sub-paths of it to ODCS paths."""
        items = self.value.setdefault(key, [])
        items.append(value)
        self.spans[(key, len(items) - 1)] = self.src.span(origin)
        for sub, src in (spans or {}).items():
            self.spans[(key, len(items) - 1, *sub)] = self.src.span(src)

    def skip(self, origin: Path, what: str, *, blocking: bool = True) -> None:
        """Record what could not be carried over; ``blocking`` when it is a check dqgate cannot run."""
        self.not_mapped.append((self.src.span(origin), what, blocking))


def translate(src: Document, *, object: str | None = None) -> Translation:  # noqa: A002 - the CLI's --object
    """Translate an ODCS document into a dqgate contract document.

    Raises:
        ContractError: the document is not valid ODCS v3 (one problem per line, with
            positions), or names no schema object / several without ``object``.
    """
    problems = validate(src)
    if problems:
        raise ContractError(problems[0], problems=tuple(problems))
    value = src.value
    index = _choose_object(src, object)
    obj = value["schema"][index]
    base: Path = ("schema", index)
    out = _Out(src)
    name = obj.get("name") or obj.get("physicalName")
    out.put(("dataset",), name, (*base, "name"))
    version = value.get("version")
    if isinstance(version, str) and re.match(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$", version):
        out.put(("version",), version, ("version",))
    elif version is not None:
        out.skip(("version",), f"version {version!r} is not MAJOR.MINOR.PATCH; the dqgate contract says 0.1.0", blocking=False)
    description = obj.get("description") or (value.get("description") or {}).get("purpose")
    if isinstance(description, str):
        out.put(("description",), description, (*base, "description"))
    _source(src, out)
    custom, custom_path = _custom(value)
    columns: dict[str, Any] = {}
    out.put(("schema",), {"columns": columns}, base)
    key: list[tuple[int, str]] = []
    for i, prop in enumerate(obj.get("properties") or []):
        ppath: Path = (*base, "properties", i)
        col = prop["name"]
        out.put(("schema", "columns", col), {}, ppath)
        _column(out, prop, ppath, col, key)
        for j, q in enumerate(prop.get("quality") or []):
            rules.quality(out, q, (*ppath, "quality", j), column=col)
    if key:
        out.put(("schema", "key"), [c for _, c in sorted(key)], base)
    for j, q in enumerate(obj.get("quality") or []):
        rules.quality(out, q, (*base, "quality", j), column=None)
    for j, rel in enumerate(obj.get("relationships") or []):
        rules.relationship(out, rel, (*base, "relationships", j), column=None)
    _sla(out, value, name)
    _merge_custom(out, custom, custom_path)
    _unmapped_sections(out, value, obj, base)
    doc = Document(src.file, out.value, value_spans={}, key_spans=out.spans, text=src.text)
    ordered = sorted(out.not_mapped, key=lambda s: (s[0].line, s[0].col))
    lines = [f"{span}: {what}" for span, what, _ in ordered]
    blocking = [f"{span}: {what}" for span, what, block in ordered if block]
    return Translation(doc, str(name), lines, blocking)


# ---------------------------------------------------------------- validation


def validate(src: Document) -> list[str]:
    """Problems of ``src`` against the package's models: types, and keys the standard does not have."""
    from open_data_contract_standard.model import OpenDataContractStandard

    found: list[tuple[Span, str]] = []
    try:
        OpenDataContractStandard.model_validate(src.value)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _odcs_path(err["loc"])
            if err["type"] == "extra_forbidden":
                continue  # reported below, with a suggestion
            found.append((src.span(loc), f"{_where(loc)}: {err['msg'][0].lower()}{err['msg'][1:]}"))
    _unknown_keys(src, src.value, (), OpenDataContractStandard, found)
    return [f"{span}: {msg}" for span, msg in sorted(set(found), key=lambda s: (s[0].line, s[0].col, s[1]))]


def _odcs_path(loc: tuple[Any, ...]) -> Path:
    """A pydantic location as a document path (pydantic adds union member names to it)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int) or not re.match(r"^[A-Z]|^(str|float|int|bool|list\[.*\]|dict\[.*\])$", str(part)):
            out.append(part)
    return tuple(out)


def _where(loc: Path) -> str:
    return "'" + ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[") + "'"


def _fields(cls: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f for name, f in cls.model_fields.items()}


_ALIASES = set(rules.OPERATOR_ALIASES)


def _unknown_keys(src: Document, value: Any, path: Path, cls: type[BaseModel], found: list[tuple[Span, str]]) -> None:
    """Keys the standard does not define, found by walking the package's model classes."""
    if not isinstance(value, dict):
        return
    fields = _fields(cls)
    for key, item in value.items():
        if key not in fields:
            if key in _ALIASES and cls.__name__ == "DataQuality":
                continue
            hint = did_you_mean(str(key), fields)
            found.append((src.span((*path, key)), f"unknown ODCS key '{key}' in {cls.__name__}.{hint}".rstrip(".")))
            continue
        if key == "logicalTypeOptions" and isinstance(item, dict):
            known = logical_type_options()
            for opt in item:
                if opt not in known:
                    hint = did_you_mean(str(opt), known)
                    found.append((src.span((*path, key, opt)), f"unknown logicalTypeOptions key '{opt}'.{hint}".rstrip(".")))
        for sub in _models(fields[key].annotation):
            if isinstance(item, list):
                for i, element in enumerate(item):
                    _unknown_keys(src, element, (*path, key, i), sub, found)
            else:
                _unknown_keys(src, item, (*path, key), sub, found)


def _models(annotation: Any) -> list[type[BaseModel]]:
    import typing

    if isinstance(annotation, str):
        from open_data_contract_standard import model as odcs_model

        annotation = getattr(odcs_model, annotation.strip("'\""), None)
    if isinstance(annotation, typing.ForwardRef):
        return _models(annotation.__forward_arg__)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [sub for arg in typing.get_args(annotation) for sub in _models(arg)][:1]


_OPTIONS: list[str] = []


def logical_type_options() -> list[str]:
    """Every ``logicalTypeOptions`` key the standard's JSON Schema (shipped with the package) names."""
    if not _OPTIONS:
        schema = json.loads(resources.files("open_data_contract_standard").joinpath("schema.json").read_text("utf-8"))
        names: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                opts = node.get("logicalTypeOptions")
                if isinstance(opts, dict):
                    for variant in [opts, *opts.get("oneOf", []), *opts.get("anyOf", [])]:
                        names.update((variant.get("properties") or {}).keys())
                for sub in node.values():
                    walk(sub)
            elif isinstance(node, list):
                for sub in node:
                    walk(sub)

        walk(schema)
        _OPTIONS.extend(sorted(names))
    return _OPTIONS


def _choose_object(src: Document, wanted: str | None) -> int:
    objects = src.value.get("schema") or []
    names = [o.get("name") or o.get("physicalName") for o in objects]
    if not objects:
        raise ContractError("the ODCS contract has no 'schema' object to check", span=src.span(()))
    if wanted is None:
        if len(objects) > 1:
            listed = ", ".join(str(n) for n in names)
            raise ContractError(f"the ODCS contract has {len(objects)} schema objects ({listed}); choose one with --object", span=src.span(("schema",)))
        if not names[0]:
            raise ContractError("the ODCS schema object has no 'name'", span=src.span(("schema", 0)))
        return 0
    if wanted in names:
        return names.index(wanted)
    hint = did_you_mean(wanted, [str(n) for n in names])
    raise ContractError(f"no schema object '{wanted}' in the ODCS contract (it has: {', '.join(map(str, names))}).{hint}".rstrip("."), span=src.span(("schema",)))


# ---------------------------------------------------------------- parts


def _source(src: Document, out: _Out) -> None:
    """The first server with a local path becomes ``source:`` (relative to the contract's folder)."""
    for i, server in enumerate(src.value.get("servers") or []):
        path = server.get("path") or server.get("location")
        if isinstance(path, str) and "://" not in path:
            out.put(("source",), path, ("servers", i, "path"))
            return


def column_type(prop: dict[str, Any]) -> str | None:
    """The dqgate type of an ODCS property: its physicalType when that is a dqgate type name
    (what ``dq export odcs`` writes), else its logicalType's."""
    physical = str(prop.get("physicalType") or "").lower()
    logical = prop.get("logicalType")
    if physical in m.TYPE_NAMES and (logical is None or _family(physical) == _family(_LOGICAL.get(logical, ""))):
        return physical
    if logical == "date" and _TIMESTAMP_PHYSICAL.search(physical):
        return "timestamp"
    return _LOGICAL.get(logical) if logical else None


def _family(t: str) -> str:
    if t.startswith(("int", "uint")) or t == "integer":
        return "integer"
    if t.startswith("float") or t in ("number", "decimal"):
        return "number"
    return t


def _column(out: _Out, prop: dict[str, Any], ppath: Path, col: str, key: list[tuple[int, str]]) -> None:
    cpath: Path = ("schema", "columns", col)
    logical = prop.get("logicalType")
    if logical in ("object", "array", "map", "vector") or prop.get("properties") or prop.get("items"):
        out.skip((*ppath, "logicalType") if logical else ppath, f"property '{col}' is {logical or 'nested'}: dqgate checks flat columns only")
        return
    ctype = column_type(prop)
    if ctype:
        out.put((*cpath, "type"), ctype, (*ppath, "logicalType") if logical else (*ppath, "physicalType"))
    if isinstance(prop.get("description"), str):
        out.put((*cpath, "description"), prop["description"], (*ppath, "description"))
    if prop.get("required"):
        out.put((*cpath, "required"), True, (*ppath, "required"))
    if prop.get("unique"):
        out.put((*cpath, "unique"), True, (*ppath, "unique"))
    if prop.get("primaryKey"):
        key.append((prop.get("primaryKeyPosition") or 1_000_000 + len(key), col))
    options = prop.get("logicalTypeOptions") or {}
    if options:
        rules.options(out, options, (*ppath, "logicalTypeOptions"), col, ctype)
    for j, rel in enumerate(prop.get("relationships") or []):
        rules.relationship(out, rel, (*ppath, "relationships", j), column=col)


def _sla(out: _Out, value: dict[str, Any], obj_name: str) -> None:
    for i, sla in enumerate(value.get("slaProperties") or []):
        path: Path = ("slaProperties", i)
        prop = str(sla.get("property") or "")
        if prop.lower() not in _FRESHNESS_SLA:
            out.skip(path, f"slaProperties '{prop}' is not a check dqgate runs on a batch (only latency/freshness is)", blocking=False)
            continue
        element = sla.get("element") or value.get("slaDefaultElement")
        unit = str(sla.get("unit") or "").lower()
        number = sla.get("value")
        if not isinstance(element, str) or not element:
            out.skip(path, f"slaProperties '{prop}' names no element (the timestamp column it is measured on)")
            continue
        table, _, col = element.rpartition(".")
        if table and table != obj_name:
            continue  # another object's freshness
        if unit not in _UNITS or isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
            out.skip((*path, "unit"), f"slaProperties '{prop}': cannot read {number!r} {unit!r} as a duration (units: d, h, m, s, y)")
            continue
        columns = out.value["schema"]["columns"]
        if col not in columns:
            hint = did_you_mean(col, columns)
            out.skip((*path, "element"), f"slaProperties element '{element}' is not a property of '{obj_name}'.{hint}".rstrip("."))
            continue
        seconds = int(number * _UNITS[unit])
        out.put(("schema", "columns", col, "freshness"), {"max_age": duration(seconds)}, path)


def duration(seconds: int) -> str:
    """``seconds`` as the largest whole dqgate duration unit (``36h``, ``2d``, ``90s``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _custom(value: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    for i, prop in enumerate(value.get("customProperties") or []):
        if isinstance(prop, dict) and prop.get("property") == CUSTOM_PROPERTY and isinstance(prop.get("value"), dict):
            return prop["value"], ("customProperties", i, "value")
    return {}, ()


_CUSTOM_KEYS = ("owner", "checks", "drift", "gate", "references", "columns", "strict", "unique", "notify")


def _merge_custom(out: _Out, custom: dict[str, Any], base: Path) -> None:
    """Merge the dqgate-only parts ``dq export odcs`` put in ``customProperties``."""
    for key, item in custom.items():
        path = (*base, key)
        if key not in _CUSTOM_KEYS:
            hint = did_you_mean(str(key), _CUSTOM_KEYS)
            out.skip(path, f"unknown key '{key}' in the dqgate custom property.{hint}".rstrip("."))
        elif key == "checks" and isinstance(item, list):
            for j, check in enumerate(item):
                out.append("checks", check, (*path, j), _sub_spans(check, (*path, j)))
        elif key == "columns" and isinstance(item, dict):
            columns = out.value["schema"]["columns"]
            for col, spec in item.items():
                if col not in columns or not isinstance(spec, dict):
                    out.skip((*path, col), f"the dqgate custom property names column '{col}', which is not a property")
                    continue
                for rule, rule_value in spec.items():
                    out.put(("schema", "columns", col, rule), rule_value, (*path, col, rule))
        elif key in ("strict", "unique"):
            out.put(("schema", key), item, path)
        elif key == "references" and isinstance(item, dict):
            refs = out.value.setdefault("references", {})
            for name, where in item.items():
                refs[name] = where
                out.spans[("references", name)] = out.src.span((*path, name))
        else:
            out.put((key,), item, path)
            for sub, src in _sub_spans(item, path).items():
                out.spans[(key, *sub)] = out.src.span(src)


def _sub_spans(value: Any, origin: Path) -> dict[Path, Path]:
    """Every sub-path of ``value`` mapped to the same sub-path under ``origin``."""
    found: dict[Path, Path] = {}

    def walk(node: Any, rel: Path) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            found[(*rel, k)] = (*origin, *rel, k)
            walk(v, (*rel, k))

    walk(value, ())
    return found


def _unmapped_sections(out: _Out, value: dict[str, Any], obj: dict[str, Any], base: Path) -> None:
    """Say which parts carry no check (listed by ``dq import odcs``; they never fail a check)."""
    for key in ("team", "roles", "support", "price", "servers", "authoritativeDefinitions", "tags", "dataProduct", "domain", "tenant"):
        if value.get(key) and key != "servers":
            out.skip((key,), f"'{key}' is metadata with no check; not carried into the dqgate contract", blocking=False)
    servers = value.get("servers") or []
    if len(servers) > 1:
        out.skip(("servers",), f"{len(servers)} servers: the first local path is the contract's source; pass --data for another", blocking=False)


__all__ = ["CUSTOM_PROPERTY", "Translation", "is_odcs", "translate", "validate"]
