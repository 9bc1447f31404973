"""Drift rules end to end (DuckDB): reference profiled from a file, batch side in the fused scan.

Oracles: a direct numpy PSI, scipy's ks_2samp, jensenshannon(base=2), chi2_contingency
(no correction) and the L-infinity distance of numpy shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from drift_helpers import (
    chi2_oracle,
    contract_text,
    js_oracle,
    linf_oracle,
    observed,
    psi_categories_oracle,
    psi_oracle,
    psi_with_edges,
    write,
)
from scipy import stats

import dqgate
from dqgate.stats import drift as d
from dqgate.stats import profile as prof

COLUMNS = {"n": "int64", "m": "int64", "c": "string", "f": "float64"}
DRIFT = {
    "n": "{method: psi, bins: 7, max: 100}",
    "m": "{method: ks, max: 1}",
    "c": "{method: js, max: 1}",
    "f": "{method: ks, max: 1}",
}


def _random_side(rng: np.random.Generator, size: int, shift: int) -> dict[str, object]:
    cats = ["a", "b", "c", "d", "e"]
    weights = rng.dirichlet(np.ones(len(cats)))
    return {
        "n": rng.integers(0, 40, size) + shift,
        "m": rng.poisson(4 + shift, size),
        "c": rng.choice(cats, size, p=weights).tolist(),
        "f": rng.normal(shift / 10, 1, size),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drift_values_match_the_oracles_on_random_data(tmp_path: Path, write_contract, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = _random_side(rng, int(rng.integers(1100, 1600)), 0)
    cur = _random_side(rng, int(rng.integers(200, 700)), int(rng.integers(0, 4)))
    write(tmp_path / "ref.parquet", ref)
    write(tmp_path / "cur.parquet", cur)
    contract = write_contract(contract_text(COLUMNS, DRIFT, reference=str(tmp_path / "ref.parquet")))
    got = observed(dqgate.check(tmp_path / "cur.parquet", contract))
    assert got["n.drift"].observed == pytest.approx(psi_oracle(ref["n"].astype(float), cur["n"].astype(float), 7), rel=1e-9)
    assert got["m.drift"].observed == pytest.approx(stats.ks_2samp(ref["m"], cur["m"]).statistic, abs=1e-12)
    assert got["c.drift"].observed == pytest.approx(js_oracle(ref["c"], cur["c"]), abs=1e-12)
    # f has > 1000 distinct values: KS over the reference's knots, which bracket the exact statistic
    true = stats.ks_2samp(ref["f"], cur["f"]).statistic
    assert got["f.drift"].observed <= true + 1e-12
    assert true - got["f.drift"].observed < 0.05
    assert "exact statistic is between" in got["f.drift"].message
    assert all(c.status == "pass" for c in got.values())


def test_category_methods_with_categories_on_one_side_only(tmp_path: Path, write_contract) -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + [None] * 5
    cur = ["b"] * 10 + ["c"] * 40 + ["z"] * 25 + ["y"] * 5
    write(tmp_path / "ref.parquet", {"c1": ref, "c2": ref, "c3": ref, "c4": ref})
    write(tmp_path / "cur.parquet", {"c1": cur, "c2": cur, "c3": cur, "c4": cur})
    drift = {"c1": "{method: js, max: 1}", "c2": "{method: linf, max: 1}", "c3": "{method: chi2, min: 0}", "c4": "{method: psi, max: 100}"}
    contract = write_contract(contract_text(dict.fromkeys(drift, "string"), drift, reference=str(tmp_path / "ref.parquet")))
    got = observed(dqgate.check(tmp_path / "cur.parquet", contract))
    assert got["c1.drift"].observed == pytest.approx(js_oracle(ref, cur), abs=1e-12)
    assert got["c2.drift"].observed == pytest.approx(linf_oracle(ref, cur), abs=1e-12)
    assert got["c3.drift"].observed == pytest.approx(chi2_oracle(ref, cur), rel=1e-9)
    assert got["c4.drift"].observed == pytest.approx(psi_categories_oracle(ref, cur), rel=1e-12)


def test_ties_and_constant_columns(tmp_path: Path, write_contract) -> None:
    ref = {"t": [1, 1, 1, 2, 2, 3, 3, 3, 3, 9] * 7, "k": [7] * 70, "s": [7] * 70}
    cur = {"t": [1, 3, 3, 3, 9, 9, 9, 0, 4, 4] * 5, "k": [7] * 50, "s": [8] * 50}
    write(tmp_path / "ref.parquet", ref)
    write(tmp_path / "cur.parquet", cur)
    drift = {"t": "{method: psi, bins: 4, max: 100}", "k": "{method: ks, max: 0.5}", "s": "{method: ks, max: 0.5}"}
    text = contract_text(dict.fromkeys(drift, "int64"), drift, reference=str(tmp_path / "ref.parquet"))
    got = observed(dqgate.check(tmp_path / "cur.parquet", write_contract(text)))
    t_ref, t_cur = np.array(ref["t"], float), np.array(cur["t"], float)
    assert got["t.drift"].observed == pytest.approx(psi_oracle(t_ref, t_cur, 4), rel=1e-12)
    assert got["k.drift"].observed == 0.0 and got["k.drift"].status == "pass"
    assert got["s.drift"].observed == 1.0 and got["s.drift"].status == "fail"
    # constant reference, all mass moved: one edge, PSI = 2 (1 - 1e-4) ln(1e4)
    text = contract_text({"s": "int64"}, {"s": "{method: psi, max: 0.2}"}, reference=str(tmp_path / "ref.parquet"))
    got = observed(dqgate.check(tmp_path / "cur.parquet", write_contract(text, "psi.yaml")))
    assert got["s.drift"].observed == pytest.approx(psi_oracle(np.array(ref["s"], float), np.array(cur["s"], float)), rel=1e-12)
    assert got["s.drift"].observed == pytest.approx(2 * (1 - 1e-4) * np.log(1e4), rel=1e-12)


def test_all_null_sides(tmp_path: Path, write_contract) -> None:
    import pyarrow as pa

    f64 = pa.float64()
    write(tmp_path / "ref.parquet", {"x": pa.array([1.0, 2.0, None], f64), "z": pa.array([None, None, None], f64)})
    write(tmp_path / "cur.parquet", {"x": pa.array([None, None], f64), "z": pa.array([1.0, 2.0], f64)})
    text = contract_text({"x": "float64", "z": "float64"}, {"x": "{method: psi, max: 0.2}", "z": "{method: psi, max: 0.2}"}, str(tmp_path / "ref.parquet"))
    got = observed(dqgate.check(tmp_path / "cur.parquet", write_contract(text)))
    assert got["x.drift"].status == "fail" and got["x.drift"].observed is None
    assert "no non-null values" in got["x.drift"].message
    assert got["z.drift"].status == "error" and "no non-null values of 'z'" in got["z.drift"].message


def test_continuous_psi_counts_the_batch_exactly_on_the_reference_edges(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.gamma(2.0, 3.0, 5000), rng.gamma(2.3, 3.0, 3000)
    write(tmp_path / "ref.parquet", {"g": ref})
    write(tmp_path / "cur.parquet", {"g": cur})
    text = contract_text({"g": "float64"}, {"g": "{method: psi, bins: 20, max: 5}"}, str(tmp_path / "ref.parquet"))
    got = observed(dqgate.check(tmp_path / "cur.parquet", write_contract(text)))
    import duckdb

    con = duckdb.connect()
    con.register("r", __import__("pyarrow").table({"g": ref}))
    reference = prof.reference_of(prof.profile_view(con, "r")[0], "g", source="ref")
    assert isinstance(reference, d.Reference) and not reference.exact and reference.knots is not None
    edges = np.array(d.edges(reference, 20))
    assert 15 <= len(edges) <= 19  # from the knots: close to the 5% quantiles
    assert np.abs(np.searchsorted(np.sort(ref), edges, side="right") / len(ref) - np.arange(1, len(edges) + 1) / 20).max() < 0.05
    assert got["g.drift"].observed == pytest.approx(psi_with_edges(ref, cur, edges), rel=1e-9)


def test_exact_ks_on_a_float_column_with_few_values(tmp_path: Path, write_contract) -> None:
    rng = np.random.default_rng(9)
    ref = rng.integers(0, 40, 900) / 4  # 40 distinct floats: exact values kept
    cur = np.concatenate([rng.integers(0, 44, 500) / 4, rng.uniform(-1, 12, 100)])  # values between and beyond them
    write(tmp_path / "ref.parquet", {"q": ref})
    write(tmp_path / "cur.parquet", {"q": cur})
    text = contract_text({"q": "float64"}, {"q": "{method: ks, max: 1}"}, str(tmp_path / "ref.parquet"))
    got = observed(dqgate.check(tmp_path / "cur.parquet", write_contract(text)))
    assert got["q.drift"].observed == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)
    assert "between" not in got["q.drift"].message  # exact: no bounds to report
