"""The distinct keys of a batch's unique rules, with their counts: what an append writes as key runs.

An append judged over the snapshot needs, per unique rule, the batch's distinct keys
and how often each occurs (``store/key_index.py`` writes them as a sorted run, and the
parent's runs are joined with them). A GROUP BY per rule was a third of the append's
cost on peerbench (1M rows: ``id`` and ``[id, product_code]``), so rules share one:

* a rule whose key is one integer column that is the first column of another rule's
  key (``unique: true`` on ``id`` beside ``unique: [[id, product_code]]``) is counted
  from the longer key's groups: they come ordered by that column, so adding up the
  counts of each run of equal values gives exactly ``GROUP BY id`` (a linear pass
  over the groups, no second scan, hash table or sort);
* the groups are ordered by the first key column only: a run needs its rows ordered
  by that column for the min/max of its row groups to let a lookup skip them, and
  ordering the ties too would sort every row by the longer key for nothing.

Both rules must judge the same rows (the same ``where:``, NULLs not equal), so the
shared GROUP BY keeps the rows whose first column is not NULL, and the longer key's
own groups are those with no NULL column. The counts' totals (rows judged, failing
rows, repeated keys) are computed from the count column without pandas (pyarrow
imports it, about 0.6 s, for any Python-to-Arrow conversion, ``to_numpy`` included):
numpy reads the Arrow buffers directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from dqgate.compilers.duckdb import col
from dqgate.compilers.duckdb.common import and_, not_null, where_of
from dqgate.ir import nodes as n
from dqgate.store import key_index

COUNT = key_index.COUNT  # the count column of a key run
_INTEGERS = {"TINYINT": "i1", "SMALLINT": "i2", "INTEGER": "i4", "BIGINT": "i8", "UTINYINT": "u1", "USMALLINT": "u2", "UINTEGER": "u4", "UBIGINT": "u8"}


@dataclass(frozen=True)
class KeyCounts:
    """One rule's distinct keys (Arrow table: key columns, :data:`COUNT`, ordered by the first
    key column) and their totals: rows judged, rows whose key repeats, repeated keys."""

    table: Any
    total: int
    failed: int
    groups: int


def count_keys(con: Any, view: str, rules: list[n.Unique], types: dict[str, str]) -> dict[str, KeyCounts]:
    """The key counts of each rule in ``rules`` over ``view`` (whose columns have DuckDB ``types``)."""
    out: dict[str, KeyCounts] = {}
    derived: dict[str, n.Unique] = {}  # rule id -> the rule whose groups it is counted from
    for rule in rules:
        host = next((r for r in rules if r is not rule and _prefix_of(rule, r, types)), None)
        if host is not None and host.id not in derived:
            derived[rule.id] = host
    for rule in rules:
        if rule.id in derived:
            continue
        keeps = [r for r in rules if derived.get(r.id) is rule]
        groups = _grouped(con, view, rule, loose=bool(keeps))
        if keeps:
            for short in keeps:
                out[short.id] = _totals(_add_up(groups, short.columns[0], types[short.columns[0]]))
            groups = _without_nulls(con, groups, rule)
        out[rule.id] = _totals(groups)
    return out


def _prefix_of(short: n.Unique, long: n.Unique, types: dict[str, str]) -> bool:
    """Whether ``short``'s counts can be added up from ``long``'s groups (see the module docstring)."""
    return (
        len(short.columns) == 1 and len(long.columns) > 1 and long.columns[0] == short.columns[0]
        and types.get(short.columns[0], "").upper() in _INTEGERS
        and short.where == long.where and not short.nulls_equal and not long.nulls_equal
    )  # fmt: skip


def _grouped(con: Any, view: str, rule: n.Unique, *, loose: bool) -> Any:
    """``rule``'s distinct keys with their counts; ``loose``: keep keys with NULLs after the first column."""
    keys = [col(c) for c in rule.columns]
    judged = rule.columns[:1] if loose else (() if rule.nulls_equal else rule.columns)  # as the fused check judges keys
    named = [exp.alias_(k.copy(), c, quoted=True) for k, c in zip(keys, rule.columns)]  # the data's names, "A" not "A_1"
    query = (
        exp.select(*named, exp.alias_(exp.Count(this=exp.Star()), COUNT, quoted=True))
        .from_(exp.to_table(view, quoted=True))
        .where(and_(where_of(rule), not_null(*judged) if judged else None))
        .group_by(*[k.copy() for k in keys])
        .order_by(keys[0].copy())
    )
    return con.sql(query.sql("duckdb")).to_arrow_table()


def _without_nulls(con: Any, groups: Any, rule: n.Unique) -> Any:
    """The groups of ``rule``'s own keys: those with no NULL column (the order is kept)."""
    import pyarrow.compute as pc

    rest = rule.columns[1:]
    if not any(groups.column(c).null_count for c in rest):
        return groups
    mask = pc.is_valid(groups.column(rest[0]))
    for c in rest[1:]:
        mask = pc.and_(mask, pc.is_valid(groups.column(c)))
    return groups.filter(mask)


def _numbers(column: Any, dtype: str) -> Any:
    """A null-free Arrow integer column as a numpy array over the same memory (no pandas)."""
    import numpy as np

    arr = column.combine_chunks()
    if len(arr) == 0:
        return np.zeros(0, dtype=dtype)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * width)


def _arrow(values: Any, like: Any) -> Any:
    import pyarrow as pa

    return pa.Array.from_buffers(like, len(values), [None, pa.py_buffer(values)])


def _add_up(groups: Any, name: str, duck_type: str) -> Any:
    """``GROUP BY name`` from groups ordered by ``name`` (its values not NULL): one pass over them."""
    import numpy as np
    import pyarrow as pa

    dtype = _INTEGERS[duck_type.upper()]
    keys = _numbers(groups.column(name), dtype)
    counts = _numbers(groups.column(COUNT), "i8")
    if len(keys) == 0:
        starts = np.zeros(0, dtype=np.int64)
        sums = np.zeros(0, dtype=np.int64)
    else:
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        sums = np.add.reduceat(counts, starts)
    kind = groups.schema.field(name).type
    return pa.table({name: _arrow(np.ascontiguousarray(keys[starts]), kind), COUNT: _arrow(np.ascontiguousarray(sums, dtype=np.int64), pa.int64())})


def _totals(table: Any) -> KeyCounts:
    counts = _numbers(table.column(COUNT), "i8")
    repeated = counts[counts > 1]
    return KeyCounts(table, int(counts.sum()), int(repeated.sum()), int(len(repeated)))
