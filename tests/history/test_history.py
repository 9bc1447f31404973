"""Metric history in manifests, change/anomaly rules and `dq history`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.gate.ingest import ingest
from dqgate.stats.history import anomaly_score, series

CONTRACT = """dataset: hist
gate: {on_failure: fail}
schema:
  columns:
    g: {type: string}
    v: {type: float64}
checks:
  - metric: row_count
    change: {max: 0.5}
    anomaly: {method: zscore, window: 4, max: 3}
  - metric: mean(v)
    by: [g]
    anomaly: {method: mad, window: 5, max: 4}
"""


def _batch(tmp_path: Path, name: str, rows: int, a: float = 0.0, b: float = 1.0) -> Path:
    """``rows`` rows, half in group a with mean ``a``, half in b with mean ``b``."""
    g = ["a", "b"] * (rows // 2)
    v = [(a if x == "a" else b) + (0.5 if i % 4 < 2 else -0.5) for i, x in enumerate(g)]
    pq.write_table(pa.table({"g": g, "v": v}), tmp_path / f"{name}.parquet")
    return tmp_path / f"{name}.parquet"


def test_change_and_anomaly_against_published_versions(tmp_path: Path, write_contract) -> None:
    contract = write_contract(CONTRACT)
    store = str(tmp_path / "store")
    sizes = [100, 110, 96, 104, 102]
    a_means, b_means = [0.0, 0.1, -0.1, 0.05, 0.0], [1.0, 1.2, 0.9, 1.1, 1.0]
    for i, size in enumerate(sizes):
        outcome = ingest(contract, _batch(tmp_path, f"b{i}", size, a_means[i], b_means[i]), store, mode="append")
        assert outcome.outcome == "published", [c.message for c in outcome.result.checks if c.status != "pass"]
        checks = {c.id: c for c in outcome.result.checks}
        if i == 0:
            assert checks["row_count.change"].observed is None and "no published value" in checks["row_count.change"].message
        else:
            assert checks["row_count.change"].observed == pytest.approx(abs(size - sizes[i - 1]) / sizes[i - 1])
        if i < 3:
            assert checks["row_count.anomaly"].observed is None and "not enough history" in checks["row_count.anomaly"].message
        else:
            past = np.array(sizes[max(0, i - 4) : i], float)
            assert checks["row_count.anomaly"].observed == pytest.approx(abs(size - past.mean()) / past.std(ddof=1), rel=1e-12)
    points = series(store, "hist", "row_count")
    assert [p["values"]["row_count"] for p in points] == sizes
    means = series(store, "hist", "mean(v)")
    assert set(means[-1]["values"]) == {"mean(v)[g=a]", "mean(v)[g=b]"}
    # a jump: the row count is an outlier (zscore) and the mean of group b moves (mad)
    jump = _batch(tmp_path, "jump", 400, a=0.0, b=5.0)
    outcome = ingest(contract, jump, store, mode="append")
    assert outcome.outcome == "rejected"
    checks = {c.id: c for c in outcome.result.checks}
    assert checks["row_count.change"].status == "fail" and checks["row_count.change"].observed == pytest.approx(298 / 102)
    past = np.array(sizes[-4:], float)
    assert checks["row_count.anomaly"].observed == pytest.approx(abs(400 - past.mean()) / past.std(ddof=1))
    b_past = np.array([p["values"]["mean(v)[g=b]"] for p in means])
    b_now = checks["mean(v)[g=b]"].observed
    mad = 1.4826 * np.median(np.abs(b_past - np.median(b_past)))
    assert checks["mean(v)[g=b].anomaly"].observed == pytest.approx(abs(b_now - np.median(b_past)) / mad, rel=1e-12)
    assert checks["mean(v)[g=b].anomaly"].status == "fail" and checks["mean(v)[g=a].anomaly"].status == "pass"


def test_history_rules_without_a_store_are_errors(tmp_path: Path, write_contract) -> None:
    result = dqgate.check(_batch(tmp_path, "b", 10), write_contract(CONTRACT))
    history = [c for c in result.checks if c.rule in ("change", "anomaly")]
    assert {c.id for c in history} == {"row_count.change", "row_count.anomaly", "mean(v)[g=a].anomaly", "mean(v)[g=b].anomaly"}
    assert all(c.status == "error" and "needs the snapshot store" in c.message for c in history)
    assert result.status == "fail"


def test_anomaly_score_edge_cases() -> None:
    assert anomaly_score(5.0, [5.0, 5.0, 5.0], "zscore") == (0.0, 5.0)
    assert anomaly_score(6.0, [5.0, 5.0, 5.0], "mad")[0] == float("inf")
    assert anomaly_score(7.0, [1.0, 2.0, 3.0], "zscore")[0] == pytest.approx(5.0)


def test_dq_history_prints_the_series(tmp_path: Path, write_contract, run_cli) -> None:
    contract = write_contract(CONTRACT)
    store = str(tmp_path / "store")
    for i, size in enumerate([20, 22]):
        assert ingest(contract, _batch(tmp_path, f"b{i}", size), store, mode="append").outcome == "published"
    code, out, _ = run_cli("history", store, "hist", "--metric", "row_count")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["version", "created_at", "row_count"]
    assert [line.split()[0::2] for line in lines[1:]] == [["1", "20"], ["2", "22"]]
    code, out, _ = run_cli("history", store, "hist", "--metric", "mean(v)", "--format", "json")
    data = json.loads(out)
    assert [sorted(p["values"]) for p in data] == [["mean(v)[g=a]", "mean(v)[g=b]"]] * 2
    code, out, err = run_cli("history", store, "nope")
    assert code == 2 and "not found" in err
