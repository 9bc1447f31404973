"""A batch profiled only for its merge into the parent (``MergeInto``) merges into the same snapshot profile.

Session 8 of issue 11: an append profiles its batch without what the parent's profile
settles: no distinct estimate, values or knots of a column the parent keeps counts only
of, and, for a text column, a count of the values outside the parent's extremes instead of
the batch's own ``min``/``max`` (taken only when some value lies outside). Hypothesis
draws parents and batches (NULLs, few and many distinct values, text with quotes,
backslashes and non-ASCII, batches inside and outside the parent's text extremes); the
merged profile must equal the merge of the full batch profile, except that a column kept
as counts only no longer claims a ``distinct`` estimate, and its extremes must be those
of all rows.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dqgate.runners.reference import BatchProfile
from dqgate.stats import profile as prof
from profile_helpers import same

ODD = ["", "it's", "a\\b", "Zürich", "中文", "tab\there", "~~~", " lead", "\U0001f600"]


def _table(rng: np.random.Generator, size: int, *, text_from: int, odd: list[str], nulls: float, shift: int = 0,
           odd_floats: list[float] = ()) -> pa.Table:  # fmt: skip
    def masked(values: list) -> list:
        return [None if rng.random() < nulls else v for v in values]

    many = [f"u{int(x):07d}" for x in rng.integers(text_from, text_from + 10**6, size)]
    for i, s in enumerate(odd[: size // 4]):  # odd strings, some outside any plain "uNNNNNNN" range
        many[i * 4] = s
    floats = rng.normal(shift, 1, size).tolist()
    for i, f in enumerate(list(odd_floats)[: size // 4]):
        floats[i * 4 + 1] = f
    return pa.table({
        "few_i": pa.array(masked(rng.integers(shift, shift + 20, size).tolist()), pa.int64()),
        "many_f": pa.array(masked(floats), pa.float64()),
        "small_f": pa.array(masked(rng.integers(-3, 3, size).astype(np.float32).tolist()), pa.float32()),
        "few_s": pa.array(masked(rng.choice(["DE", "FR", "NL"], size).tolist()), pa.string()),
        "many_s": pa.array(masked(many), pa.string()),
        "ts": pa.array(masked(rng.integers(shift * 10**9, 10**12, size).tolist()), pa.timestamp("us")),
    })  # fmt: skip


def _profile(table: pa.Table, **kw) -> dict:
    con = duckdb.connect()
    con.register("t", table)
    out, _ = prof.profile_view(con, "t", **kw)
    return out


def _extremes(*tables: pa.Table, column: str) -> tuple:
    values = [v for t in tables for v in t.column(column).to_pylist() if v is not None]
    return (min(values), max(values)) if values else (None, None)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    parent_rows=st.sampled_from([30, 1500]),
    batch_rows=st.integers(0, 400),
    text_from=st.sampled_from([0, 500_000, 2_000_000]),  # the batch's text inside, straddling, or past the parent's
    odd=st.lists(st.sampled_from(ODD), max_size=4),
    nulls=st.sampled_from([0.0, 0.2, 1.0]),
    shift=st.sampled_from([0, -5, 30]),  # the batch's numbers inside or outside the parent's extremes
    odd_floats=st.lists(st.sampled_from([float("nan"), -0.0, 0.0, float("inf"), -float("inf"), 1e300]), max_size=3),
    parent_odd=st.booleans(),
)
@example(seed=1, parent_rows=1500, batch_rows=0, text_from=0, odd=[], nulls=0.0, shift=0, odd_floats=[float("inf")],
         parent_odd=True)  # a knot at inf (drift column holding inf): was written as the column name `inf`  # fmt: skip
def test_a_batch_profiled_for_its_merge_merges_as_the_full_profile(
    seed, parent_rows, batch_rows, text_from, odd, nulls, shift, odd_floats, parent_odd
):
    rng = np.random.default_rng(seed)
    parent_rows_table = _table(rng, parent_rows, text_from=0, odd=[], nulls=0.1, odd_floats=odd_floats if parent_odd else ())
    parent = _profile(parent_rows_table, knots_for={"many_f"} if seed % 2 else set())
    batch_rows_table = _table(rng, batch_rows, text_from=text_from, odd=odd, nulls=nulls, shift=shift, odd_floats=odd_floats)
    knots_at, into = prof.knots_of(parent), prof.merge_into(parent)
    full = prof.merge(parent, _profile(batch_rows_table, knots_at=knots_at))
    lean = prof.merge(parent, _profile(batch_rows_table, knots_at=knots_at, into=into))
    expected = {
        name: {k: v for k, v in col.items() if not (k == "distinct" and name in into.counts_only)}
        for name, col in full["columns"].items()
    }
    assert lean["rows"] == full["rows"]
    assert same(lean["columns"], expected)
    for name in ("many_s", "few_s"):  # the extremes are those of every row, however they were found
        got = (lean["columns"][name].get("min"), lean["columns"][name].get("max"))
        assert got == _extremes(parent_rows_table, batch_rows_table, column=name)
    if parent_rows > prof.EXACT_CAP:  # the parent keeps counts only of its many text values: nothing estimated for them
        assert "many_s" in into.counts_only and "distinct" not in lean["columns"]["many_s"]


def test_a_profile_taken_for_one_parent_is_not_merged_into_another() -> None:
    rng = np.random.default_rng(3)
    parent_table = _table(rng, 1500, text_from=0, odd=[], nulls=0.0)
    parent = _profile(parent_table)
    other = _profile(_table(rng, 1500, text_from=5_000_000, odd=[], nulls=0.0))  # other text extremes (a racer's replace)
    into = prof.merge_into(parent)
    batch = BatchProfile(_profile(parent_table.slice(0, 10), into=into), prof.knots_of(parent), into)
    assert batch.merges_into(parent)
    assert not batch.merges_into(other)
    assert not batch.merges_into(None)
