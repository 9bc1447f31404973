"""Batches ingested one by one are judged exactly as one check of the union (issue 11).

Hypothesis draws sequences of batches with NULL keys, keys repeated inside a batch
and across batches, a composite key, and ``where:``-scoped rules. Each batch is
ingested; the snapshot judgement the ingest made (from merged state, key runs and
rescans) must equal one DuckDB check of everything published so far plus the batch:
counts exactly, metrics to 1e-12 relative (of the value, or of the data's scale when
the value itself is near zero). Warn-severity keys let repeated keys into the
snapshot, so the merge of keys that are repeated on both sides is exercised too.
"""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import close

from dqgate.contract import load_contract
from dqgate.gate.ingest import ingest
from dqgate.runners.check import run as full_check

CONTRACT = """\
dataset: h
version: 1.0.0
schema:
  columns:
    k: {type: int64, unique: true, severity: warn}
    a: {type: int64, unique: true, severity: warn}  # counted from the groups of [a, b] (gate/key_counts.py)
    b: {type: string}
    x: {type: float64, range: {min: -500, max: 500}, mostly: 0.5, where: "a >= 1"}
    t: {type: timestamp, freshness: {max_age: 1000d}, severity: warn}
  unique: [[a, b]]
checks:
  - column: k
    unique: true
    where: "a >= 2"
    severity: warn
    name: k_where
  - metric: row_count
  - metric: mean(x)
    where: "a > 1"
  - metric: stddev(x)
  - metric: null_fraction(x)
  - metric: null_count(k)
  - metric: sum(a)
  - metric: sum(x)
  - metric: min(x)
  - metric: max(a)
  - metric: median(x)
  - metric: "count(*) FILTER (WHERE b = 'xy')"
    name: xy_rows
gate: {publish: append, on_failure: quarantine_batch}
"""
SCHEMA = pa.schema([("k", pa.int64()), ("a", pa.int64()), ("b", pa.string()), ("x", pa.float64()), ("t", pa.timestamp("us"))])
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

row = st.fixed_dictionaries({
    "k": st.one_of(st.none(), st.integers(0, 30)),
    "a": st.one_of(st.none(), st.integers(0, 4)),
    "b": st.one_of(st.none(), st.text("xyz", min_size=1, max_size=3)),
    "x": st.one_of(st.none(), st.floats(-1000, 1000, allow_nan=False)),
    "t": st.one_of(st.none(), st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2025, 12, 31))),
})  # fmt: skip
batches = st.lists(st.lists(row, min_size=1, max_size=12), min_size=2, max_size=5)


@settings(max_examples=int(os.environ.get("DQGATE_PARITY_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(batches)
def test_ingesting_batches_one_by_one_judges_each_snapshot_as_one_check_of_the_union(tmp_path_factory, sequence):
    folder = tmp_path_factory.mktemp("parity")
    contract_path = folder / "h.yaml"
    contract_path.write_text(CONTRACT, encoding="utf-8")
    c = load_contract(str(contract_path))
    store = str(folder / "store")
    published: list[pa.Table] = []
    for i, rows in enumerate(sequence):
        if rows in sequence[:i]:
            continue  # the same bytes are the same batch: its second ingest does nothing
        batch = pa.Table.from_pylist(rows, schema=SCHEMA)
        out = ingest(c, batch, store, as_of=AS_OF)
        assert out.outcome in ("published", "quarantined_batch"), out.summary()
        union = pa.concat_tables([*published, batch])
        whole = {r.id: r for r in full_check(union, c, as_of=AS_OF, allow_empty=True).checks}
        got = {r.id: r for r in out.result.checks}
        assert set(got) == set(whole)
        scale = max((abs(v) for v in union.column("x").to_pylist() if v is not None), default=0.0)
        for rule_id, want in whole.items():
            mine = got[rule_id]
            where = (rule_id, mine.computed, len(published))
            assert mine.status == want.status, where
            assert (mine.failed_rows, mine.total_rows) == (want.failed_rows, want.total_rows), where
            assert close(mine.observed, want.observed, scale=scale, rel=1e-12), (*where, mine.observed, want.observed)
        assert {r.id: r.computed for r in out.result.checks}["median(x)"] == "rescan" if published else True
        if out.outcome == "published":
            published.append(batch)
        else:  # kept out exactly when one check of the union fails
            assert out.result.status == "fail"
