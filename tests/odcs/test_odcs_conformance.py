"""Conformance with datacontract-cli, the ODCS reference tool, on its own fixtures.

Each (contract, server) pair of ``shared/testdata/odcs-datacontract-cli`` is run by
dqgate as it is (the ODCS file, the server's data path). The verdict must be the
reference tool's, check by check where both run the check, unless the case is in
``DIFFERENCES``: each of those is a semantic choice documented in docs/odcs.md.
The data is read in place, never copied into the project.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import dqgate
from dqgate.contract import load_contract
from dqgate.errors import ContractError, DataError

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "odcs-datacontract-cli"

# case -> (what dqgate does instead, the words of the error it gives); docs/odcs.md says why.
DIFFERENCES: dict[str, tuple[type[Exception], str]] = {
    # a declared column missing from the data: the reference fails a field_is_present check; dqgate
    # refuses the data (exit 2) as it does for every contract
    "odcs-datacontract-cities-version-2.yaml@historical-csv": (DataError, "column 'population'"),
    "odcs-datacontract-cities-version-2.yaml@historical-parquet": (DataError, "column 'population'"),
    "odcs-datacontract-cities-version-3.yaml@historical-csv": (DataError, "column 'population'"),
    # a glob over CSV files with different columns: DuckDB reads them with the first file's header
    "odcs-datacontract-cities-version-2.yaml@mixed-schema-csv": (DataError, "column 'population'"),
    # JSON read with DuckDB's type detection: strings holding UUIDs / ISO times arrive typed, and a
    # column declared string must be text
    "odcs-datacontract-cities-version-2.yaml@current-json": (DataError, "is UUID in the data"),
    "datacontract.odcs.yaml@production#json": (DataError, "is TIMESTAMP WITH TIME ZONE in the data"),
    "inventory_ndjson.datacontract.yaml@production": (DataError, "is TIMESTAMP WITH TIME ZONE in the data"),
    # nested types (array, object): the reference skips their type checks with a warning; dqgate refuses
    # what it cannot check
    "datacontract_invalid_logical_types_example.yaml@local": (ContractError, "dqgate checks flat columns only"),
}

# reference check type -> the dqgate rule id that decides it ({field} is the column)
RULE_OF = {"field_required": "{field}.required", "field_unique": "{field}.unique", "field_minimum": "{field}.range",
           "field_maximum": "{field}.range", "row_count": "row_count"}  # fmt: skip


def _entries() -> list[dict[str, Any]]:
    expected = TESTDATA / "expected.json"
    if not expected.exists():
        return []
    return json.loads(expected.read_text())["entries"]


def _key(entry: dict[str, Any]) -> str:
    name = f"{os.path.basename(entry['contract'])}@{entry['server']}"
    return f"{name}#json" if name == "datacontract.odcs.yaml@production" and "json" in entry["cwd"] else name


def test_the_peer_data_is_there() -> None:
    """Under CI the conformance data must be present: a missing ../shared is a failure, not a skip."""
    if not TESTDATA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"conformance data missing: {TESTDATA} (shared/ must sit beside the repository)")
        pytest.skip(f"conformance data not found at {TESTDATA} (shared/ is not beside this checkout)")
    assert len(_entries()) == 14


@pytest.mark.parametrize("entry", _entries(), ids=[_key(e) for e in _entries()])
def test_verdict_matches_the_reference_tool(entry: dict[str, Any]) -> None:
    cwd = TESTDATA / entry["cwd"]
    contract_path = cwd / entry["contract"]
    servers = yaml.safe_load(contract_path.read_text())["servers"]
    data = str(cwd / next(s for s in servers if s["server"] == entry["server"])["path"])
    key = _key(entry)
    if key in DIFFERENCES:
        error, words = DIFFERENCES[key]
        with pytest.raises(error, match=words.replace("(", r"\(")):
            dqgate.check(data, load_contract(str(contract_path)))
        assert entry["result"] in ("failed", "warning", "passed")
        return
    result = dqgate.check(data, load_contract(str(contract_path)))
    ours = {c.id: c.status for c in result.checks}
    compared = 0
    for check in entry["checks"]:
        rule = RULE_OF.get(check["type"])
        if rule is None:
            # field_is_present: dqgate refuses data without the column; field_type: checked before any rule
            # ("warning" = the reference did not check it); schema: JSON schema checks have no counterpart
            assert check["type"] in ("field_is_present", "field_type", "schema"), check["type"]
            continue
        rule_id = rule.format(field=check.get("field"))
        verdict = ours[rule_id]
        if check["type"] in ("field_minimum", "field_maximum") and verdict == "fail":
            # dqgate's range is one rule over both bounds: it fails when either reference check fails
            siblings = [c["result"] for c in entry["checks"] if c.get("field") == check.get("field") and c["type"] in ("field_minimum", "field_maximum")]
            assert "failed" in siblings
            compared += 1
            continue
        assert verdict == {"passed": "pass", "failed": "fail"}[check["result"]], (rule_id, check)
        compared += 1
    reference = entry["result"]
    # "warning" in the reference means only type checks it could not run (Parquet, 1.2.8): nothing failed
    assert result.status == {"passed": "pass", "failed": "fail", "warning": "pass"}[reference], (result.status, reference)
    assert compared or all(c["type"] in ("field_is_present", "field_type", "schema") for c in entry["checks"])
