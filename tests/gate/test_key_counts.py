"""The batch's key counts (gate/key_counts.py) equal a plain-Python count of the judged keys.

Random rows with NULLs in both key columns and keys repeated; a single integer key
beside a composite key starting with it (counted from the composite's groups), the
same pair under ``where:`` and under ``nulls: equal`` (counted by their own GROUP BYs).
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate.gate.key_counts import COUNT, count_keys
from dqgate.ir import nodes as n

row = st.tuples(st.one_of(st.none(), st.integers(-3, 6)), st.one_of(st.none(), st.sampled_from(["x", "y", "zz"])), st.integers(0, 3))
TYPES = {"k": "INTEGER", "s": "VARCHAR", "a": "BIGINT"}


def _oracle(rows: list[tuple], rule: n.Unique) -> Counter:
    """The judged rows' keys: the where holds; no NULL key column unless nulls are equal."""
    index = {"k": 0, "s": 1, "a": 2}
    got: Counter = Counter()
    for r in rows:
        if rule.where is not None and not r[2] >= 2:
            continue
        key = tuple(r[index[c]] for c in rule.columns)
        if not rule.nulls_equal and any(v is None for v in key):
            continue
        got[key] += 1
    return got


RULES = [
    [n.Unique(id="k", columns=("k",)), n.Unique(id="ks", columns=("k", "s"))],  # k counted from (k, s)'s groups
    [n.Unique(id="k", columns=("k",), where="a >= 2"), n.Unique(id="ks", columns=("k", "s"), where="a >= 2")],
    [n.Unique(id="k", columns=("k",), nulls_equal=True), n.Unique(id="ks", columns=("k", "s"), nulls_equal=True)],
    [n.Unique(id="k", columns=("k",)), n.Unique(id="ks", columns=("k", "s"), where="a >= 2")],  # not the same rows: own GROUP BYs
]


@settings(max_examples=60, deadline=None)
@given(st.lists(row, max_size=40), st.sampled_from(range(len(RULES))))
def test_key_counts_equal_a_plain_count_of_the_judged_keys(rows, which):
    rules = RULES[which]
    table = pa.table({"k": pa.array([r[0] for r in rows], pa.int32()), "s": pa.array([r[1] for r in rows], pa.string()),
                      "a": pa.array([r[2] for r in rows], pa.int64())})  # fmt: skip
    con = duckdb.connect()
    con.register("batch", table)
    got = count_keys(con, "batch", rules, TYPES)
    for rule in rules:
        want = _oracle(rows, rule)
        mine = got[rule.id]
        keys = [tuple(r[c] for c in rule.columns) for r in mine.table.to_pylist()]
        assert len(keys) == len(set(keys)), (rule.id, keys)  # each key once
        assert dict(zip(keys, mine.table.column(COUNT).to_pylist())) == dict(want), rule.id
        assert mine.table.schema.field(rule.columns[0]).type == table.schema.field(rule.columns[0]).type
        firsts = [k[0] for k in keys if k[0] is not None]
        assert firsts == sorted(firsts), rule.id  # ordered by the first key column: a run's row groups can be skipped
        repeated = [v for v in want.values() if v > 1]
        assert (mine.total, mine.failed, mine.groups) == (sum(want.values()), sum(repeated), len(repeated)), rule.id
