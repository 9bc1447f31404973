"""A profile survives the manifest's JSON exactly, ±inf and NaN included.

The manifest keeps a snapshot's profile as JSON, which has no infinities: a knot at
``inf`` (a drift column holding ``inf``) came back as null, and every later check or
ingest against that snapshot died in ``float(None)`` with a traceback. Profiles now keep
non-finite numbers as text (``stats/profile.stored_number``). A knot at ``inf`` also
reached the drift statement as the bare word ``inf``, which DuckDB reads as a column
name (``compilers/duckdb/common.literal`` now casts it). Both tests fail on the old code.
"""

from __future__ import annotations

import json
import math

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

import dqgate
from dqgate.stats import profile as prof
from dqgate.store.stamp import json_safe
from profile_helpers import same

ODD = [math.inf, -math.inf, math.nan, None, -0.0]


def _profile(values: list, **kw) -> dict:
    con = duckdb.connect()
    con.register("t", pa.table({"x": pa.array(values, pa.float64())}))
    return prof.profile_view(con, "t", **kw)[0]


def _stored(profile: dict) -> dict:
    """What a manifest gives back: the JSON the store writes, read again."""
    return json.loads(json.dumps(json_safe(profile), allow_nan=False))


def _column(draw_size: int, odd: list, start: int) -> list:
    return [float(start + i) for i in range(draw_size)] + odd


@settings(max_examples=40, deadline=None)
@given(
    parent_size=st.sampled_from([3, 1200]),  # exact values, or knots
    batch_size=st.sampled_from([0, 5, 900]),
    parent_odd=st.lists(st.sampled_from(ODD), max_size=4),
    batch_odd=st.lists(st.sampled_from(ODD), max_size=4),
)
def test_a_profile_with_non_finite_numbers_round_trips_and_merges_as_in_memory(parent_size, batch_size, parent_odd, batch_odd):
    parent = _profile(_column(parent_size, parent_odd, 0))
    assert same(_stored(parent), parent)  # nothing turned into null on the way through JSON
    batch = _profile(_column(batch_size, batch_odd, 500), knots_at=prof.knots_of(_stored(parent)))
    assert same(prof.merge(_stored(parent), _stored(batch)), prof.merge(parent, batch))
    assert prof.knots_of(_stored(parent)) == prof.knots_of(parent)
    ref = prof.reference_of(_stored(parent), "x", source="p")
    if isinstance(ref, str):
        assert "no non-null values" in ref
    else:
        values = [v for v in _column(parent_size, parent_odd, 0) if v is not None and v == v]
        assert ref.n >= len(values)


def test_checks_and_appends_keep_working_after_a_snapshot_with_inf_in_a_drift_column(tmp_path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "dataset: infy\nversion: 1.0.0\nschema:\n  columns:\n    id: {type: int64, required: true, unique: true}\n"
        "    x: {type: float64}\ndrift:\n  reference: latest\n  columns:\n    x: {method: psi, max: 1000000}\ngate: {publish: append}\n"
    )
    store = tmp_path / "store"
    for b in range(3):
        ids = list(range(b * 2000, (b + 1) * 2000))
        xs = [float(i) for i in ids]
        xs[0], xs[5], xs[-1] = -math.inf, math.nan, math.inf
        pq.write_table(pa.table({"id": ids, "x": xs}), tmp_path / f"b{b}.parquet")
        outcome = dqgate.ingest(str(tmp_path / f"b{b}.parquet"), str(contract), str(store))
        assert outcome.outcome == "published", outcome
    result = dqgate.check(str(tmp_path / "b2.parquet"), str(contract), store=str(store))
    drift = [c for c in result.checks if c.rule == "drift"]
    assert drift and all(c.status != "error" for c in drift), drift
