"""Column profiles: what a snapshot keeps so that drift checks never rescan it.

A profile is plain JSON (it lives in the manifest)::

    {"format": 1, "rows": 1000,
     "columns": {"delay": {"type": "DOUBLE", "count": 990, "nulls": 10, "distinct": 970,
                           "min": -5.0, "max": 310.0,
                           "knots": [[-5.0, 1], [0.5, 11], ..., [310.0, 990]]},
                 "carrier": {"type": "VARCHAR", "count": 1000, "nulls": 0, "distinct": 4,
                             "values": [["AA", 310], ["B6", 200], ...]}}}

``values`` is the exact distribution of a column with at most :data:`EXACT_CAP`
distinct non-null values (numbers sorted ascending). A numeric column with more has
``knots``: about :data:`KNOTS` points (its minimum, its maximum and quantiles of a
reservoir sample) with the *exact* number of values ``<=`` each point. Counting at
knots is the one expensive part (about 0.1 us per row and column), so a snapshot keeps
knots only for the columns its contract checks for drift. Other columns with more
distinct values keep counts only. Two statements: one for counts, extremes,
approximate distinct counts and knot positions, one for the exact counts.

A snapshot's profile describes all its rows: on append it is the exact merge of the
parent's profile and the batch's (the batch is counted at the parent's knots). The batch
is profiled for what that merge reads of it (:class:`MergeInto`, from the parent's profile):

* a column the parent keeps counts only of stays so whatever the batch holds: the batch's
  count and extremes only, no distinct estimate, values or knots. The snapshot's column
  then has no ``distinct`` either (two estimates of overlapping rows do not add up to one;
  the larger of the two, which earlier versions kept, said little of the snapshot);
* a text column whose parent has extremes: the batch counts its values below the parent's
  minimum and above its maximum (one comparison a value, where ``min``/``max`` of text copy
  strings); only for a side where some are does the second statement take the batch's
  extreme, over those values. The merged extremes are the same either way. (Numbers and
  times keep ``min``/``max`` in the first statement: they cost little, and a growing key or
  timestamp lies outside the parent's extremes on every append.)
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from dqgate.stats.drift import Reference, norm_key

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp  # imported where SQL is built: reading a profile (reference_of, the report) needs none

FORMAT = 1
EXACT_CAP = 1000
KNOTS = 100
SAMPLE = 10_000
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")  # fmt: skip
_ORDERED = (*_NUMERIC, "DATE", "TIMESTAMP", "TIME", "VARCHAR")
_CATEGORICAL = (*_ORDERED, "BOOLEAN", "ENUM", "UUID")


@dataclass(frozen=True)
class MergeInto:
    """What the parent's profile settles for a batch about to be merged into it (:func:`merge_into`).

    ``counts_only``: columns the parent keeps counts only of (no values, no knots): the
    merge keeps them so, so the batch's distinct estimate, values and knots of them are
    never read. ``bounds``: per text column, its DuckDB type and the parent's (min, max)
    (:func:`_bound`): a batch whose values all lie inside them leaves the snapshot's
    extremes as they are.
    """

    counts_only: frozenset[str] = frozenset()
    bounds: dict[str, tuple[str, Any, Any]] = field(default_factory=dict)


NOTHING = MergeInto()  # a profile of its own (no parent): every aggregate


def merge_into(parent: dict[str, Any] | None) -> MergeInto:
    """What ``parent`` (a snapshot's profile, or None) settles for a batch merged into it."""
    cols = (parent or {}).get("columns") or {}
    counts_only = frozenset(name for name, c in cols.items() if c.get("values") is None and not c.get("knots"))
    bounds = {
        name: (c["type"], c["min"], c["max"]) for name, c in cols.items()
        if _bound(str(c.get("type")), c.get("min")) is not None and _bound(str(c.get("type")), c.get("max")) is not None
    }  # fmt: skip
    return MergeInto(counts_only, bounds) if counts_only or bounds else NOTHING


def _bound(duck_type: str, value: Any) -> exp.Expression | None:
    """``value`` (an extreme as a profile keeps it) as a literal DuckDB reads back exactly, or
    None: only text (``VARCHAR``, compared byte by byte as ``min``/``max`` compare it) without
    a NUL (the literal would end there)."""
    from sqlglot import exp

    if duck_type == "VARCHAR" and isinstance(value, str) and "\x00" not in value:
        return exp.Literal.string(value)
    return None


def is_numeric(duck_type: str) -> bool:
    t = duck_type.upper()
    return t.startswith(_NUMERIC) and not t.endswith("]")


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")):  # BIGINT[] is a list, not a number
        return "other"
    if is_numeric(t):
        return "numeric"
    if t.startswith(_ORDERED):
        return "ordered"
    if t.startswith(_CATEGORICAL):
        return "categorical"
    return "other"


def _col(name: str) -> exp.Column:
    from sqlglot import exp

    return exp.column(name, quoted=True)


def _num(value: float) -> exp.Expression:
    """A DOUBLE literal; an infinite knot (a column holding inf) as ``CAST('inf' AS DOUBLE)``:
    a bare ``inf`` would name a column (found by tests/profile/test_merge_into.py)."""
    import math

    from sqlglot import exp

    if not math.isfinite(value):
        return exp.cast(exp.Literal.string(repr(float(value))), "DOUBLE")
    return exp.Literal.number(repr(float(value)))


def _array(values: list[float]) -> exp.Expression:
    from sqlglot import exp

    return exp.cast(exp.Array(expressions=[_num(v) for v in values]), "DOUBLE[]")


def _double(name: str) -> exp.Expression:
    from sqlglot import exp

    return exp.cast(_col(name), "DOUBLE")


def _fetch(con: duckdb.DuckDBPyConnection, select: list[exp.Expression], view: str) -> dict[str, Any]:
    from sqlglot import exp

    if not select:
        return {}
    cur = con.execute(exp.select(*select).from_(exp.to_table(view, quoted=True)).sql("duckdb"))
    names = [d[0] for d in cur.description or []]
    rows = cur.fetchall()
    return dict(zip(names, rows[0] if rows else ()))


def profile_view(
    con: duckdb.DuckDBPyConnection,
    view: str,
    *,
    knots_at: dict[str, list[float]] | None = None,
    knots_for: set[str] | None = None,
    extra_first: list[exp.Expression] | None = None,
    extra_second: Callable[[dict[str, Any]], list[exp.Expression]] | None = None,
    first: dict[str, Any] | None = None,
    into: MergeInto = NOTHING,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Profile every column of ``view`` in two statements.

    Args:
        con: the connection holding ``view``.
        view: the view (or table) to profile.
        knots_at: per numeric column, points to count at instead of its own knots
            (the parent snapshot's, so that the two profiles merge exactly).
        knots_for: the numeric columns that get knots when they have too many values
            to keep exactly (default: all); counting at knots is the expensive part.
        extra_first: more aggregates for the first statement (``dq profile`` adds its own).
        extra_second: more aggregates for the second statement, from the first one's values.
        first: the values of the first statement (:func:`first_aggregates` with the same
            ``knots_at`` and ``knots_for``, plus ``extra_first``), computed by another scan
            of the same rows (an ingest's check computes them in its own fused statement).
        into: what the parent this batch is merged into settles (:func:`merge_into`): the
            aggregates its merge would not read are left out. The profile is then only
            for :func:`merge` with that parent (a text column inside the parent's extremes
            has none of its own).

    Returns:
        The profile, and the raw values of both statements (for the extra aggregates).
    """
    from sqlglot import exp

    types = view_types(con, view)
    knots_at = knots_at or {}
    if first is None:
        one = _fetch(con, [*first_aggregates(types, knots_at=knots_at, knots_for=knots_for, into=into), *(extra_first or [])], view)
    else:
        one = first
    rows = int(one.get("__rows") or 0)
    second: list[exp.Expression] = []
    plans: dict[str, tuple[int, list[float] | None]] = {}
    for i, (name, typ) in enumerate(types.items()):
        count = int(one.get(f"c{i}_count") or 0)
        approx = int(one.get(f"c{i}_distinct") or 0)
        for side, agg, past in (("below", exp.Min, exp.LT), ("above", exp.Max, exp.GT)):  # values past the parent's extremes
            if count and int(one.get(f"c{i}_{side}") or 0):  # the batch's extreme on that side: over those values
                bound = _bound(typ, into.bounds[name][1 if side == "below" else 2])
                only_past = exp.Where(this=past(this=_col(name), expression=bound))
                beyond = exp.Filter(this=agg(this=_col(name)), expression=only_past)
                second.append(exp.alias_(beyond, f"c{i}_{'min' if side == 'below' else 'max'}", quoted=True))
        if _kind(typ) == "other" or count == 0 or name in into.counts_only:
            continue
        if approx <= 2 * EXACT_CAP:
            second.append(exp.alias_(exp.func("histogram", _col(name)), f"c{i}_values", quoted=True))
        points: list[float] | None = None
        wants_knots = knots_for is None or name in knots_for or name in knots_at
        if _kind(typ) == "numeric" and approx > EXACT_CAP // 2 and wants_knots:
            points = list(knots_at.get(name) or _knot_points(one.get(f"c{i}_knots"), one.get(f"c{i}_min"), one.get(f"c{i}_max")))
            second.append(exp.alias_(exp.func("histogram", _double(name), _array(points)), f"c{i}_le", quoted=True))
        plans[name] = (i, points)
    second += extra_second(one) if extra_second else []
    two = _fetch(con, second, view)
    columns: dict[str, Any] = {}
    for i, (name, typ) in enumerate(types.items()):
        count = int(one.get(f"c{i}_count") or 0)
        col: dict[str, Any] = {"type": typ, "count": count, "nulls": rows - count}
        if f"c{i}_distinct" in one:
            col["distinct"] = int(one[f"c{i}_distinct"] or 0)
        for key in ("min", "max"):  # (a text column inside the parent's extremes on one side has none there)
            for got in (one, two):
                if f"c{i}_{key}" in got:
                    value = _plain(got[f"c{i}_{key}"])
                    col[key] = stored_number(value) if _kind(typ) == "numeric" else value
        if name in plans:
            _exact_parts(col, two, *plans[name], numeric=_kind(typ) == "numeric")
        columns[name] = col
    return {"format": FORMAT, "rows": rows, "columns": columns}, {**one, **two}


def view_types(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    """The columns of ``view`` and their DuckDB types, in order (as the profile names them)."""
    from sqlglot import exp

    described = con.execute(exp.Describe(this=exp.select("*").from_(exp.to_table(view, quoted=True))).sql("duckdb")).fetchall()
    return {row[0]: str(row[1]) for row in described}


def first_aggregates(types: dict[str, str], *, knots_at: dict[str, list[float]] | None = None,
                     knots_for: set[str] | None = None, into: MergeInto = NOTHING) -> list[exp.Expression]:  # fmt: skip
    """The first statement's aggregates over columns ``types`` (:func:`view_types`): the row
    count as ``__rows``, then per column its count, approximate distinct count, extremes and
    knot positions, less what ``into`` settles (:class:`MergeInto`); plain aggregates, so
    another statement over the same rows can carry them."""
    from sqlglot import exp

    knots_at = knots_at or {}
    first: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True)]
    levels = exp.Array(expressions=[exp.Literal.number(repr(i / KNOTS)) for i in range(KNOTS + 1)])
    for i, (name, typ) in enumerate(types.items()):
        kind = _kind(typ)
        first.append(exp.alias_(exp.Count(this=_col(name)), f"c{i}_count", quoted=True))
        if kind == "other":
            continue
        if name not in into.counts_only:  # hashing every value: after the extremes of text, the costliest aggregate here
            first.append(exp.alias_(exp.func("approx_count_distinct", _col(name)), f"c{i}_distinct", quoted=True))
        bounds = into.bounds.get(name)
        if bounds is not None and bounds[0] == typ:  # how many values lie past the parent's extremes (usually none)
            lo, hi = _bound(typ, bounds[1]), _bound(typ, bounds[2])
            first += [exp.alias_(exp.func("count_if", exp.LT(this=_col(name), expression=lo)), f"c{i}_below", quoted=True),
                      exp.alias_(exp.func("count_if", exp.GT(this=_col(name), expression=hi)), f"c{i}_above", quoted=True)]  # fmt: skip
        elif kind in ("numeric", "ordered"):
            first += [exp.alias_(exp.Min(this=_col(name)), f"c{i}_min", quoted=True), exp.alias_(exp.Max(this=_col(name)), f"c{i}_max", quoted=True)]
        if kind == "numeric" and name not in knots_at and name not in into.counts_only and (knots_for is None or name in knots_for):
            sample = exp.func("reservoir_quantile", _double(name), levels.copy(), exp.Literal.number(SAMPLE))
            first.append(exp.alias_(sample, f"c{i}_knots", quoted=True))
    return first


def _knot_points(sampled: Any, lo: Any, hi: Any) -> list[float]:
    points = {float(p) for p in (sampled or []) if p is not None}
    points |= {float(lo), float(hi)}
    return sorted(p for p in points if p == p)  # NaN is no knot


def _exact_parts(col: dict[str, Any], two: dict[str, Any], i: int, points: list[float] | None, *, numeric: bool) -> None:
    hist = two.get(f"c{i}_values")
    if hist is not None and len(hist) <= EXACT_CAP:
        pairs = [(_plain(k) if numeric else norm_key(k), int(v)) for k, v in hist.items()]
        if numeric:
            pairs = sorted((k, v) for k, v in pairs if k == k)
        col["values"] = [[stored_number(k) if numeric else k, v] for k, v in pairs]
        col["distinct"] = len(pairs)
    elif points is not None:
        le = {float(k): int(v) for k, v in (two.get(f"c{i}_le") or {}).items()}
        running, knots = 0, []
        for p in points:
            running += le.get(p, 0)
            knots.append([stored_number(p), running])
        col["knots"] = knots


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def stored_number(value: Any) -> Any:
    """A number of a numeric column as the profile keeps it: JSON has no ±inf or NaN (the
    manifest would write them as null, and a knot at null broke every later check), so
    those are kept as the text ``"inf"``, ``"-inf"``, ``"nan"``; :func:`read_number`
    reads them back."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    return value


def read_number(value: Any) -> Any:
    """A value, extreme or knot of a numeric column as kept by :func:`stored_number`, as a number."""
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value


def _plain(value: Any) -> Any:
    """JSON-native numbers and ISO text for the extremes and values of a profile."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return float(value)
    return str(value)


def knots_of(profile: dict[str, Any] | None) -> dict[str, list[float]]:
    """The knot points of every numeric column of ``profile`` that has knots."""
    cols = (profile or {}).get("columns") or {}
    return {name: [float(read_number(k[0])) for k in c["knots"]] for name, c in cols.items() if c.get("knots")}


def merge(parent: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """The exact profile of parent + batch rows (the batch counted at the parent's knots).

    A column whose exact values outgrow :data:`EXACT_CAP` turns into knots (numbers) or
    keeps counts only; a column missing on one side keeps counts only.
    """
    out: dict[str, Any] = {}
    pcols, bcols = parent.get("columns") or {}, batch.get("columns") or {}
    for name, b in bcols.items():
        p = pcols.get(name)
        if p is None:
            out[name] = {k: b[k] for k in ("type", "count", "nulls") if k in b}
            continue
        col: dict[str, Any] = {"type": b["type"], "count": p["count"] + b["count"], "nulls": p["nulls"] + b["nulls"]}
        if "distinct" in p and "distinct" in b:  # (not when p keeps counts only of it: b has no estimate, MergeInto)
            col["distinct"] = max(p["distinct"], b["distinct"])  # a lower bound; exact when values are kept
        numeric = is_numeric(b["type"])
        for key, pick in (("min", min), ("max", max)):
            both = [read_number(v) if numeric else v for v in (p.get(key), b.get(key)) if v is not None]
            if both:
                try:
                    col[key] = stored_number(pick(both)) if numeric else pick(both)
                except TypeError:
                    pass
        if "values" in p and "values" in b:
            _merge_values(col, p["values"], b["values"], numeric=numeric)
        elif numeric and (p.get("knots") or b.get("knots")):
            _merge_knots(col, p, b)
        out[name] = col
    return {"format": FORMAT, "rows": int(parent.get("rows") or 0) + int(batch.get("rows") or 0), "columns": out}


def _merge_values(col: dict[str, Any], a: list[Any], b: list[Any], *, numeric: bool) -> None:
    counts: dict[Any, int] = {}
    for value, count in [*a, *b]:
        value = read_number(value) if numeric else value
        counts[value] = counts.get(value, 0) + int(count)
    pairs = sorted(counts.items()) if numeric else list(counts.items())
    if len(pairs) <= EXACT_CAP:
        col["values"] = [[stored_number(v) if numeric else v, c] for v, c in pairs]
        col["distinct"] = len(pairs)
    elif numeric:  # exact distribution known: pick equal-frequency knots from it
        total, running, knots, level = sum(c for _, c in pairs), 0, [], 0
        for i, (value, count) in enumerate(pairs):
            running += count
            if i in (0, len(pairs) - 1) or running >= (level + 1) * total / KNOTS:
                knots.append([stored_number(float(value)), running])
                level = int(running * KNOTS / total)
        col["knots"] = knots


def _merge_knots(col: dict[str, Any], p: dict[str, Any], b: dict[str, Any]) -> None:
    """Both sides' counts at one set of points, each exact: knots, or exact values."""
    points = [k[0] for k in (p.get("knots") or b.get("knots") or [])]
    parts = []
    for side in (p, b):
        if side.get("values") is not None:
            parts.append(_at_points(side["values"], [float(read_number(pt)) for pt in points]))
        elif side.get("knots") is not None and [k[0] for k in side["knots"]] == points:
            parts.append([k[1] for k in side["knots"]])
        else:
            return  # counted at other points: no exact merge; keep counts only
    col["knots"] = [[pt, x + y] for pt, x, y in zip(points, *parts)]


def _at_points(values: list[Any], points: list[float]) -> list[int]:
    out, running, i = [], 0, 0
    ordered = sorted((float(read_number(v)), int(c)) for v, c in values)
    for pt in points:
        while i < len(ordered) and ordered[i][0] <= pt:
            running += ordered[i][1]
            i += 1
        out.append(running)
    return out


def reference_of(profile: dict[str, Any] | None, column: str, *, source: str) -> Reference | str:
    """The drift reference of ``column`` in ``profile``, or why there is none."""
    cols = (profile or {}).get("columns") or {}
    col = cols.get(column)
    if col is None:  # exactly: a profile of 'Alcohol' is not one of 'alcohol'
        return f"{source} has no profile of column '{column}'"
    numeric = is_numeric(str(col.get("type", "")))
    n = int(col.get("count") or 0)
    if n == 0:
        return f"{source} has no non-null values of '{column}'"
    if col.get("values") is not None:
        values = tuple((read_number(v) if numeric else v, int(c)) for v, c in col["values"])
        return Reference(n=n, numeric=numeric, values=values, source=source)
    if col.get("knots"):
        knots = tuple((float(read_number(k[0])), int(k[1])) for k in col["knots"])
        return Reference(n=n, numeric=True, knots=knots, source=source)
    if numeric:
        why = f"more than {EXACT_CAP} distinct values, and it was not under drift: when published, so it has no knots"
    else:
        why = f"more than {EXACT_CAP} distinct values that are not numbers"
    return f"{source} keeps no distribution of '{column}' ({why})"
