"""Uniqueness of a dense integer key by marking bitmaps instead of hashing.

A GROUP BY over a key with about as many distinct values as rows is the most
expensive rule of a typical contract: on peerbench (10M rows) it is about half of
the CPU time of the whole fused statement. When the key is one integer column whose
span (max - min + 1, answered by DuckDB from Parquet statistics without a scan) is
not much larger than the row count, every possible value has its own two bits: the
key column is streamed once as offsets from the minimum into the Cython kernel
``_kernels/keys.pyx`` (bit "seen", bit "seen twice"), which keeps count of the values
seen exactly once; the failing rows are all rows minus those, which is exactly what
the GROUP BY would give (every row of a repeated value fails; NULLs are not
judged). Samples are the smallest repeated values.

Memory is 2 bits per slot, whatever the row count (25 MB for 100M possible values,
where the GROUP BY's hash table needs gigabytes); spans above :data:`MAX_SLOTS` keep
the GROUP BY, as do composite or
non-integer keys, rules with ``where``, text sources (whose min and max would cost
a full parse) and data under :data:`MIN_ROWS` rows (where importing numpy and
pyarrow would cost more than the GROUP BY, unless they are loaded already). If the
statistics turn out wrong (a value outside the span) the rule is counted by the
GROUP BY after all: the fast path can be slower, never wrong.

With dqgate's DuckDB extension loaded (runners/native.py) the same two bitmaps are
marked inside the fused statement by the aggregate ``dq_key_repeats``, in DuckDB's
scan threads (each thread its own bitmaps, ORed at the end): no second pass over the
key, no numpy or pyarrow, so no :data:`MIN_ROWS` either. That path takes keys whose
values fit a BIGINT and whose bitmaps, one pair per thread, stay under
:data:`MAX_MARKED_BYTES`; the others take the pass above.

Building the queries needs sqlglot and the compiler (imported in the functions that
build them); choosing the keys from the answer (:func:`choose`) does not, so a
compiled check kept on disk (``runners/replay.py``) runs the queries it kept and
chooses without either.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from dqgate.ir import nodes as n

if TYPE_CHECKING:
    from dqgate.compilers.duckdb import CompiledPlan
    from dqgate.runners.sources import Source

# compilers.duckdb.INTEGER_TYPES without HUGEINT (offsets from the minimum fit a UINTEGER),
# spelled out so that reading needs no compiler (tests/runners/test_dense_unique.py holds them equal)
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})
MAX_SLOTS = 1 << 31  # 2G slots: at most 512 MB of bitmaps (offsets are UINTEGER)
DENSITY = 8  # the span may be this many times the row count (plus MIN_SLOTS)
MIN_SLOTS = 1 << 16
BATCH_ROWS = 1 << 20
# Below this many rows the GROUP BY costs less than importing numpy and pyarrow (~0.3 s of
# CPU), unless the caller has imported them already.
MIN_ROWS = 1_000_000
MAX_MARKED_BYTES = 1 << 29  # bitmaps of all threads together, when marked inside the scan
SIGNED_TYPES = INTEGER_TYPES - {"UBIGINT"}  # values that fit dq_key_repeats' BIGINT


@dataclass(frozen=True)
class DenseKey:
    """A unique rule whose key values all fall in ``[low, low + span)``."""

    rule_id: str
    column: str
    low: int
    span: int
    marked: bool = False  # counted in the fused statement by dq_key_repeats


def candidates(rules: tuple[n.Rule, ...], types: dict[str, str], source: Source) -> list[n.Unique]:
    """The unique rules that may take the counting path, before looking at statistics."""
    if source.is_text:
        return []
    return [
        r for r in rules
        if isinstance(r, n.Unique) and len(r.columns) == 1 and r.where is None and not r.nulls_equal
        and types.get(r.columns[0], "").upper() in INTEGER_TYPES
    ]  # fmt: skip


def find(
    con: duckdb.DuckDBPyConnection, rules: tuple[n.Rule, ...], types: dict[str, str], source: Source,
    *, native: bool = False,
) -> dict[str, DenseKey]:
    """Rule id -> DenseKey for every unique rule whose key is dense enough to count;
    with ``native``, marked in the fused statement where it can be."""
    found = candidates(rules, types, source)
    if not found:
        return {}
    try:
        row = con.execute(span_query(found)).fetchall()[0]
    except duckdb.Error:
        return {}  # the fused statement will report what is wrong with the data
    threads = int(con.execute(threads_query()).fetchall()[0][0]) if native else 0
    return choose(row, found, types, native=native, threads=threads)


def span_query(found: list[n.Unique]) -> str:
    """The row count and each candidate key's minimum and maximum, in one statement."""
    from sqlglot import exp

    from dqgate.compilers import duckdb as compiler

    aggs: list[exp.Expression] = [exp.Count(this=exp.Star())]
    for rule in found:
        aggs += [exp.Min(this=compiler.col(rule.column)), exp.Max(this=compiler.col(rule.column))]
    return exp.select(*aggs).from_(exp.to_table(compiler.SOURCE_VIEW, quoted=True)).sql(compiler.DIALECT)


def threads_query() -> str:
    """DuckDB's scan threads: dq_key_repeats keeps a pair of bitmaps per thread."""
    from sqlglot import exp

    from dqgate.compilers import duckdb as compiler

    return exp.select(exp.func("current_setting", exp.Literal.string("threads"))).sql(compiler.DIALECT)


def choose(
    row: tuple[Any, ...], found: list[n.Unique], types: dict[str, str], *, native: bool, threads: int
) -> dict[str, DenseKey]:
    """The keys to count, from :func:`span_query`'s answer ``row``."""
    rows, out = int(row[0]), {}
    small = rows < MIN_ROWS and not {"numpy", "pyarrow"} <= sys.modules.keys()
    for i, rule in enumerate(found):
        low, high = row[1 + 2 * i], row[2 + 2 * i]
        if low is None or high is None:
            continue
        span = int(high) - int(low) + 1
        if span > MAX_SLOTS or span > DENSITY * rows + MIN_SLOTS:
            continue
        marked = native and types[rule.column].upper() in SIGNED_TYPES and threads * span // 4 <= MAX_MARKED_BYTES
        if marked or not small:
            out[rule.id] = DenseKey(rule.id, rule.column, int(low), span, marked)
    return out


def count(con: duckdb.DuckDBPyConnection, key: DenseKey, samples: int) -> tuple[int, list[dict[str, Any]], int | None] | None:
    """Rows whose key value repeats, up to ``samples`` repeated values and how many values
    repeat (the bits set in ``twice``); None if a value is out of span."""
    import numpy as np
    from sqlglot import exp

    from dqgate._kernels import mark_keys
    from dqgate.compilers import duckdb as compiler

    c = compiler.col(key.column)
    offset = exp.cast(exp.Sub(this=c, expression=compiler.literal(key.low)), "UINTEGER", dialect=compiler.DIALECT)
    query = (
        exp.select(exp.alias_(offset, "o"))
        .from_(exp.to_table(compiler.SOURCE_VIEW, quoted=True))
        .where(exp.Not(this=exp.Is(this=c, expression=exp.Null())))
    )
    seen = np.zeros((key.span + 7) // 8, dtype=np.uint8)
    twice = np.zeros_like(seen)
    rows = singles = 0
    reader = None
    try:
        reader = con.sql(query.sql(compiler.DIALECT)).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            got = mark_keys(batch.column(0).to_numpy(), seen, twice, key.span)
            if got is None:
                return None  # a value outside the span the statistics gave
            rows += batch.num_rows
            singles += got
    except (duckdb.ConversionException, duckdb.OutOfRangeException):
        return None  # below the minimum, or too far above it for the offset type
    finally:
        if reader is not None:
            reader.close()  # a half-read result would block the connection's next query
    shown = []
    for byte in np.flatnonzero(twice[: (key.span + 7) // 8]):
        bits = int(twice[byte])
        shown += [{key.column: key.low + 8 * int(byte) + b} for b in range(8) if bits >> b & 1]
        if len(shown) >= samples:
            break
    return rows - singles, shown[:samples], int(np.unpackbits(twice).sum())


def fill(
    con: duckdb.DuckDBPyConnection, keys: dict[str, DenseKey], plan: CompiledPlan,
    values: dict[str, Any], rules: tuple[n.Rule, ...], types: dict[str, str], samples: int,
) -> None:  # fmt: skip
    """Put each dense key's failing count and sample where the fused statement's would be."""
    by_id = {r.id: r for r in rules}
    for rule_id, key in keys.items():
        failed_out, _, sample_out, groups_out = plan.outputs[rule_id]
        got: tuple[Any, Any, Any] | None
        if key.marked:  # [failing rows, repeated keys, the first of them...]
            marks = values.get(plan.marks[rule_id])
            got = None if marks is None else (marks[0], [{key.column: v} for v in marks[2:]], marks[1])
        else:
            got = count(con, key, samples)
        if got is None:  # statistics were wrong: count it with the GROUP BY after all
            from dqgate.compilers import duckdb as compiler

            single = compiler.compile_plan((by_id[rule_id],), types=types, samples=samples)
            cur = con.execute(single.sql)
            names = [d[0] for d in cur.description or []]
            row = dict(zip(names, cur.fetchall()[0]))
            outs = single.outputs[rule_id]
            got = (row[outs[0]], row[outs[2]], row[outs[3]])
        values[failed_out], values[sample_out], values[groups_out] = got
