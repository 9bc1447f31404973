"""Metrics per slice (``by:``) and evaluation metrics, against numpy and scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

import dqgate
from dqgate.errors import ContractError


def _data(tmp_path: Path, seed: int = 0, size: int = 600) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size)
    score = np.round(np.clip(0.35 * y + rng.random(size) * 0.65, 0, 1), 1)  # rounded: many ties
    cols = {
        "hospital": rng.choice(["H1", "H2", "H3"], size),
        "tier": rng.integers(1, 3, size),
        "x": rng.normal(0, 1, size),
        "y": y,
        "y_hat": (rng.random(size) < 0.2 + 0.6 * y).astype(np.int64),
        "score": score,
        "animal": rng.choice(["cat", "dog", "eel"], size, p=[0.5, 0.3, 0.2]),
        "guess": rng.choice(["cat", "dog", "fox"], size, p=[0.6, 0.3, 0.1]),  # eel never guessed, fox never true
    }
    table = pa.table({k: pa.array(v.tolist()) for k, v in cols.items()})
    x = table.column("x").to_pylist()
    x[3] = None
    hospital = table.column("hospital").to_pylist()
    hospital[5] = None
    table = table.set_column(2, "x", pa.array(x, pa.float64())).set_column(0, "hospital", pa.array(hospital, pa.string()))
    pq.write_table(table, tmp_path / "preds.parquet")
    cols["hospital"] = np.array(hospital, dtype=object)
    cols["x"] = np.array([np.nan if v is None else v for v in x])
    return tmp_path / "preds.parquet", cols


HEAD = """dataset: preds
schema:
  columns:
    hospital: {type: string}
    tier: {type: int64}
    x: {type: float64}
    y: {type: int64}
    y_hat: {type: int64}
    score: {type: float64}
    animal: {type: string}
    guess: {type: string}
checks:
"""


def _results(path: Path, write_contract, checks: str) -> dict[str, dqgate.runners.results.CheckResult]:  # type: ignore[name-defined]
    result = dqgate.check(path, write_contract(HEAD + checks))
    return {c.id: c for c in result.checks}


def test_metric_by_groups_matches_numpy(tmp_path: Path, write_contract) -> None:
    path, d = _data(tmp_path)
    got = _results(path, write_contract, """
  - metric: mean(x)
    by: [hospital]
    between: [-0.5, 0.5]
  - metric: row_count
    by: [hospital, tier]
  - name: positives
    metric: "count(*) FILTER (WHERE x > 0)"
    by: [tier]
    where: "y = 1"
""")
    for h in ("H1", "H2", "H3"):
        mask = (d["hospital"] == h) & ~np.isnan(d["x"])
        assert got[f"mean(x)[hospital={h}]"].observed == pytest.approx(d["x"][mask].mean(), rel=1e-12)
        for t in (1, 2):
            assert got[f"row_count[hospital={h},tier={t}]"].observed == int(np.sum((d["hospital"] == h) & (d["tier"] == t)))
    assert got["row_count[hospital=null,tier=" + str(d["tier"][5]) + "]"].observed == 1
    assert got["mean(x)[hospital=null]"].observed == pytest.approx(d["x"][5])
    for t in (1, 2):
        assert got[f"positives[tier={t}]"].observed == int(np.sum((d["tier"] == t) & (d["y"] == 1) & (d["x"] > 0)))
    # each slice is its own gated result
    assert got["mean(x)[hospital=H1]"].status == "pass" and got["mean(x)[hospital=H1]"].threshold == {"min": -0.5, "max": 0.5}


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_evaluation_metrics_match_sklearn_per_slice(tmp_path: Path, write_contract, seed: int) -> None:
    path, d = _data(tmp_path, seed)
    checks = "".join(
        f"\n  - metric: {m}\n    label: y\n    prediction: y_hat\n    positive: 1\n    by: [hospital]\n"
        for m in ("accuracy", "precision", "recall", "f1", "false_negative_rate", "false_positive_rate")
    )
    checks += "\n  - metric: roc_auc\n    label: y\n    score: score\n    positive: 1\n    min: 0.6\n    by: [hospital]\n"
    checks += "\n  - metric: mae\n    label: y\n    prediction: score\n  - metric: rmse\n    label: y\n    prediction: score\n    by: [hospital]\n"
    got = _results(path, write_contract, checks)
    assert got["mae(y, score)"].observed == pytest.approx(skm.mean_absolute_error(d["y"], d["score"]), rel=1e-12)
    for h in ("H1", "H2", "H3"):
        m = d["hospital"] == h
        y, p = d["y"][m], d["y_hat"][m]
        tn, fp, fn, tp = skm.confusion_matrix(y, p, labels=[0, 1]).ravel()
        key = f"[hospital={h}]"
        assert got["accuracy(y, y_hat)" + key].observed == pytest.approx(skm.accuracy_score(y, p), rel=1e-12)
        assert got["precision(y, y_hat)" + key].observed == pytest.approx(skm.precision_score(y, p), rel=1e-12)
        assert got["recall(y, y_hat)" + key].observed == pytest.approx(skm.recall_score(y, p), rel=1e-12)
        assert got["f1(y, y_hat)" + key].observed == pytest.approx(skm.f1_score(y, p), rel=1e-12)
        assert got["false_negative_rate(y, y_hat)" + key].observed == pytest.approx(fn / (fn + tp), rel=1e-12)
        assert got["false_positive_rate(y, y_hat)" + key].observed == pytest.approx(fp / (fp + tn), rel=1e-12)
        assert got["roc_auc(y, score)" + key].observed == pytest.approx(skm.roc_auc_score(y, d["score"][m]), rel=1e-12)
        assert got["rmse(y, score)" + key].observed == pytest.approx(np.sqrt(skm.mean_squared_error(y, d["score"][m])), rel=1e-12)


def test_multiclass_averages_and_per_class_match_sklearn(tmp_path: Path, write_contract) -> None:
    path, d = _data(tmp_path, 3)
    y, p = d["animal"], d["guess"]
    checks = ""
    for metric in ("precision", "recall", "f1"):
        for average in ("macro", "micro", "weighted", "per_class"):
            checks += f"\n  - name: {metric}_{average}\n    metric: {metric}\n    label: animal\n    prediction: guess\n    average: {average}\n"
    checks += "\n  - metric: accuracy\n    label: animal\n    prediction: guess\n    by: [tier]\n"
    checks += "\n  - metric: recall\n    label: animal\n    prediction: guess\n    positive: dog\n    min: 0.99\n"
    got = _results(path, write_contract, checks)
    funcs = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
    labels = sorted(set(y) | set(p))
    for metric, fn in funcs.items():
        for average in ("macro", "micro", "weighted"):
            assert got[f"{metric}_{average}"].observed == pytest.approx(fn(y, p, average=average, zero_division=0), rel=1e-12)
        per = fn(y, p, average=None, labels=labels, zero_division=0)
        for label, value in zip(labels, per):
            result = got[f"{metric}_per_class[class={label}]"]
            undefined = (metric == "precision" and label == "eel") or (metric == "recall" and label == "fox")
            assert result.observed is None if undefined else result.observed == pytest.approx(value, rel=1e-12)
    for t in (1, 2):
        m = d["tier"] == t
        assert got[f"accuracy(animal, guess)[tier={t}]"].observed == pytest.approx(skm.accuracy_score(y[m], p[m]), rel=1e-12)
    dog = got["recall(animal, guess)"]
    assert dog.observed == pytest.approx(skm.recall_score(y, p, labels=["dog"], average="micro"), rel=1e-12)
    assert dog.status == "fail"


def test_evaluation_metric_contract_problems(write_contract) -> None:
    text = HEAD + """
  - metric: recall
    label: y
    prediction: y_hatt
  - metric: roc_auc
    label: y
    score: hospital
  - metric: mean(x)
    label: y
    by: [regio]
"""
    with pytest.raises(ContractError) as info:
        dqgate.check(None, write_contract(text))
    problems = "\n".join(info.value.problems)
    assert "unknown column 'y_hatt'" in problems and "Did you mean 'y_hat'" in problems
    assert "metric 'recall' with average 'binary' needs 'positive:'" not in problems  # no positive: macro by default
    assert "'score' of metric 'roc_auc' must be a numeric column, but 'hospital' is string" in problems
    assert "metric 'roc_auc' needs 'positive:'" in problems
    assert "'label' applies to evaluation metrics" in problems
    assert "unknown column 'regio'" in problems
