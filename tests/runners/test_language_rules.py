"""The options of issue #16 on data, on every engine: counts and statuses worked out by hand.

Relative bounds follow ``as_of``; strict bounds exclude their value; metrics of dates and
timestamps take ISO and relative bounds; every unique result carries ``duplicate_groups``
and ``excess_rows`` (on the GROUP BY, the bitmap and the native marking paths alike);
``nulls: equal`` makes NULL a key value; rules without bounds are ``info`` in every
output format and in the store's history; drift takes several methods per column and a
``where`` applied to the batch and to the reference file.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.report import console, junit_xml, markdown

UTC = dt.timezone.utc
TIMES = [dt.datetime(2024, 1, d, 12) for d in (1, 5, 10, 14, 15, 20)] + [None]


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "data.parquet"
    pq.write_table(
        pa.table({
            "k": pa.array([1, 1, 1, 2, 2, 3, None], pa.int64()),
            "s": pa.array(["a", "a", None, None, "b", "c", "c"], pa.string()),
            "x": pa.array([0.0, 0.5, 1.0, 50.0, 99.5, 100.0, 100.5], pa.float64()),
            "ts": pa.array(TIMES, pa.timestamp("us")),
            "d": pa.array([t.date() if t else None for t in TIMES], pa.date32()),
        }),
        path,
    )  # fmt: skip
    return path


HEAD = """\
dataset: lang
schema:
  columns:
    k: {type: int64}
    s: {type: string}
    x: {type: float64}
    ts: {type: timestamp}
    d: {type: date}
"""


def _check(tmp_path: Path, engine: str, body: str, *, as_of: dt.datetime = dt.datetime(2024, 1, 21, tzinfo=UTC)) -> dict[str, dqgate.CheckResult]:
    contract = tmp_path / "c.yaml"
    contract.write_text(HEAD + body, encoding="utf-8")
    result = dqgate.check(str(_data(tmp_path)), str(contract), engine=engine, as_of=as_of)
    return {c.id: c for c in result.checks}


def test_one_sided_strict_range_bounds(engine: str, tmp_path: Path) -> None:
    got = _check(tmp_path, engine, """\
checks:
  - {column: x, name: open_low, range: {min: 0, max: 100, exclusive_min: true}}
  - {column: x, name: open_high, range: {min: 0, max: 100, exclusive_max: true}}
  - {column: x, name: open_both, range: {min: 0, max: 100, exclusive: true}}
  - {column: x, name: closed, range: {min: 0, max: 100}}
""")
    # x = 0, 0.5, 1, 50, 99.5, 100, 100.5
    assert {k: got[k].failed_rows for k in ("open_low", "open_high", "open_both", "closed")} == {
        "open_low": 2, "open_high": 2, "open_both": 3, "closed": 1,
    }  # fmt: skip
    assert got["open_low"].threshold == {"min": 0, "max": 100, "exclusive_min": True}
    assert got["open_both"].threshold == {"min": 0, "max": 100, "exclusive": True}


def test_relative_bounds_follow_as_of(engine: str, tmp_path: Path) -> None:
    body = """\
checks:
  - {column: ts, name: recent_ts, range: {min: now-1w}}
  - {column: d, name: recent_d, range: {min: now-1w, max: now}}
  - {metric: max(ts), name: newest, min: now-1d}
  - {metric: min(d), name: oldest, greater_than: now-3w}
"""
    early = _check(tmp_path, engine, body, as_of=dt.datetime(2024, 1, 16, tzinfo=UTC))
    # now-1w = 2024-01-09 00:00: 1st and 5th are older; as a date bound, 2024-01-09 (d <= now: 16th)
    assert (early["recent_ts"].failed_rows, early["recent_d"].failed_rows) == (2, 3)
    assert early["newest"].status == "pass" and early["newest"].observed == dt.datetime(2024, 1, 20, 12)
    assert early["oldest"].status == "pass"  # 2024-01-01 > 2023-12-26
    assert early["newest"].threshold == {"min": dt.datetime(2024, 1, 15)}
    late = _check(tmp_path, engine, body, as_of=dt.datetime(2024, 1, 22, 13, tzinfo=UTC))
    # now-1w = 2024-01-15 13:00: only the 20th is newer; date bound 2024-01-15 keeps the 15th and 20th
    assert (late["recent_ts"].failed_rows, late["recent_d"].failed_rows) == (5, 4)
    assert late["newest"].status == "fail"  # newest 20th 12:00 < 21st 13:00
    assert late["oldest"].status == "fail" and "expected within (2024-01-01, inf]" in late["oldest"].message


def test_metric_bounds_on_instants_and_strict_metric_bounds(engine: str, tmp_path: Path) -> None:
    got = _check(tmp_path, engine, """\
checks:
  - {metric: max(ts), name: iso_in, between: ['2024-01-20 00:00:00', 2024-01-21]}
  - {metric: max(ts), name: iso_strict, less_than: '2024-01-20 12:00:00'}
  - {metric: max(d), name: date_eq, min: 2024-01-20, max: 2024-01-20}
  - {metric: max(d), name: date_strict, greater_than: 2024-01-20}
  - {metric: row_count, name: rows_gt, greater_than: 7}
  - {metric: row_count, name: rows_lt, less_than: 8, min: 7}
""")
    assert {k: v.status for k, v in got.items()} == {
        "iso_in": "pass", "iso_strict": "fail", "date_eq": "pass", "date_strict": "fail", "rows_gt": "fail", "rows_lt": "pass",
    }  # fmt: skip
    assert got["rows_gt"].threshold == {"greater_than": 7} and got["rows_lt"].threshold == {"min": 7, "less_than": 8}


@pytest.mark.parametrize("native", ["1", "0"])
def test_unique_results_count_repeated_keys_and_excess_rows(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: str) -> None:
    if native == "0":  # the bitmap path instead of the native marking (DuckDB) - same answers
        monkeypatch.setenv("DQGATE_NO_NATIVE", "1")
    got = _check(tmp_path, engine, """\
  unique:
    - [k, s]
    - {columns: [k, s], nulls: equal, name: ks_equal}
    - {columns: [k], where: "x < 100", mostly: 0.5, severity: warn, name: k_some}
checks:
  - {column: k, name: k_distinct, unique: true}
  - {column: k, name: k_equal, unique: {nulls: equal}}
  - {column: s, name: s_equal, unique: {nulls: equal}}
""")
    # k = 1 1 1 2 2 3 NULL; s = a a NULL NULL b c c
    expect = {
        "k_distinct": (5, 6, 2, 3),  # failed, total, groups, excess
        "k_equal": (5, 7, 2, 3),  # one NULL k: no repeat
        "s_equal": (6, 7, 3, 3),  # a a / NULL NULL / c c
        "k+s.unique": (2, 4, 1, 1),  # (1,a) twice; rows with a NULL are not judged
        "ks_equal": (2, 7, 1, 1),  # (1,NULL) once, (2,NULL) once: no repeat
        "k_some": (5, 5, 2, 3),  # x < 100: the first five rows
    }
    for rid, (failed, total, groups, excess) in expect.items():
        c = got[rid]
        assert (c.failed_rows, c.total_rows, c.duplicate_groups, c.excess_rows) == (failed, total, groups, excess), c
        assert c.to_json()["duplicate_groups"] == groups and c.to_json()["excess_rows"] == excess
    assert got["k_some"].status == "warn" and got["k_some"].threshold == {"mostly": 0.5, "where": got["k_some"].threshold["where"]}
    assert got["ks_equal"].threshold == {"nulls": "equal"}


def test_unbounded_rules_are_info_in_every_format(engine: str, tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(HEAD + "checks:\n  - {metric: mean(x)}\n  - {metric: max(ts)}\n  - {metric: row_count, max: 100}\n", encoding="utf-8")
    result = dqgate.check(str(_data(tmp_path)), str(contract), engine=engine)
    statuses = {c.id: c.status for c in result.checks}
    assert statuses == {"mean(x)": "info", "max(ts)": "info", "row_count": "pass"} and result.status == "pass"
    as_json = json.loads(json.dumps(result.to_json()))
    assert [c["status"] for c in as_json["checks"]] == ["info", "info", "pass"]
    assert as_json["checks"][0]["observed"] == pytest.approx(sum([0.0, 0.5, 1.0, 50.0, 99.5, 100.0, 100.5]) / 7)
    assert "INFO mean(x) = 50.2143" in junit_xml.render(result) and "<failure" not in junit_xml.render(result)
    assert "ℹ️ info | `mean(x)`" in markdown.render(result)
    text = console.render(result, width=200)
    assert "INFO" in text and "recorded only" in text and "2 info, 1 pass" in text


def test_info_metrics_are_kept_in_history(tmp_path: Path) -> None:
    from dqgate.stats.history import series

    contract = tmp_path / "c.yaml"
    contract.write_text(HEAD + "checks:\n  - {metric: mean(x)}\n", encoding="utf-8")
    store = str(tmp_path / "store")
    means = []
    for i, shift in enumerate([0.0, 10.0]):
        table = pq.read_table(_data(tmp_path))
        table = table.set_column(2, "x", pa.array([v + shift for v in table["x"].to_pylist()], pa.float64()))
        batch = tmp_path / f"b{i}.parquet"
        pq.write_table(table, batch)
        means.append(sum(table["x"].to_pylist()) / 7)
        outcome = dqgate.ingest(str(batch), str(contract), store)
        assert outcome.outcome == "published" and outcome.result.checks[0].status == "info"
    assert [p["values"]["mean(x)"] for p in series(store, "lang", "mean(x)")] == pytest.approx(means)


def test_drift_methods_per_column_with_where_on_batch_and_reference(tmp_path: Path) -> None:
    values = [float(v % 17) for v in range(200)]
    groups = ["a" if v % 3 else "b" for v in range(200)]
    shifted = [v + (3.0 if g == "b" else 0.0) for v, g in zip(values, groups)]
    pq.write_table(pa.table({"v": values, "g": groups}), tmp_path / "ref.parquet")
    pq.write_table(pa.table({"v": shifted, "g": groups}), tmp_path / "batch.parquet")
    pq.write_table(pa.table({"v": [v for v, g in zip(values, groups) if g == "a"]}), tmp_path / "ref_a.parquet")
    pq.write_table(pa.table({"v": [v for v, g in zip(shifted, groups) if g == "a"]}), tmp_path / "batch_a.parquet")
    where = tmp_path / "where.yaml"
    where.write_text(
        "dataset: dr\nschema:\n  columns:\n    v: {type: float64}\n    g: {type: string}\ndrift:\n  reference: ref.parquet\n  columns:\n"
        "    v: [{method: psi, max: 0.1, where: \"g = 'a'\"}, {method: ks, where: \"g = 'a'\"}, {method: psi, max: 0.01}]\n",
        encoding="utf-8",
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "dataset: dr\nschema:\n  columns:\n    v: {type: float64}\ndrift:\n  reference: ref_a.parquet\n  columns:\n    v: [{method: psi, max: 0.1}, {method: ks}]\n",
        encoding="utf-8",
    )
    got = {c.id: c for c in dqgate.check(str(tmp_path / "batch.parquet"), str(where)).checks}
    alone = {c.id: c for c in dqgate.check(str(tmp_path / "batch_a.parquet"), str(plain)).checks}
    assert list(got) == ["v.drift.psi", "v.drift.ks", "v.drift.psi#2"]
    # where g = 'a' on both sides: exactly the statistic of the pre-filtered files
    assert got["v.drift.psi"].observed == pytest.approx(alone["v.drift.psi"].observed, abs=1e-12)
    assert got["v.drift.ks"].observed == pytest.approx(alone["v.drift.ks"].observed, abs=1e-12)
    assert got["v.drift.psi"].observed == pytest.approx(0.0, abs=1e-12) and got["v.drift.psi"].status == "pass"
    assert got["v.drift.ks"].status == "info" and got["v.drift.ks"].threshold["where"]
    assert got["v.drift.psi#2"].observed > 0.01 and got["v.drift.psi#2"].status == "fail"  # all rows: group b moved by 3


def test_composite_foreign_key(engine: str, tmp_path: Path) -> None:
    pq.write_table(pa.table({"origin": ["JFK", "JFK", "LGA", None], "hour": [1, 2, 1, 2]}), tmp_path / "weather.parquet")
    pq.write_table(pa.table({"origin": ["JFK", "JFK", "LGA", "EWR", None, "JFK"], "hour": pa.array([1, 3, 1, 1, 2, 2], pa.int32())}), tmp_path / "flights.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "dataset: flights\nschema:\n  columns:\n    origin: {type: string}\n    hour: {type: int32}\n  foreign_keys:\n"
        "    - {columns: [origin, hour], references: weather}\n"
        "    - {columns: [origin, hour], references: weather, to: [origin, hour], where: \"origin = 'JFK'\", mostly: 0.6, name: jfk}\n"
        "references:\n  weather: weather.parquet\n",
        encoding="utf-8",
    )
    got = {c.id: c for c in dqgate.check(str(tmp_path / "flights.parquet"), str(contract), engine=engine).checks}
    every = got["origin+hour.references"]
    # (JFK,3) and (EWR,1) have no weather row; the NULL origin is not judged
    assert (every.failed_rows, every.total_rows, every.status) == (2, 5, "fail")
    assert sorted((s["origin"], s["hour"]) for s in every.sample) == [("EWR", 1), ("JFK", 3)]
    assert every.threshold == {"references": "weather(origin, hour)"}
    assert (got["jfk"].failed_rows, got["jfk"].total_rows, got["jfk"].status) == (1, 3, "pass")  # 2/3 >= 0.6
