"""An invalid ODCS document, or one with a rule dqgate cannot run: one line per problem with its position, exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from odcs_helpers import odcs, write_parquet

ID = {"name": "id", "logicalType": "integer"}


def _run(run_cli: Any, tmp_path: Path, text: str, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(text)
    data = write_parquet(tmp_path / "d.parquet", {"id": [1]})
    return run_cli("check", path, "--data", data, *extra)


@pytest.mark.parametrize(
    "props,expected",
    [
        ([{**ID, "requried": True}], "unknown ODCS key 'requried' in SchemaProperty. Did you mean 'required'?"),
        ([{**ID, "logicalTypeOptions": {"maximun": 3}}], "unknown logicalTypeOptions key 'maximun'. Did you mean 'maximum'?"),
        ([{**ID, "required": "sometimes"}], "'schema[0].properties[0].required': input should be a valid boolean"),
        ([{**ID, "quality": [{"metric": "nullValues", "mustNotBe": 3}]}], "nullValues: 'mustNotBe' (a value range to stay out of) has no dqgate equivalent"),
        ([{**ID, "quality": [{"metric": "nulValues", "mustBe": 0}]}], "library metric 'nulValues' has no dqgate equivalent. Did you mean 'nullValues'?"),
        ([{**ID, "quality": [{"type": "custom", "engine": "soda", "implementation": "x"}]}], "custom quality rule for engine 'soda' has no dqgate equivalent"),
        ([{**ID, "quality": [{"type": "sql", "query": "SELECT id FROM {object} JOIN other USING (id)", "mustBe": 0}]}], "it has JOINS"),
        ([{**ID, "quality": [{"type": "sql", "query": "SELECT count(*) FROM {object} WHERE nope > 1", "mustBe": 0}]}], "unknown column 'nope'"),
        ([{"name": "tags", "logicalType": "array", "items": {"logicalType": "string"}}], "property 'tags' is array: dqgate checks flat columns only"),
        ([{"name": "code", "logicalType": "string", "logicalTypeOptions": {"pattern": "(?<=a)b"}}], "bad regex"),
    ],
)
def test_one_line_with_position_and_exit_2(props: list[dict[str, Any]], expected: str, tmp_path: Path, run_cli: Any) -> None:
    code, out, err = _run(run_cli, tmp_path, odcs(props))
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert expected in err
    line = err.split(":")[3] if err.startswith("dq: error: ") else ""
    assert f"{tmp_path / 'bad.odcs.yaml'}:" in err and line.strip().isdigit()


def test_lint_lists_every_problem_with_its_line(tmp_path: Path, run_cli: Any) -> None:
    text = odcs([{**ID, "requried": True, "quality": [{"metric": "nullValues", "mustNotBe": 3}]}, {"name": "x", "logicalType": "object"}])
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(text)
    code, out, _ = run_cli("lint", path)
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 1  # validation problems stop before translation: the standard first
    path.write_text(text.replace("requried", "required"))
    code, out, _ = run_cli("lint", path)
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 2, lines
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers) and all(text.splitlines()[n - 1].strip() for n in numbers)


def test_import_lists_what_it_did_not_map_and_writes_the_rest(tmp_path: Path, run_cli: Any) -> None:
    text = odcs([{**ID, "required": True, "quality": [{"type": "text", "description": "ids are issued by the shop"}]}],
                slaProperties=[{"property": "retention", "value": 3, "unit": "y"}], team={"name": "shop"})  # fmt: skip
    src = tmp_path / "c.odcs.yaml"
    src.write_text(text)
    out_file = tmp_path / "c.dq.yaml"
    code, _, err = run_cli("import", "odcs", src, "-o", out_file)
    assert code == 0, err
    not_mapped = [line for line in err.splitlines() if line.startswith("not mapped:")]
    assert len(not_mapped) == 3 and any("text quality rule" in x for x in not_mapped) and any("retention" in x for x in not_mapped)
    assert "required: true" in out_file.read_text()
    bad = odcs([{**ID, "quality": [{"type": "custom", "engine": "soda"}]}])
    src.write_text(bad)
    code, _, err = run_cli("import", "odcs", src, "-o", out_file)
    assert code == 1 and "custom quality rule for engine 'soda'" in err


def test_a_dqgate_contract_with_object_is_a_usage_error(tmp_path: Path, run_cli: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("dataset: d\nschema:\n  columns:\n    id: {type: int64}\n")
    data = write_parquet(tmp_path / "d.parquet", {"id": [1]})
    code, _, err = run_cli("check", path, "--data", data, "--object", "x")
    assert code == 2 and "--object chooses a schema object of an ODCS contract" in err
