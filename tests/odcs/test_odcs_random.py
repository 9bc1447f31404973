"""On random data: the ODCS file, its imported dqgate contract and a plain-Python reading of the
ODCS rules (the standard's words) give the same verdict on every rule."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dqgate
from dqgate.cli import main
from dqgate.contract import load_contract
from odcs_helpers import odcs, write_parquet

WORDS = st.sampled_from(["kg", "lb", "", "N/A", "x1", "AB12"])
PROPS = [
    {"name": "n", "logicalType": "integer", "quality": [
        {"name": "n_nulls", "metric": "nullValues", "mustBeLessThan": 25, "unit": "percent"},
        {"name": "n_dupes", "metric": "duplicateValues", "mustBeLessOrEqualTo": 2},
    ]},
    {"name": "s", "logicalType": "string", "quality": [
        {"name": "s_missing", "metric": "missingValues", "arguments": {"missingValues": [None, "", "N/A"]}, "mustBeLessThan": 3},
        {"name": "s_invalid", "metric": "invalidValues", "arguments": {"validValues": ["kg", "lb"]}, "mustBeLessThan": 20, "unit": "percent"},
        {"name": "s_pattern", "metric": "invalidValues", "arguments": {"pattern": "[0-9]"}, "mustBeGreaterThan": 0.5},
    ]},
]  # fmt: skip
QUALITY = [{"name": "rows", "metric": "rowCount", "mustBeBetween": [3, 12]}]


def _oracle(n: list[int | None], s: list[str | None]) -> dict[str, str]:
    """The ODCS rules read plainly: counts over all rows, percents of all rows, patterns searched."""
    rows = len(n)
    nn = [v for v in n if v is not None]
    present = [v for v in s if v is not None]
    verdicts = {
        "n_nulls": 100 * (rows - len(nn)) / rows < 25,
        "n_dupes": len(nn) - len(set(nn)) <= 2,
        "s_missing": sum(v is None or v in ("", "N/A") for v in s) < 3,
        "s_invalid": 100 * sum(v not in ("kg", "lb") for v in present) / rows < 20,
        "s_pattern": sum(not re.search("[0-9]", v) for v in present) > 0.5,
        "rows": 3 <= rows <= 12,
    }
    return {k: "pass" if ok else "fail" for k, ok in verdicts.items()}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 4)), st.one_of(st.none(), WORDS)), min_size=1, max_size=15))
def test_odcs_file_imported_contract_and_oracle_agree(rows: list[tuple[Any, Any]]) -> None:
    n, s = [r[0] for r in rows], [r[1] for r in rows]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        source = tmp / "c.odcs.yaml"
        source.write_text(odcs(PROPS, quality=QUALITY))
        imported = tmp / "c.yaml"
        assert main(["import", "odcs", str(source), "-o", str(imported)]) == 0
        data = str(write_parquet(tmp / "d.parquet", {"n": n, "s": s}, {"n": pa.int64(), "s": pa.string()}))
        from_odcs = {c.id: c.status for c in dqgate.check(data, load_contract(str(source))).checks}
        from_import = {c.id: c.status for c in dqgate.check(data, load_contract(str(imported))).checks}
    assert from_odcs == from_import
    assert {k: from_odcs[k] for k in _oracle(n, s)} == _oracle(n, s)
