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
  ordering the ties too would sort every row by the longer key for nothing;
* when that column is an integer, the keys are not hashed at all: they are read sorted
  by it, and only the rows whose first column repeats are grouped
  (:func:`_sorted_counts`; a batch of new ids repeats few: 140 of 1M on peerbench).
  Sorting 1M keys cost 0.20-0.25 s of CPU where grouping and sorting them cost 0.35 s.

An ingest counts the keys before its check (``snapshot_scope.CheckKeys``), and the
check takes its unique rules' results from these counts (:meth:`KeyCounts.repeated`)
instead of grouping the same keys again.

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

    def repeated(self, columns: tuple[str, ...], samples: int) -> tuple[int, list[dict[str, Any]], int]:
        """(failing rows, the first ``samples`` repeated keys as records, repeated keys): what the
        check's GROUP BY of the same rule gives (``runners.duckdb.KeyCounter``); the keys shown
        are the smallest, as the bitmap pass of a dense key shows its smallest."""
        import numpy as np

        counts = _numbers(self.table.column(COUNT), "i8")
        keys = self.table.select(list(columns))
        shown = [keys.slice(int(i), 1).to_pylist()[0] for i in np.flatnonzero(counts > 1)[:samples]]  # slices: take() of numpy indices imports pandas
        return self.failed, shown, self.groups


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
        groups = _grouped(con, view, rule, types, loose=bool(keeps))
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


def _grouped(con: Any, view: str, rule: n.Unique, types: dict[str, str], *, loose: bool) -> Any:
    """``rule``'s distinct keys with their counts; ``loose``: keep keys with NULLs after the first column."""
    if _sortable(rule, types, loose=loose):
        got = _sorted_counts(con, view, rule, types, loose=loose)
        if got is not None:
            return got
    keys = [col(c) for c in rule.columns]
    query = (
        exp.select(*_named(rule), exp.alias_(exp.Count(this=exp.Star()), COUNT, quoted=True))
        .from_(exp.to_table(view, quoted=True))
        .where(_judged(rule, loose=loose))
        .group_by(*[k.copy() for k in keys])
        .order_by(keys[0].copy())
    )
    return con.sql(query.sql("duckdb")).to_arrow_table()


def _named(rule: n.Unique) -> list[exp.Expression]:
    return [exp.alias_(col(c), c, quoted=True) for c in rule.columns]  # the data's names, "A" not "A_1"


def _judged(rule: n.Unique, *, loose: bool) -> exp.Expression:
    """The rows whose keys are counted: the rule's ``where``, and no NULL key column as the fused
    check judges keys (``loose``: only the first column)."""
    judged = rule.columns[:1] if loose else (() if rule.nulls_equal else rule.columns)
    return and_(where_of(rule), not_null(*judged) if judged else None)


MAX_REPEATED_KEYS = 10_000  # first-column values that repeat, beyond which hashing every key costs less


def _sortable(rule: n.Unique, types: dict[str, str], *, loose: bool) -> bool:
    """Whether ``rule``'s keys may be counted by sorting (:func:`_sorted_counts`): its first column
    is an integer, never NULL among the judged rows. (Keys are still compared by DuckDB
    alone, so the other columns may be of any type.)"""
    return (loose or not rule.nulls_equal) and types.get(rule.columns[0], "").upper() in _INTEGERS


def _sorted_counts(con: Any, view: str, rule: n.Unique, types: dict[str, str], *, loose: bool) -> Any:
    """The table of :func:`_grouped`, counted by sorting instead of hashing every key.

    A key whose first column (an integer) occurs once is a distinct key with count 1, and
    most keys are such: a batch of new ids repeats few of them. So the judged keys are read
    sorted by the first column, each with a count of 1, and only the rows whose first column
    repeats are grouped: DuckDB groups those rows, taken from the sorted keys already read
    (:func:`_group_rows`; a second scan of the batch for them, ``WHERE id IN (...)``, cost
    0.11 s of CPU on peerbench's 1M rows for 120 repeated ids), and their groups replace them
    in place. None when too many first-column values repeat for that to pay.
    """
    import numpy as np

    first = rule.columns[0]
    one = exp.alias_(exp.cast(exp.Literal.number(1), "BIGINT"), COUNT, quoted=True)
    query = exp.select(*_named(rule), one).from_(exp.to_table(view, quoted=True)).where(_judged(rule, loose=loose)).order_by(col(first))
    rows = con.sql(query.sql("duckdb")).to_arrow_table()
    values = _numbers(rows.column(first), _INTEGERS[types[first].upper()])
    if len(values) < 2:
        return rows
    same = values[1:] == values[:-1]
    if len(rule.columns) == 1:  # one column: the repeats are added up here
        return _add_up(rows, first, types[first]) if same.any() else rows
    starts = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)) == 1)  # runs of equal values
    if len(starts) == 0:
        return rows
    if len(starts) > MAX_REPEATED_KEYS:
        return None
    ends = np.flatnonzero(np.diff(np.concatenate(([False], same, [False])).astype(np.int8)) == -1) + 1
    import pyarrow as pa

    groups = _group_rows(con, pa.concat_tables([rows.slice(s, e - s) for s, e in zip(starts.tolist(), ends.tolist())]), rule)
    if not groups.schema.equals(rows.schema):  # the same columns from the same view: only ever in name
        groups = groups.cast(rows.schema)  # (cast imports pyarrow.compute, ~50 ms: not when it is a no-op)
    firsts = _numbers(groups.column(first), _INTEGERS[types[first].upper()])
    bounds = [*np.flatnonzero(np.concatenate(([True], firsts[1:] != firsts[:-1]))).tolist(), len(firsts)]
    assert len(bounds) - 1 == len(starts), "the grouped rows are those of the repeated values"
    pieces, at = [], 0
    for k, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        pieces += [rows.slice(at, start - at), groups.slice(bounds[k], bounds[k + 1] - bounds[k])]
        at = end
    pieces.append(rows.slice(at))
    return pa.concat_tables(pieces)


_REPEATED = "__dq_repeated_keys"


def _group_rows(con: Any, rows: Any, rule: n.Unique) -> Any:
    """``GROUP BY`` the key columns of ``rows`` (an Arrow table of judged keys, each with a count
    of 1), ordered by the first: grouped by DuckDB, so keys compare as in the rest of the check.
    The columns go in by position (``k0``, ``k1``, ...: two data names may differ only in case)
    and come out under the data's names, as :func:`_grouped`'s do."""
    keys = [f"k{i}" for i in range(len(rule.columns))]
    con.register(_REPEATED, rows.rename_columns([*keys, COUNT]))
    try:
        query = (
            exp.select(*[exp.alias_(exp.column(k, quoted=True), c, quoted=True) for k, c in zip(keys, rule.columns)],
                       exp.alias_(exp.Count(this=exp.Star()), COUNT, quoted=True))
            .from_(exp.to_table(_REPEATED, quoted=True))
            .group_by(*[exp.column(k, quoted=True) for k in keys])
            .order_by(exp.column(keys[0], quoted=True))
        )  # fmt: skip
        return con.sql(query.sql("duckdb")).to_arrow_table()
    finally:
        con.unregister(_REPEATED)


def _without_nulls(con: Any, groups: Any, rule: n.Unique) -> Any:
    """The groups of ``rule``'s own keys: those with no NULL column (the order is kept)."""
    rest = rule.columns[1:]
    if not any(groups.column(c).null_count for c in rest):
        return groups
    import pyarrow.compute as pc

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
