"""Drift against published snapshots: the reference profile lives in the manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from drift_helpers import contract_text, observed, psi_oracle, write
from scipy import stats

import dqgate
from dqgate.compilers.duckdb import compile_plan
from dqgate.contract import load_contract
from dqgate.runners.reference import bind_drift
from dqgate.gate.ingest import ingest
from dqgate.ir.plan import plan
from dqgate.store import load_manifest

COLUMNS = {"n": "int64", "c": "string", "f": "float64"}
DRIFT = {"n": "{method: psi, max: 5}", "c": "{method: chi2, min: 0}", "f": "{method: ks, max: 1}"}


def _batch(rng: np.random.Generator, size: int, shift: int = 0) -> dict[str, object]:
    return {"n": rng.integers(0, 30, size) + shift, "c": rng.choice(["x", "y", "z"], size).tolist(), "f": rng.normal(shift, 1, size)}


def test_drift_reads_the_manifest_profile_and_never_the_snapshot_data(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(1)
    b1, b2, cur = _batch(rng, 1500), _batch(rng, 800), _batch(rng, 600, shift=1)
    for name, data in (("b1", b1), ("b2", b2), ("cur", cur)):
        write(tmp_path / f"{name}.parquet", data)
    contract = write_contract(contract_text(COLUMNS, DRIFT))
    store = tmp_path / "store"
    assert ingest(contract, tmp_path / "b1.parquet", str(store), mode="append").version == 1
    assert ingest(contract, tmp_path / "b2.parquet", str(store), mode="append").version == 2
    for obj in (store / "dr" / "objects").rglob("*.parquet"):
        obj.unlink()  # a rescan of the reference would now fail
    got = observed(dqgate.check(tmp_path / "cur.parquet", contract, store=str(store)))
    both = {k: np.concatenate([np.asarray(b1[k]), np.asarray(b2[k])]) for k in b1}
    assert got["n.drift"].observed == pytest.approx(psi_oracle(both["n"].astype(float), np.asarray(cur["n"], float)), rel=1e-9)
    r, c = [np.array([np.sum(side == k) for k in "xyz"]) for side in (both["c"], np.asarray(cur["c"]))]
    assert got["c.drift"].observed == pytest.approx(stats.chi2_contingency(np.vstack([r, c]), correction=False).pvalue, rel=1e-9)
    true = stats.ks_2samp(both["f"], cur["f"]).statistic
    assert true - 0.05 < got["f.drift"].observed <= true + 1e-12  # knots of v1, counts of v1 + v2
    assert all("dr@2" in got[k].message for k in ("n.drift", "c.drift", "f.drift"))
    profile = load_manifest(str(store), "dr", 2).profile
    assert profile["rows"] == 2300 and profile["columns"]["n"]["count"] == 2300


def test_pinned_version_missing_store_and_first_publish(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(2)
    b1, b2 = _batch(rng, 300), _batch(rng, 300, shift=3)
    write(tmp_path / "b1.parquet", b1)
    write(tmp_path / "b2.parquet", b2)
    latest = write_contract(contract_text(COLUMNS, DRIFT))
    store = str(tmp_path / "store")
    with pytest.raises(dqgate.UsageError, match=r"contract.yaml:\d+: drift reference 'latest' .* needs the snapshot store: pass --store"):
        dqgate.check(tmp_path / "b1.parquet", latest)  # one clear error (exit 2), not one ERROR row per drift rule
    first = ingest(latest, tmp_path / "b1.parquet", store, mode="replace")
    assert first.outcome == "published"
    assert {c.status for c in first.result.checks if c.rule == "drift"} == {"pass"}
    assert all("no reference yet" in c.message for c in first.result.checks if c.rule == "drift")
    loose = write_contract(contract_text(COLUMNS, {"n": "{method: psi, max: 100}"}), "loose.yaml")
    assert ingest(loose, tmp_path / "b2.parquet", store, mode="replace").version == 2
    pinned = write_contract(contract_text(COLUMNS, {"n": "{method: psi, max: 100}"}, reference=1).replace("'", ""), "pinned.yaml")
    got = observed(dqgate.check(tmp_path / "b2.parquet", pinned, store=store))
    assert "dr@1" in got["n.drift"].message
    assert got["n.drift"].observed == pytest.approx(psi_oracle(np.asarray(b1["n"], float), np.asarray(b2["n"], float)), rel=1e-9)
    missing = write_contract(contract_text(COLUMNS, {"n": "{method: psi, max: 1}"}, reference=9).replace("'", ""), "missing.yaml")
    result = observed(dqgate.check(tmp_path / "b2.parquet", missing, store=store))["n.drift"]
    assert result.status == "error" and "version 9" in result.message


def test_batch_side_is_part_of_the_one_fused_statement(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(3)
    pq.write_table(pa.table(_batch(rng, 1200)), tmp_path / "ref.parquet")
    text = contract_text(COLUMNS, {**DRIFT, "n": "{method: psi, bins: 4, max: 5}"}, reference=str(tmp_path / "ref.parquet"))
    text = text.replace("    n: {type: int64}", "    n: {type: int64, range: {min: 0}}")
    c = load_contract(write_contract(text))
    rules = bind_drift(plan(c), c, store=None, base_dir=str(tmp_path))
    sql = compile_plan(rules, types={"n": "BIGINT", "c": "VARCHAR", "f": "DOUBLE"}).sql
    assert sql.count("SELECT") == 1 and "WITH" not in sql and "ref.parquet" not in sql
    assert sql.count("COUNT_IF") >= 4  # the range rule's two counts and the PSI edges
    assert "HISTOGRAM(" in sql.upper()  # categories (chi2) and the knots (ks)


def test_snapshot_keeps_knots_only_for_the_drift_columns(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(5)
    write(tmp_path / "b.parquet", {**_batch(rng, 1500), "g": rng.normal(0, 1, 1500)})
    contract = write_contract(contract_text({**COLUMNS, "g": "float64"}, {"f": "{method: psi, max: 1}"}))
    store = str(tmp_path / "store")
    assert ingest(contract, tmp_path / "b.parquet", store).outcome == "published"
    cols = load_manifest(store, "dr", 1).profile["columns"]
    assert cols["f"]["knots"] and "knots" not in cols["g"] and cols["g"]["count"] == 1500
    assert cols["n"]["values"] and cols["c"]["values"]  # low-cardinality columns keep exact values anyway
    later = write_contract(contract_text({**COLUMNS, "g": "float64"}, {"g": "{method: psi, max: 1}"}), "later.yaml")
    result = observed(dqgate.check(tmp_path / "b.parquet", later, store=store))["g.drift"]
    assert result.status == "error" and "keeps no distribution of 'g'" in result.message
