"""`dq lint`: every problem printed as file:line:col, exit codes, `--against REV`, and a light import path."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import dqgate
from dqgate.cli import main

if TYPE_CHECKING:
    from pathlib import Path

GOOD = """\
dataset: flights
version: 1.2.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    month: {type: int64, range: {min: 1, max: 12}}
    carrier: {type: string, in: [AA, B6, DL]}
    tailnum: {type: string, pattern: '^N[0-9]{1,5}$', mostly: 0.99}
    dep_delay: {type: float64}
checks:
  - name: sane_delay
    expect: "dep_delay > -120"
    severity: warn
  - metric: mean(dep_delay)
    between: [0, 30]
"""

HEAVY = ("duckdb", "pyarrow", "polars", "numpy", "rich", "pandas")
SRC = os.path.dirname(os.path.dirname(os.path.abspath(dqgate.__file__)))


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_contract_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flights.yaml"
    path.write_text(GOOD)
    code, out, err = lint(capsys, str(path))
    assert (code, out) == (0, "")
    assert err.strip() == "dq lint: 1 contract(s), 0 problems"


def test_every_problem_of_every_file_is_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(
        GOOD.replace("pattern: '^N[0-9]{1,5}$'", "patern: '^N[0-9]{1,5}$'")
        .replace("mean(dep_delay)", "mean(dep_dalay)")
        .replace("dep_delay > -120", "dep_delay >> ")
    )
    second = tmp_path / "second.yaml"
    second.write_text(GOOD.replace("range: {min: 1, max: 12}", "range: {min: 12, max: 1}").replace("in: [AA", "inn: [AA"))
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    code, out, err = lint(capsys, str(first), str(good), str(second))
    lines = out.splitlines()
    assert code == 1
    assert f"{first}:8:29: unknown rule 'patern' for column 'tailnum'. Did you mean 'pattern'?" in lines
    assert any(line.startswith(f"{first}:14:") and "dep_dalay" in line and "Did you mean 'dep_delay'?" in line for line in lines)
    assert any(line.startswith(f"{first}:12:") for line in lines), out  # the SQL that does not parse
    assert any(line.startswith(f"{second}:6:") and "impossible range" in line for line in lines)
    assert any(line.startswith(f"{second}:7:") and "unknown rule 'inn'" in line for line in lines)
    assert not any(str(good) in line for line in lines)
    assert err.strip() == f"dq lint: 3 contract(s), {len(lines)} problems"


def test_missing_path_is_a_one_line_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, str(tmp_path / "nope.yaml"))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("dq: error: ") and "nope.yaml" in err and "does not exist" in err


def git(repo: Path, *args: str) -> None:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose first commit holds contracts/flights.yaml = GOOD; the cwd is its root."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    (root / "contracts" / "flights.yaml").write_text(GOOD)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "v1")
    monkeypatch.chdir(root)
    return root


BREAKING_EDITS = {  # what the second commit changes -> the line `dq lint --against HEAD~1` must print
    ("    dep_delay: {type: float64}\n", "    dep_delay: {type: float64}\n    gate: {type: string, required: true}\n"): "contracts/flights.yaml:10:5: BREAKING: column 'gate' added (required)",
    ("carrier: {type: string, in: [AA, B6, DL]}", "carrier: {type: string, in: [AA, DL]}"): "BREAKING: rule 'carrier.in' set shrunk: removed ['B6']",
    ("month: {type: int64", "month: {type: int32"): "BREAKING: column 'month' type int64 -> int32 (narrowed)",
    ("range: {min: 1, max: 12}", "range: {min: 1, max: 11}"): "BREAKING: rule 'month.range' tightened: {min: 1, max: 12} -> {min: 1, max: 11}",
    ("mostly: 0.99", "mostly: 0.999"): "BREAKING: rule 'tailnum.pattern' mostly 0.99 -> 0.999",
    ("    severity: warn\n", ""): "BREAKING: rule 'sane_delay' severity warn -> error",
    ("between: [0, 30]", "between: [0, 20]"): "BREAKING: rule 'mean(dep_delay)' tightened: {min: 0, max: 30} -> {min: 0, max: 20}",
    ("    id: {type: int64, required: true, unique: true}\n", ""): "BREAKING: column 'id' removed",
    ("schema:\n  columns:", "schema:\n  strict: true\n  columns:"): "BREAKING: error rule 'schema.strict' added",
}  # fmt: skip


def test_against_flags_every_breaking_change_until_the_major_version_is_raised(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo / "contracts" / "flights.yaml"
    text = GOOD
    for (old, new) in BREAKING_EDITS:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    git(repo, "commit", "-q", "-am", "v2")
    code, out, err = lint(capsys, "contracts/flights.yaml", "--against", "HEAD~1")
    assert code == 1
    for expected in BREAKING_EDITS.values():
        assert any(line.startswith("contracts/flights.yaml:") and line.endswith(expected) for line in out.splitlines()), (expected, out)
    assert out.count("BREAKING:") == len(BREAKING_EDITS) == int(err.split(", ")[1].split()[0])
    assert "raise the major version" in err

    path.write_text(text.replace("version: 1.2.0", "version: 2.0.0"))
    code, out, err = lint(capsys, "contracts/flights.yaml", "--against", "HEAD~1")
    assert code == 0
    assert out.count("(allowed: major version raised 1 -> 2)") == len(BREAKING_EDITS)
    assert "0 problems" in err


def test_against_non_breaking_changes_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / "contracts" / "flights.yaml"
    path.write_text(
        GOOD.replace("in: [AA, B6, DL]", "in: [AA, B6, DL, UA]")
        .replace("range: {min: 1, max: 12}", "range: {min: 0, max: 12}")
        .replace("between: [0, 30]", "between: [0, 30]\n    severity: warn")
        .replace("month: {type: int64", "month: {type: float64")
        .replace("    dep_delay: {type: float64}\n", "    dep_delay: {type: float64}\n    note: {type: string}\n")
    )
    git(repo, "commit", "-q", "-am", "v2")
    code, out, err = lint(capsys, "contracts/flights.yaml", "--against", "HEAD~1")
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 5 and all(": change: " in line for line in lines)
    assert "contracts/flights.yaml:10:5: change: column 'note' added (optional)" in lines
    assert "0 problems" in err


def test_against_a_bad_revision_is_a_one_line_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, "contracts/flights.yaml", "--against", "v9-does-not-exist")
    assert (code, out) == (2, "")
    assert err == f"dq: error: unknown git revision 'v9-does-not-exist' in {repo}\n"


def test_lint_imports_no_engine(tmp_path: Path) -> None:
    """The pre-commit path must start fast: no DuckDB, Arrow, Polars, NumPy or rich, even with --against."""
    path = tmp_path / "flights.yaml"
    path.write_text(GOOD)
    env = {**os.environ, "PYTHONPATH": SRC, "GIT_CEILING_DIRECTORIES": str(tmp_path), "DQGATE_CACHE": "0"}  # the parse path, not the cache of clean texts
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for extra in ([], ["--against", "HEAD"]):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "dqgate", "lint", str(path), *extra],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert "dqgate.contract.check" in imported and "sqlglot" in imported  # the probe sees real imports
        assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []
