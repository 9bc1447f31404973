"""The text report fits the terminal it is printed on: `dq check` in a real pseudo-terminal
(util-linux `script`) set to 80 and to 200 columns, with no COLUMNS in the environment,
so the width comes from the terminal itself."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate

SRC = Path(dqgate.__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONTRACT = """\
dataset: wide
source: wide.parquet
schema:
  columns:
    identifier_of_the_row: {type: int64, required: true, unique: true}
    a_rather_long_category_name: {type: string, in: [alpha, beta, gamma, delta, epsilon, zeta, eta, theta]}
    measurement_in_some_unit: {type: float64, range: {min: 0, max: 10}}
checks:
  - name: measurement_is_not_larger_than_the_identifier_of_the_row
    expect: "measurement_in_some_unit <= identifier_of_the_row * 2"
"""


def _report(folder: Path, columns: int) -> list[str]:
    """The lines `dq check --verbose` prints on a terminal ``columns`` wide (colour codes removed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(SRC)
    env["DQ_PROGRESS"] = "0"
    inner = f"stty cols {columns} rows 50; {shlex.quote(sys.executable)} -m dqgate check wide.yaml --verbose"
    done = subprocess.run(["script", "-qec", inner, "/dev/null"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [ANSI.sub("", line).rstrip() for line in done.stdout.replace("\r", "").splitlines()]
    assert lines[-1].startswith("FAIL: ") and lines[0].startswith("wide 0.1.0"), lines
    return lines


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` is not installed")
def test_the_report_fits_the_terminal(tmp_path: Path) -> None:
    n = 40
    pq.write_table(pa.table({
        "identifier_of_the_row": list(range(n)),
        "a_rather_long_category_name": [["alpha", "omega-the-last-letter"][i % 2] for i in range(n)],
        "measurement_in_some_unit": [float(i) for i in range(n)],
    }), tmp_path / "wide.parquet")  # fmt: skip
    (tmp_path / "wide.yaml").write_text(CONTRACT, encoding="utf-8")
    narrow, wide = _report(tmp_path, 80), _report(tmp_path, 200)
    assert max(map(len, narrow)) <= 80, "\n".join(narrow)
    assert 120 < max(map(len, wide)) <= 200, "\n".join(wide)
    assert len(wide) < len(narrow)  # the wide terminal's room is used: fewer wrapped lines
    for lines in (narrow, wide):  # failures first, then warnings, then the passing rules (--verbose)
        statuses = [line.split()[0] for line in lines[3:-1] if line.split() and line.split()[0] in ("FAIL", "WARN", "PASS")]
        assert statuses == sorted(statuses, key=["FAIL", "WARN", "PASS"].index) and statuses[0] == "FAIL" and "PASS" in statuses
    assert any("expect measurement_in_some_unit <= identifier_of_the_row" in line for line in wide)  # the expect rule's expression
