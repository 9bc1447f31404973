"""Drift excludes NULLs on both sides, for every method (hypothesis against scipy/numpy).

The columns mix NULLs, ties and constants: integers with a small span (KS counts them
with a clamped hash histogram, where DuckDB's LEAST/GREATEST used to turn each NULL
into the reference's maximum + 1), floats with few values, and constant columns.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from drift_helpers import chi2_oracle, contract_text, js_oracle, ks_oracle, linf_oracle, observed, psi_oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import dqgate

METHODS = ("psi", "ks", "js", "linf", "chi2")


def _side(values: st.SearchStrategy[float | int]) -> st.SearchStrategy[list[float | int | None]]:
    return st.lists(st.one_of(st.none(), values), min_size=1, max_size=60).filter(lambda xs: any(x is not None for x in xs))


_INTS = st.integers(-3, 6)
_FLOATS = st.sampled_from([-1.5, 0.0, 0.25, 2.0, 7.5])
_CONST = st.just(4)


def _oracle(method: str, ref: list, cur: list) -> float:
    r = [x for x in ref if x is not None]
    c = [x for x in cur if x is not None]
    if method == "psi":
        return psi_oracle(np.array(r, float), np.array(c, float), 10)
    if method == "ks":
        return ks_oracle(r, c)
    return {"js": js_oracle, "linf": linf_oracle, "chi2": chi2_oracle}[method](r, c)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_method_ignores_nulls_on_both_sides(tmp_path: Path, data: st.DataObject) -> None:
    kind, values, arrow_type, typ = data.draw(st.sampled_from([
        ("int", _INTS, pa.int64(), "int64"),
        ("float", _FLOATS, pa.float64(), "float64"),
        ("const", _CONST, pa.int64(), "int64"),
    ]), label="column")  # fmt: skip
    ref = data.draw(_side(values), label="ref")
    cur = data.draw(_side(values), label="cur")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    columns = {m: pa.array(ref, arrow_type) for m in METHODS}
    pq.write_table(pa.table(columns), folder / "ref.parquet")
    pq.write_table(pa.table({m: pa.array(cur, arrow_type) for m in METHODS}), folder / "cur.parquet")
    drift = {m: f"{{method: {m}, {'min: 0' if m == 'chi2' else 'max: 1000'}}}" for m in METHODS}
    contract = folder / "c.yaml"
    contract.write_text(contract_text(dict.fromkeys(METHODS, typ), drift, reference=str(folder / "ref.parquet")))
    got = observed(dqgate.check(folder / "cur.parquet", contract))
    for method in METHODS:
        want = _oracle(method, ref, cur)
        assert got[f"{method}.drift"].observed == pytest.approx(want, rel=1e-9, abs=1e-12), (method, ref, cur)


def test_ks_on_a_small_integer_span_with_nulls_in_the_batch(tmp_path: Path) -> None:
    """The issue's case: every NULL in the batch counted as the reference's max + 1."""
    ref = [1, 2, 3, 4, 5] * 20
    cur = [1, 2, 3, 4, 5] * 19 + [None] * 5
    pq.write_table(pa.table({"x": pa.array(ref, pa.int64())}), tmp_path / "ref.parquet")
    pq.write_table(pa.table({"x": pa.array(cur, pa.int64())}), tmp_path / "cur.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(contract_text({"x": "int64"}, {"x": "{method: ks, max: 0.01}"}, reference=str(tmp_path / "ref.parquet")))
    got = observed(dqgate.check(tmp_path / "cur.parquet", contract))
    assert got["x.drift"].observed == 0.0
    assert got["x.drift"].status == "pass"
