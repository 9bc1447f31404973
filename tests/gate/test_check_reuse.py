"""An ingest's check reuses what the ingest computes anyway, and reports exactly what it reported alone.

Session 7 of issue 11: the append's key counts (``CheckKeys``, counted once for the key
index) stand in for the check's GROUP BYs of the same keys, and the check's fused
statement carries the first statement of the batch's profile and the snapshot state's
aggregates (``carried_by_check``). Hypothesis draws batches with NULL keys, keys repeated
(integer first key columns, so the sorting path of ``gate/key_counts.py`` runs), a
``where:``-scoped key and metrics; each batch is checked twice on DuckDB, once as
``dq check`` does and once as the ingest does, and everything must agree: every rule's
counts and status, the repeated keys shown (repeated in the batch, as many as the rule
has up to ``samples``), the batch's profile and the state's aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle import close

from dqgate.compilers.duckdb import SOURCE_VIEW
from dqgate.contract import load_contract
from dqgate.gate import key_counts
from dqgate.gate import snapshot_scope as scope
from dqgate.gate.ingest import ingest
from dqgate.ir import nodes as n
from dqgate.runners import duckdb as runner
from dqgate.runners.check import planned
from dqgate.runners.reference import profile_batch

CONTRACT = """\
dataset: r
version: 1.0.0
schema:
  columns:
    a: {type: int64, unique: true, severity: warn}
    b: {type: string}
    k: {type: int32}
    x: {type: float64}
    t: {type: timestamp, freshness: {max_age: 1000d}, severity: warn}
  unique: [[a, b]]
checks:
  - column: k
    unique: true
    where: "x > 0"
    severity: warn
    name: k_where
  - metric: row_count
  - metric: mean(x)
  - metric: stddev(x)
  - metric: null_fraction(b)
  - metric: max(a)
drift:
  reference: latest
  columns:
    x: {method: psi, max: 100}
gate: {publish: append, on_failure: quarantine_batch}
"""
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.string()), ("k", pa.int32()), ("x", pa.float64()), ("t", pa.timestamp("us"))])
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SAMPLES = 3

row = st.fixed_dictionaries({
    "a": st.one_of(st.none(), st.integers(-5, 40)),
    "b": st.one_of(st.none(), st.sampled_from(["p", "q", "rr"])),
    "k": st.one_of(st.none(), st.integers(0, 8)),
    "x": st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),
    "t": st.one_of(st.none(), st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2025, 12, 31))),
})  # fmt: skip


def _repeated(rows: list[dict], rule: n.Unique) -> set[tuple]:
    """The keys a unique rule finds repeated, counted in plain Python (NULL keys not judged)."""
    keys = Counter(
        tuple(r[c] for c in rule.columns) for r in rows
        if all(r[c] is not None for c in rule.columns) and (rule.where is None or (r["x"] is not None and r["x"] > 0))
    )  # fmt: skip
    return {k for k, v in keys.items() if v > 1}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A store holding one version (so the batch is profiled at its parent's knots)."""
    folder = tmp_path_factory.mktemp("reuse")
    (folder / "r.yaml").write_text(CONTRACT, encoding="utf-8")
    c = load_contract(str(folder / "r.yaml"))
    store = str(folder / "store")
    first = pa.Table.from_pylist([{"a": 1000 + i, "b": "p", "k": i, "x": float(i), "t": dt.datetime(2025, 1, 1)} for i in range(50)], schema=SCHEMA)
    assert ingest(c, first, store, as_of=AS_OF).outcome == "published"
    return c, store


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=30))
def test_the_ingests_check_reports_what_the_check_alone_reports(published, rows):
    c, store = published
    rules = planned(c, store=store, base_dir=c.base_dir, as_of=AS_OF)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    alone_con, ingest_con = runner.connect(), runner.connect()
    try:
        alone = runner.run(c, rules, table, as_of=AS_OF, con=alone_con, samples=SAMPLES, allow_empty=True)
        keys, carried = scope.CheckKeys.of(rules), scope.carried_by_check(c, rules, store, mode="append")
        reused = runner.run(c, rules, table, as_of=AS_OF, con=ingest_con, samples=SAMPLES, allow_empty=True, keys=keys, ride=carried.ride)
        assert keys.counted is not None and carried.ride.values is not None  # both were used, not fallen back from
        by_id = {r.id: r for r in rules}
        for want, got in zip(alone.checks, reused.checks):
            where = (got.id, rows)
            assert (got.id, got.status, got.failed_rows, got.total_rows) == (want.id, want.status, want.failed_rows, want.total_rows), where
            assert close(got.observed, want.observed, rel=1e-12), where
            rule = by_id.get(got.id)
            if isinstance(rule, n.Unique):
                assert (got.duplicate_groups, got.excess_rows) == (want.duplicate_groups, want.excess_rows), where
                repeated = _repeated(rows, rule)
                shown = [s if isinstance(s, dict) else {rule.columns[0]: s} for s in got.sample]
                assert len(shown) == min(SAMPLES, len(repeated)) if got.status != "pass" else True, where
                assert all(tuple(s[c] for c in rule.columns) in repeated for s in shown), where
        # the profile and state aggregates the ride carried are those a statement of their own computes
        aggregates, _ = scope.state_aggregates(rules, scope._view_types(alone_con, SOURCE_VIEW))
        own, own_raw = profile_batch(alone_con, SOURCE_VIEW, store, c, mode="append", extra_first=aggregates)
        carried.first.values = carried.ride.values
        rode, rode_raw = profile_batch(ingest_con, SOURCE_VIEW, store, c, mode="append", first=carried.first)
        assert rode.profile == own.profile and rode.knots_at == own.knots_at
        for name in [str(a.alias) for a in aggregates]:
            assert close(rode_raw[name], own_raw[name], rel=1e-12), (name, rode_raw[name], own_raw[name])
    finally:
        alone_con.close()
        ingest_con.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 60)), st.one_of(st.none(), st.sampled_from(["x", "y"]))), max_size=120),
       st.sampled_from([0, 1, 1000]))  # fmt: skip
@example([(1, "x"), (1, "x"), (2, "y"), (None, "x"), (3, None), (3, None), (3, "y"), (0, "x")], 1000)
def test_key_counts_by_sorting_or_hashing_equal_a_plain_count(pairs, limit):
    """Mostly distinct first columns (the sorting path), with the repeated values grouped apart;
    ``limit`` 0 sends every rule with a repeat to the GROUP BY of every key instead."""
    import duckdb

    table = pa.table({"k": pa.array([p[0] for p in pairs], pa.int64()), "s": pa.array([p[1] for p in pairs], pa.string())})
    rules = [n.Unique(id="k", columns=("k",)), n.Unique(id="ks", columns=("k", "s"))]
    con = duckdb.connect()
    con.register("batch", table)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(key_counts, "MAX_REPEATED_KEYS", limit)
        got = key_counts.count_keys(con, "batch", rules, {"k": "BIGINT", "s": "VARCHAR"})
    for rule in rules:
        want = Counter(p[: len(rule.columns)] for p in pairs if all(v is not None for v in p[: len(rule.columns)]))
        mine = got[rule.id]
        keys = [tuple(r[c] for c in rule.columns) for r in mine.table.to_pylist()]
        assert dict(zip(keys, mine.table.column(key_counts.COUNT).to_pylist())) == dict(want) and len(keys) == len(want), rule.id
        assert [k[0] for k in keys] == sorted(k[0] for k in keys), rule.id
        failed, shown, groups = mine.repeated(rule.columns, 2)
        repeated = sorted(k for k, v in want.items() if v > 1)
        assert (failed, groups) == (sum(want[k] for k in repeated), len(repeated))
        shown_keys = [tuple(s[c] for c in rule.columns) for s in shown]
        assert set(shown_keys) <= set(repeated) and len(shown_keys) == min(2, len(repeated)), rule.id
        assert [k[0] for k in shown_keys] == [k[0] for k in repeated[:2]], rule.id  # the smallest, as the bitmap pass shows
