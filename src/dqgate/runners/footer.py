"""Decide rules from Parquet footer statistics, so the scan reads only what remains.

A Parquet footer keeps, for every row group and column, the row count, the number
of NULLs and the smallest and largest value. Many rules on clean data follow from
those alone: ``required`` fails exactly on the NULLs; a ``range`` holds in a row
group whose smallest and largest values are both in range (a range is convex);
any value rule holds or fails for the whole row group when its smallest and
largest values are equal; ``row_count``, ``null_count``, ``null_fraction``,
``min``, ``max`` and freshness are sums, minima and maxima of the footer's
numbers. A rule is decided here only when every row group of every file decides
it; the rest go to the fused statement, which then does not read a column no
remaining rule needs. When every remaining rule is a row rule judged row group by
row group, the statement reads only the row groups some rule leaves open
(:func:`narrowing`); the counts of the others come from the footer.

Exactness comes first, so a statistic is used only where it is the truth:

* min/max of text only when the footer marks them exact (writers may truncate);
* min/max and NULL counts of floating point only when the footer counts NaNs and
  counts none (most writers leave NaN out of min/max, NaN fails every range, and
  under ``nan: missing`` a NaN is missing as NULL is);
* no DECIMAL, TIME, BLOB or nested columns, no rule with ``where`` or ``mostly``
  over a subset, no hive partition columns, no column missing from some file;
* values are read back by DuckDB itself (``TRY_CAST`` of the footer's text to the
  column's type) and rule tests are evaluated by DuckDB on them, with the very
  predicate the fused statement would use, so no comparison is re-implemented.

Building the footer query needs sqlglot and the compiler (:func:`query`, imported
there); reading its answer does not (:func:`decide`), so a compiled check kept on
disk (``runners/replay.py``) runs the query it kept and decides without either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dqgate.ir import nodes as n

if TYPE_CHECKING:
    import duckdb

    from dqgate.runners.sources import Source

_EXACT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "BOOLEAN", "DATE")
_TIMES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE")
_FLOATS = ("FLOAT", "DOUBLE")
_TEXT = ("VARCHAR",)
DECIDABLE_TYPES = frozenset(_EXACT + _TIMES + _FLOATS + _TEXT)
_VALUE_RULES = (n.Range, n.InSet, n.Pattern, n.Length)
_METRICS = frozenset({"row_count", "null_count", "null_fraction", "min", "max"})


@dataclass(frozen=True)
class ChunkStats:
    """One column of one row group, as the footer describes it."""

    rows: int
    nulls: int | None
    low: Any
    high: Any
    exact: bool  # low/high are the true extremes of the non-NULL values

    @property
    def values(self) -> int | None:
        return None if self.nulls is None else self.rows - self.nulls


def candidates(rules: Iterable[n.Rule], types: dict[str, str]) -> list[n.Rule]:
    """Rules the footer may decide, before reading it."""
    out: list[n.Rule] = []
    for rule in rules:
        if rule.where is not None or any(types.get(c, "").upper() not in DECIDABLE_TYPES for c in rule.columns):
            continue
        if isinstance(rule, (n.NotNull, *_VALUE_RULES, n.Freshness)) or (isinstance(rule, n.Metric) and rule.func in _METRICS):
            out.append(rule)
    return out


@dataclass
class Footer:
    """What the footers of one source decide.

    ``groups``: every row group as (file, first row in the file, rows), in file order;
    ``decided``: rule id -> outputs for rules every row group decides;
    ``per_group``: for row rules, per row group ``(failed, total)`` or None where that
    row group does not decide the rule.
    """

    groups: list[tuple[str, int, int]] = field(default_factory=list)
    decided: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    per_group: dict[str, list[tuple[int, int] | None]] = field(default_factory=dict)


def read(con: duckdb.DuckDBPyConnection, rules: tuple[n.Rule, ...], types: dict[str, str], source: Source) -> Footer:
    """Every decision the footers of ``source`` allow, whole and per row group."""
    if source.kind != "parquet" or source.reader is None:
        return Footer()
    found = candidates(rules, types)
    if not found:
        return Footer()
    try:
        rows = con.execute(query(source.reader, found, types)).fetchall()
    except Exception:  # noqa: BLE001 - no footer answer just means: scan
        return Footer()
    return decide(rows, found, types)


def decide(rows: list[tuple[Any, ...]], found: list[n.Rule], types: dict[str, str]) -> Footer:
    """What the rows of :func:`query` (for the candidate rules ``found``) decide."""
    out = Footer()
    columns, tested = _columns(found), _tested(found)
    try:
        groups, stats, tests = _read(rows, columns, types, tested)
    except Exception:  # noqa: BLE001 - no footer answer just means: scan
        return out
    order = sorted(groups)  # by file, then row group: a file's row groups follow each other
    start = 0
    for k, g in enumerate(order):
        start = 0 if k == 0 or order[k - 1][0] != g[0] else start + groups[order[k - 1]]
        out.groups.append((g[0], start, groups[g]))
    rows_ = sum(groups.values())
    for rule in found:
        chunks = [stats.get((g, rule.columns[0])) for g in order] if rule.columns else []
        if rule.columns and any(c is None for c in chunks):
            continue  # a file without this column (union_by_name) or a hive partition key
        if isinstance(rule, (n.NotNull, *_VALUE_RULES)):
            each = [_group_outcome(rule, c, tests.get(rule.id, {}).get(g, (None, None))) for g, c in zip(order, chunks)]  # type: ignore[arg-type]
            out.per_group[rule.id] = each
            if all(e is not None for e in each):
                out.decided[rule.id] = (sum(e[0] for e in each if e), sum(e[1] for e in each if e))
            continue
        got = _decide_metric(rule, rows_, chunks)  # type: ignore[arg-type]
        if got is not None:
            out.decided[rule.id] = got
    return out


def _columns(found: list[n.Rule]) -> list[str]:
    return sorted({c for r in found for c in r.columns})


def _tested(found: list[n.Rule]) -> list[n.Rule]:
    return [r for r in found if isinstance(r, _VALUE_RULES)]


def _decide_metric(rule: n.Rule, rows: int, chunks: list[ChunkStats]) -> tuple[Any, ...] | None:
    if isinstance(rule, n.Metric) and rule.func == "row_count":
        return (rows,)
    if any(c.nulls is None for c in chunks):
        return None
    nulls = sum(c.nulls or 0 for c in chunks)
    if isinstance(rule, n.Metric) and rule.func == "null_count":
        return (nulls,)
    if isinstance(rule, n.Metric) and rule.func == "null_fraction":
        return (nulls / rows if rows else None,)
    filled = [c for c in chunks if c.values]
    if any(not c.exact or c.low is None or c.high is None for c in filled):
        return None
    if not filled:
        return (None,)
    want_max = isinstance(rule, n.Freshness) or rule.func == "max"  # type: ignore[attr-defined]
    return (max(c.high for c in filled),) if want_max else (min(c.low for c in filled),)


def _group_outcome(rule: n.RowRule, chunk: ChunkStats, verdict: tuple[Any, Any]) -> tuple[int, int] | None:
    """``(failed, total)`` of a row rule in one row group, or None if the footer cannot tell."""
    if chunk.nulls is None:
        return None
    if isinstance(rule, n.NotNull):
        return (chunk.nulls, chunk.rows)
    values = chunk.rows - chunk.nulls
    if not values:
        return (0, 0)
    if not chunk.exact or chunk.low is None or chunk.high is None:
        return None
    low_ok, high_ok = verdict
    if low_ok and high_ok and (isinstance(rule, n.Range) or chunk.low == chunk.high):
        return (0, values)  # every value lies between two that pass a convex test, or equals one
    if chunk.low == chunk.high and low_ok is False:
        return (values, values)
    return None


def narrowing(
    found: Footer, scanned: tuple[n.Rule, ...], types: dict[str, str]
) -> tuple[list[tuple[int, int]], dict[str, tuple[int, int]], int, int] | None:
    """Row ranges the scan still needs, when the footer settles the other row groups for every scanned rule.

    Possible only for one file, and only when every rule left for the scan is a row
    rule the footer judges row group by row group (any metric, key or ML rule needs
    every row). Returns the row ranges to read, for each rule the ``(failed, total)``
    of the row groups left out, their row count and their number; None when nothing
    can be left out.
    """
    files = {g[0] for g in found.groups}
    if len(files) != 1 or "file_row_number" in types or any(r.id not in found.per_group for r in scanned):
        return None
    keep = [i for i in range(len(found.groups)) if any(found.per_group[r.id][i] is None for r in scanned)]
    if len(keep) == len(found.groups):
        return None
    ranges: list[tuple[int, int]] = []
    for i in keep:
        _, start, count = found.groups[i]
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], start + count)
        else:
            ranges.append((start, start + count))
    left = [i for i in range(len(found.groups)) if i not in set(keep)]
    outside = {
        r.id: (sum(found.per_group[r.id][i][0] for i in left), sum(found.per_group[r.id][i][1] for i in left))  # type: ignore[index]
        for r in scanned
    }
    return ranges, outside, sum(found.groups[i][2] for i in left), len(left)


def query(reader: Any, found: list[n.Rule], types: dict[str, str]) -> str:
    """The footer query for the candidate rules ``found`` over the Parquet ``reader``
    (a sqlglot ``read_parquet(...)`` call): row counts per row group, each column
    chunk's statistics and each value rule's test of low and high."""
    from sqlglot import exp

    from dqgate.compilers import duckdb as compiler

    columns, tested = _columns(found), _tested(found)
    meta = exp.Anonymous(this="parquet_metadata", expressions=[reader.expressions[0].copy()])
    name = exp.column("path_in_schema")
    facts: list[exp.Expression] = [
        exp.column("file_name"), exp.column("row_group_id"), exp.column("row_group_num_rows"), name.copy(),
        exp.column("stats_null_count"), exp.column("min_is_exact"), exp.column("max_is_exact"), exp.column("stats_nan_count"),
    ]  # fmt: skip
    index = {c: i for i, c in enumerate(columns)}
    for c in columns:  # the footer's text read back as the column's type, in that column's rows only
        is_c = exp.EQ(this=name.copy(), expression=exp.Literal.string(c))
        for side in ("min", "max"):
            value = exp.TryCast(this=exp.column(f"stats_{side}_value"), to=exp.DataType.build(types[c], dialect=compiler.DIALECT))
            facts.append(exp.alias_(exp.Case(ifs=[exp.If(this=is_c, true=value)]), f"{side}_{index[c]}"))
    verdicts: list[exp.Expression] = []
    for k, rule in enumerate(tested):  # the rule's own test, with its column replaced by low, then high
        test = compiler.row_test(rule, types)  # type: ignore[arg-type]
        for side in ("min", "max"):
            stat = exp.column(f"{side}_{index[rule.columns[0]]}")
            on_stat = test.copy().transform(lambda node, s=stat, c=rule.columns[0]: s.copy() if isinstance(node, exp.Column) and node.name == c else node)
            verdicts.append(exp.alias_(on_stat, f"{side}_ok_{k}"))
    inner = exp.select(*facts).from_(exp.Table(this=meta))
    query = exp.select(exp.Star(), *verdicts).from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("m"))))
    return query.sql(compiler.DIALECT)


def _read(
    rows: list[tuple[Any, ...]], columns: list[str], types: dict[str, str], tested: list[n.Rule]
) -> tuple[dict[Any, int], dict[tuple[Any, str], ChunkStats], dict[str, dict[Any, tuple[Any, Any]]]]:
    """Row counts per row group, each column chunk's statistics and each value rule's test of low and high."""
    index = {c: i for i, c in enumerate(columns)}
    groups: dict[Any, int] = {}
    stats: dict[tuple[Any, str], ChunkStats] = {}
    tests: dict[str, dict[Any, tuple[Any, Any]]] = {r.id: {} for r in tested}
    files = {str(r[0]) for r in rows}
    partition_keys = {c for c in columns if any(f"/{c}=" in f for f in files)}
    for row in rows:
        group, column = (row[0], row[1]), row[3]
        groups[group] = row[2]
        if column not in index or column in partition_keys:
            continue
        if (group, column) in stats:  # a nested field sharing the name: trust nothing about it
            partition_keys.add(column)
            continue
        i = index[column]
        typ = types[column].upper()
        exact = typ not in _TEXT or (row[5] is True and row[6] is True)
        nulls = row[4]
        if typ in _FLOATS:
            exact = row[7] == 0
            # with NaNs (or no NaN count), the NULL count says nothing under `nan: missing`, where NaN is missing
            nulls = nulls if exact else None
        stats[(group, column)] = ChunkStats(row[2], nulls, row[8 + 2 * i], row[9 + 2 * i], exact)
        for k, rule in enumerate(tested):
            if rule.columns[0] == column:
                base = 8 + 2 * len(columns) + 2 * k
                tests[rule.id][group] = (row[base], row[base + 1])
    for column in partition_keys:
        for group in groups:
            stats.pop((group, column), None)
    return groups, stats, tests
