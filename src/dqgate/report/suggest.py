"""`dq profile`: a starter contract that describes a dataset as it is.

Two statements over the data (:func:`dqgate.stats.profile.profile_view`): the first adds, per text
column, how many values pass each recognised format (the Cython kernels, inside the
scan); the second adds an exact distinct count for columns that may be keys. From
that come types, ``required`` (no NULLs), ``unique`` (integer or text columns whose
values never repeat, and ``--key``), ranges, ``in`` sets for text columns of at most
:data:`MAX_SET` values, formats that every value passes, and a ``drift:`` section
(PSI for numbers, Jensen-Shannon for low-cardinality text) against the profiled file
itself. The result lints clean and passes on the data it came from; every rule in it
describes this data, so a person should review it before it guards anything.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import Any

import yaml
from sqlglot import exp

from dqgate.stats import profile as prof

MAX_SET = 12
MARGIN = 0.25  # ranges widened by this fraction of the observed span on each side (dq profile --margin)
MAX_DRIFT_CATEGORIES = 50
FORMAT_ORDER = ("uuid", "email", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "iban", "luhn")
_TYPES = {
    "TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32", "BIGINT": "int64", "HUGEINT": "integer",
    "UTINYINT": "uint8", "USMALLINT": "uint16", "UINTEGER": "uint32", "UBIGINT": "uint64", "UHUGEINT": "integer",
    "FLOAT": "float32", "DOUBLE": "float64", "DECIMAL": "decimal", "VARCHAR": "string", "BOOLEAN": "bool",
    "DATE": "date", "TIMESTAMP": "timestamp", "TIME": "time", "BLOB": "binary",
}  # fmt: skip


def contract_type(duck_type: str) -> str | None:
    """The contract type name of a DuckDB column type, or None when the contract has none."""
    base = duck_type.upper().split("(")[0].strip()
    if base.startswith("TIMESTAMP"):
        base = "TIMESTAMP"
    return _TYPES.get(base)


def starter_contract(
    data: str, *, key: tuple[str, ...] = (), dataset: str | None = None, margin: float = MARGIN, relative_to: str | None = None
) -> str:
    """The YAML text of a starter contract for the data file ``data``.

    Paths in it (``source:``, the drift reference) are relative to the folder
    ``relative_to`` (where the contract will be written; default the working folder),
    so the contract still works when the project moves. Numeric and time ranges are
    the observed ones widened by ``margin`` times their span on each side, so the
    next batch of the same data passes; a column with no negative value keeps a
    minimum of at least 0.

    Raises:
        DataError: the data cannot be read.
        UsageError: a ``key`` column is not in the data.
    """
    import duckdb

    from dqgate.errors import UsageError
    from dqgate.runners import sources
    from dqgate.runners.duckdb import register_formats

    path = os.path.abspath(data)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        sources.register(con, path, "__dq_data")
        names = [r[0] for r in con.execute('DESCRIBE SELECT * FROM "__dq_data"').fetchall()]
        types = {r[0]: str(r[1]) for r in con.execute('DESCRIBE SELECT * FROM "__dq_data"').fetchall()}
        lowered = {n.lower(): n for n in names}
        missing = [k for k in key if k.lower() not in lowered]
        if missing:
            raise UsageError(f"--key column '{missing[0]}' is not in {data} (columns: {', '.join(names)})", param="key")
        key = tuple(lowered[k.lower()] for k in key)
        text = [n for n in names if contract_type(types[n]) == "string"]
        if text:
            register_formats(con, FORMAT_ORDER)
        first = [
            exp.alias_(exp.CountIf(this=exp.Anonymous(this=f"__dq_format_{fmt}", expressions=[exp.column(c, quoted=True)])), f"f{i}_{fmt}", quoted=True)
            for i, c in enumerate(text)
            for fmt in FORMAT_ORDER
        ]
        profile, raw = prof.profile_view(con, "__dq_data", extra_first=first, extra_second=lambda one: _distinct_counts(one, names, types, key))
    finally:
        con.close()
    formats = {c: next((f for f in FORMAT_ORDER if int(raw.get(f"f{i}_{f}") or 0) == profile["columns"][c]["count"] > 0), None) for i, c in enumerate(text)}
    unique = {c for i, c in enumerate(names) if f"u{i}" in raw and int(raw[f"u{i}"] or 0) == profile["columns"][c]["count"] > 1}
    shown = _relative(path, relative_to)
    return _render(shown, profile, dataset or _dataset_name(path), key=key, formats=formats, unique=unique | set(key), margin=margin)


def _relative(path: str, folder: str | None) -> str:
    """``path`` relative to ``folder`` (default: the working folder), with forward slashes;
    absolute when the two share nothing but the filesystem's root (a file in /tmp)."""
    folder = os.path.abspath(folder or os.curdir)
    try:
        if os.path.dirname(os.path.commonpath([path, folder])) == os.path.commonpath([path, folder]):
            return path  # the common part is the root itself
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive (Windows)
        return path
    return rel.replace(os.sep, "/")


def widened(lo: Any, hi: Any, margin: float) -> tuple[Any, Any]:
    """``[lo, hi]`` widened by ``margin`` times its span on each side: whole numbers stay
    whole (rounded outwards), a non-negative minimum stays non-negative, times move by a
    timedelta; a constant column (span 0) keeps its value."""
    if margin <= 0 or lo == hi:
        return lo, hi
    if isinstance(lo, (dt.date, dt.datetime)):
        pad = (hi - lo) * margin
        return lo - pad, hi + pad
    span = hi - lo
    new_lo, new_hi = lo - span * margin, hi + span * margin
    if lo >= 0 > new_lo:
        new_lo = 0
    if isinstance(lo, int) and isinstance(hi, int):
        return math.floor(new_lo), math.ceil(new_hi)
    return _round_out(new_lo, math.floor), _round_out(new_hi, math.ceil)


def _round_out(value: float, direction: Any) -> float:
    """``value`` to 3 significant digits, rounded outwards (a readable bound, never tighter)."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (math.floor(math.log10(abs(value))) - 2)
    return float(direction(value / scale) * scale) if scale >= 1 else round(direction(value / scale) * scale, 12)


def _distinct_counts(one: dict[str, Any], names: list[str], types: dict[str, str], key: tuple[str, ...]) -> list[exp.Expression]:
    """Exact distinct counts of the integer and text columns that may be keys (``u<i>``)."""
    out = []
    for i, c in enumerate(names):
        count, approx = int(one.get(f"c{i}_count") or 0), int(one.get(f"c{i}_distinct") or 0)
        ctype = contract_type(types[c]) or ""
        if c not in key and count > 1 and approx >= 0.9 * count and (ctype.startswith(("int", "uint")) or ctype == "string"):
            out.append(exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column(c, quoted=True)])), f"u{i}", quoted=True))
    return out


def _dataset_name(path: str) -> str:
    stem = os.path.basename(path).split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.-") or "dataset"
    return name[:128] if name[0].isalnum() else "d" + name[:127]


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True).strip().removesuffix("...").strip()


def _column_spec(name: str, col: dict[str, Any], rows: int, *, unique: bool, fmt: str | None, margin: float = MARGIN) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    ctype = contract_type(col["type"])
    if ctype:
        spec["type"] = ctype
    if rows and col["nulls"] == 0:
        spec["required"] = True
    if unique:
        spec["unique"] = True
    lo, hi = col.get("min"), col.get("max")
    numeric = prof.is_numeric(col["type"])
    finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi))
    if numeric and finite and not unique:
        lo, hi = widened(lo, hi, margin)
        spec["range"] = {"min": lo, "max": hi}
    elif ctype in ("date", "timestamp") and lo is not None and hi is not None:
        lo, hi = widened(*_as_times(lo, hi), margin)
        spec["range"] = {"min": str(lo).replace("T", " "), "max": str(hi).replace("T", " ")}
    values = col.get("values")
    if ctype == "string" and values and len(values) <= MAX_SET and col["count"] >= 2 * len(values) and not unique:
        spec["in"] = sorted(str(v) for v, _ in values)
    if fmt and ctype == "string" and "in" not in spec:
        spec["format"] = fmt
    return spec


def _as_times(lo: Any, hi: Any) -> tuple[Any, Any]:
    """Profile bounds of a date or timestamp column as Python times (they may be ISO text)."""
    out = []
    for v in (lo, hi):
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v) if ("T" in v or " " in v) else dt.date.fromisoformat(v)
        out.append(v)
    return out[0], out[1]


def _drift_spec(col: dict[str, Any], *, unique: bool) -> dict[str, Any] | None:
    if unique or col["count"] == 0:
        return None
    if prof.is_numeric(col["type"]) and (col.get("knots") or len(col.get("values") or ()) >= 2):
        return {"method": "psi", "bins": 10, "max": 0.2}
    values = col.get("values")
    if contract_type(col["type"]) in ("string", "bool") and values and 2 <= len(values) <= MAX_DRIFT_CATEGORIES:
        return {"method": "js", "max": 0.1}
    return None


def _render(path: str, profile: dict[str, Any], dataset: str, *, key: tuple[str, ...], formats: dict[str, str | None], unique: set[str], margin: float = MARGIN) -> str:
    rows = profile["rows"]
    cols = profile["columns"]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    lines = [
        f"# Starter contract written by `dq profile` from {path} ({rows:,} rows) on {today}.",
        "# Every rule below describes this data as it is: review each one before it guards anything.",
        f"# Ranges are the observed ones widened by {margin:g} of their span on each side (dq profile --margin).",
        f"dataset: {_flow(dataset)}",
        "version: 0.1.0",
        f"source: {_flow(path)}",
        "",
        "schema:",
    ]
    if key:
        lines.append(f"  key: {_flow(list(key))}")
    lines.append("  columns:")
    for name, col in cols.items():
        spec = _column_spec(name, col, rows, unique=name in unique, fmt=formats.get(name), margin=margin)
        lines.append(f"    {_flow(name)}: {_flow(spec) if spec else '{}'}")
    drift = {name: d for name, col in cols.items() if (d := _drift_spec(col, unique=name in unique))}
    if drift:
        lines += [
            "",
            "drift:",
            "  # the profiled file is the baseline; `reference: latest` compares with the newest",
            "  # published snapshot instead (dq check --store DIR, dq ingest)",
            f"  reference: {_flow(path)}",
            "  columns:",
        ]
        lines += [f"    {_flow(name)}: {_flow(spec)}" for name, spec in drift.items()]
    return "\n".join(lines) + "\n"
