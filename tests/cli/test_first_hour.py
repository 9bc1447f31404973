"""What a new user trips on in the first hour (issue #13), each pinned by a test that failed before:
SQL that fails at run time, `-o` onto a folder, drift references that cannot be read,
Polars frames with rules only DuckDB runs, and the re-check after quarantine_rows."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Callable

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate

Run = Callable[..., tuple[int, str, str]]

WINE = """\
dataset: wine
version: 1.0.0
source: wine.parquet
schema:
  columns:
    hue: {type: float64, range: {min: 0, max: 10}}
    cultivar: {type: string, in: [a, b, c]}
checks:
  - name: hue_vs_text
    expect: "hue > 0"
    where: "hue > 'abc'"
  - name: serialized
    expect: "json_serialize_sql('SELECT 1') <> ''"
  - metric: row_count
    min: 1
"""


@pytest.fixture
def wine(tmp_path: Path) -> Path:
    pq.write_table(pa.table({"hue": [0.5, 1.0, 1.7, 0.9], "cultivar": ["a", "b", "c", "a"]}), tmp_path / "wine.parquet")
    path = tmp_path / "wine.yaml"
    path.write_text(WINE, encoding="utf-8")
    return path


def test_sql_failing_at_run_time_is_that_checks_error_with_the_contracts_line(run_cli: Run, wine: Path) -> None:
    code, out, err = run_cli("check", wine, "--format", "json")
    assert code == 1, err  # the gate fails (a check could not run); it is not "unusable data" (2)
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["hue_vs_text"]["status"] == "error"
    assert checks["hue_vs_text"]["message"].startswith(f"{wine}:9: could not run: ")
    assert "'abc'" in checks["hue_vs_text"]["message"]
    assert checks["serialized"]["status"] == "error" and checks["serialized"]["message"].startswith(f"{wine}:12: ")
    # the other checks still ran
    assert checks["hue.range"]["status"] == "pass" and checks["cultivar.in"]["status"] == "pass"
    assert checks["row_count"]["status"] == "pass" and checks["row_count"]["observed"] == 4


def test_data_that_cannot_be_read_is_still_a_data_error(run_cli: Run, wine: Path, tmp_path: Path) -> None:
    """The rule is blamed only when the data reads: a CSV cell that is not a number stays exit 2."""
    (tmp_path / "bad.csv").write_text("hue,cultivar\n0.5,a\nabc,b\n", encoding="utf-8")
    code, _, err = run_cli("check", wine, "--data", tmp_path / "bad.csv")
    assert code == 2 and err.count("\n") == 1 and "bad.csv" in err


def test_expect_rules_show_their_expression_in_every_format(run_cli: Run, wine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the text report wraps long cells at the terminal's width
    for fmt in ("text", "markdown", "junit", "json"):
        code, out, _ = run_cli("check", wine, "--format", fmt, "--verbose")
        text = html.unescape(out)  # JUnit XML escapes < and >
        assert "hue > 0" in text and "JSON_SERIALIZE_SQL('SELECT 1') <> ''" in text, fmt


def test_output_onto_a_folder_is_one_line_exit_2(run_cli: Run, wine: Path, tmp_path: Path) -> None:
    for cmd in (["check", wine], ["ingest", wine, tmp_path / "wine.parquet", "--store", tmp_path / "store"]):
        code, out, err = run_cli(*cmd, "-o", tmp_path)
        assert code == 2 and out == ""
        assert err == f"dq: error: --output {tmp_path}: is a folder; name a file to write the report to\n"
    assert not (tmp_path / "store").exists()  # refused before anything was written


DRIFT = """\
dataset: wine
source: wine.parquet
schema:
  columns:
    hue: {type: float64}
drift:
  reference: REF
  columns:
    hue: {method: psi, max: 0.2}
"""


def test_a_missing_drift_reference_file_is_one_line_exit_2(run_cli: Run, wine: Path, tmp_path: Path) -> None:
    contract = tmp_path / "drift.yaml"
    contract.write_text(DRIFT.replace("REF", "old_wine.parquet"), encoding="utf-8")
    code, out, err = run_cli("check", contract)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"dq: error: {contract}:7: drift reference: ")
    assert err.count("old_wine.parquet") == 1 and "not found" in err


def test_reference_latest_without_a_store_is_one_line_exit_2(run_cli: Run, wine: Path, tmp_path: Path) -> None:
    contract = tmp_path / "drift.yaml"
    contract.write_text(DRIFT.replace("REF", "latest"), encoding="utf-8")
    code, out, err = run_cli("check", contract)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{contract}:7:" in err and "--store" in err
    code, out, _ = run_cli("check", contract, "--store", tmp_path / "store", "--format", "json")
    assert code == 0 and "no reference yet" in out


SLICED = """\
dataset: t
schema:
  columns:
    g: {type: string}
    x: {type: float64}
checks:
  - metric: mean(x)
    by: [g]
    min: 0
"""


def test_a_polars_frame_with_rules_polars_lacks_runs_on_duckdb_over_its_arrow_memory(write_contract) -> None:
    contract = write_contract(SLICED)
    frame = pl.DataFrame({"g": ["a", "b", "a", "c"], "x": [1.0, -2.0, 3.0, None]})
    for data in (frame, frame.lazy()):
        result = dqgate.check(data, contract)
        assert result.engine == "duckdb" and "polars engine cannot run rule 'mean(x)'" in result.engine_note
        got = {c.id: c for c in result.checks}
        assert got["mean(x)[g=a]"].observed == 2.0 and got["mean(x)[g=a]"].status == "pass"
        assert got["mean(x)[g=b]"].status == "fail"
        # an all-NULL group has no value, and says why instead of an empty cell
        assert got["mean(x)[g=c]"].status == "fail" and "every 'x' in these rows is NULL" in got["mean(x)[g=c]"].message
        assert result.to_json()["engine_note"] == result.engine_note
        from dqgate.report.console import render

        assert f"note: {result.engine_note}" in render(result, width=200)
    with pytest.raises(dqgate.errors.UnsupportedRule):  # asked for by name: no silent switch
        dqgate.check(frame, contract, engine="polars")
    plain = dqgate.check(frame, write_contract(SLICED.replace("    by: [g]\n", ""), "plain.yaml"))
    assert plain.engine == "polars" and plain.engine_note == ""


def test_quarantine_rows_ingest_shows_the_recheck_of_the_published_rows(run_cli: Run, tmp_path: Path) -> None:
    contract = tmp_path / "rows.yaml"
    contract.write_text(
        "dataset: rows\nschema:\n  columns:\n    id: {type: int64, required: true, unique: true}\n"
        "    x: {type: int64, range: {min: 0, max: 10}}\nchecks:\n  - metric: mean(x)\n    max: 9\n"
        "gate:\n  on_failure: quarantine_rows\n",
        encoding="utf-8",
    )
    pq.write_table(pa.table({"id": list(range(10)), "x": [1, 2, 3, 4, 5, 6, 7, 8, 50, 60]}), tmp_path / "b.parquet")
    code, out, err = run_cli("ingest", contract, tmp_path / "b.parquet", "--store", tmp_path / "store", "-q")
    assert code == 0, err
    first, recheck = out.index("x.range"), out.index("re-check of the 8 rows kept")
    assert first < recheck < out.index("2 failing rows quarantined; 8 rows published as rows@1")
    after = out[recheck:]
    assert "PASS: 4 pass" in after and "8 rows" in after  # the published rows pass every rule
    code, out, _ = run_cli("ingest", contract, tmp_path / "b.parquet", "--store", tmp_path / "store2", "--format", "json")
    got = json.loads(out)[0]
    assert got["check"]["status"] == "fail" and got["recheck"]["status"] == "pass" and got["recheck"]["source"]["rows"] == 8


def test_lint_of_a_folder_finds_contracts_by_content(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "teams" / "ml").mkdir(parents=True)
    (tmp_path / "teams" / "ml" / "wine.yml").write_text(WINE, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(WINE.replace("in: [a", "inn: [a"), encoding="utf-8")
    (tmp_path / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu}}\n", encoding="utf-8")  # YAML, no contract
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "old.yaml").write_text(WINE.replace("in: [a", "inn: [a"), encoding="utf-8")
    code, out, err = run_cli("lint", tmp_path)
    assert code == 1 and err == "dq lint: 2 contract(s), 1 problem\n"
    assert out.startswith(f"{tmp_path / 'bad.yaml'}:7:") and "Did you mean 'in'?" in out and "ci.yaml" not in out
    # files named one by one: every one is linted, unless --only-contracts (the pre-commit hook)
    code, out, _ = run_cli("lint", tmp_path / "ci.yaml")
    assert code == 1 and "unknown key" in out.lower() or "dataset" in out
    code, _, err = run_cli("lint", "--only-contracts", tmp_path / "ci.yaml", tmp_path / "teams" / "ml" / "wine.yml")
    assert code == 0 and err == "dq lint: 1 contract(s), 0 problems\n"


def test_the_public_names_are_listed_and_ingest_takes_data_first(tmp_path: Path, wine: Path) -> None:
    assert {"check", "ingest", "open_snapshot", "load_contract", "Contract"} <= set(dir(dqgate))
    plain = tmp_path / "plain.yaml"
    plain.write_text(WINE.split("checks:")[0], encoding="utf-8")
    outcome = dqgate.ingest(tmp_path / "wine.parquet", plain, tmp_path / "store")  # as check(data, contract)
    assert outcome.outcome == "published" and outcome.version == 1
    with pytest.warns(DeprecationWarning, match="pass the data first"):
        again = dqgate.ingest(plain, tmp_path / "wine.parquet", tmp_path / "store")  # the 0.1 order still works
    assert again.outcome == "already_published" and again.batch_id == outcome.batch_id


def test_text_in_a_float_csv_column_names_the_line_and_column(run_cli: Run, tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: c\nschema:\n  columns:\n    hue: {type: float64, range: {min: 0}}\n    cultivar: {type: string}\n")
    rows = "".join(f"{i / 10},a\n" for i in range(10))
    (tmp_path / "d.csv").write_text("hue,cultivar\n" + rows + "abc,b\n", encoding="utf-8")
    code, out, err = run_cli("check", contract, "--data", tmp_path / "d.csv")
    assert code == 2 and out == ""
    assert err == f"dq: error: {tmp_path / 'd.csv'}: cannot read the data: line 12, column 'hue': Could not convert string \"abc\" to 'DOUBLE'\n"


def test_a_wrong_type_in_one_file_of_a_folder_names_the_file(run_cli: Run, tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: c\nschema:\n  columns:\n    hue: {type: float64}\n")
    (tmp_path / "batches").mkdir()
    pq.write_table(pa.table({"hue": [1.0, 2.0]}), tmp_path / "batches" / "a.parquet")
    pq.write_table(pa.table({"hue": ["x", "y"]}), tmp_path / "batches" / "b.parquet")
    for data in (tmp_path / "batches", f"{tmp_path / 'batches'}/**/*.parquet"):
        code, _, err = run_cli("check", contract, "--data", data)
        assert code == 2
        assert err.startswith(f"dq: error: {tmp_path / 'batches' / 'b.parquet'}: column 'hue' is VARCHAR in the data")


def test_lint_remembers_clean_contracts_by_content(tmp_path: Path, wine: Path) -> None:
    """A second lint of the same text imports none of the contract machinery; any edit is linted again."""
    import os
    import subprocess
    import sys

    clean = tmp_path / "clean.yaml"
    clean.write_text(WINE.split("checks:")[0], encoding="utf-8")
    env = {**os.environ, "DQGATE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    probe = "import sys; from dqgate.cli import main; code = main(sys.argv[1:]); print(code, 'dqgate.contract.check' in sys.modules)"

    def lint(*args: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", probe, "lint", *args], capture_output=True, text=True, env=env, timeout=120, check=False)
        return done.stdout.strip().splitlines()[-1], done.stdout + done.stderr

    assert lint(str(clean))[0] == "0 True"  # first time: parsed and validated
    assert lint(str(clean))[0] == "0 False"  # the same text again: known clean, nothing imported
    clean.write_text(clean.read_text().replace("in: [a", "inn: [a"), encoding="utf-8")
    verdict, out = lint(str(clean))
    assert verdict == "1 True" and "Did you mean 'in'?" in out  # an edit is linted again
    env["DQGATE_CACHE"] = "0"
    clean.write_text(WINE.split("checks:")[0], encoding="utf-8")
    assert lint(str(clean))[0] == "0 True"  # the cache off: always parsed
