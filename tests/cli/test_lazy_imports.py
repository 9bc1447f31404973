"""The start-up path of `dq check` and `dq lint` stays free of modules it does not need.

Speed is measured in benchmarks/ (bench_startup.py), never asserted; what a test can
hold is the cause of a slow start: a module-level import that puts a heavy package on
every run's path. Each test runs `dq` in a fresh interpreter and lists what it
imported, so a regression (an import moved back to the top of a module) fails here,
however fast the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


import dqgate
from dq_process import ONE_ROW_CONTRACT as CONTRACT
from dq_process import one_row

# Engines, plotting, HTTP, schemas, lineage and the ODCS translation: none serves a
# passing check of a dqgate contract printed as plain text.
NOT_ON_CHECK_PATH = (
    "polars", "pyarrow", "numpy", "matplotlib", "rich", "urllib.request", "http.client", "jsonschema",
    "openlineage", "dqgate.contract.odcs", "dqgate.gate.notify", "dqgate.store", "dqgate.report.html",
)  # fmt: skip
NOT_ON_LINT_PATH = ("duckdb", "polars", "pyarrow", "numpy", "matplotlib", "rich", "urllib.request", "openlineage")
NOT_ON_CLEAN_LINT_PATH = (*NOT_ON_LINT_PATH, "pydantic", "sqlglot", "yaml", "dqgate.contract.check")


PROBE = (
    "import json, sys\n"
    "from dqgate.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
)


def _dq(folder: Path, *args: str) -> tuple[int, set[str], str]:
    """Run `dq ARGS` in a fresh interpreter in ``folder``: exit code, modules imported, output."""
    env = {**os.environ, "DQGATE_CACHE_DIR": str(folder / "cache"), "DQ_PROGRESS": "0",
           "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}  # fmt: skip
    env.pop("DQ_OPENLINEAGE_URL", None)
    env.pop("DQ_OPENLINEAGE_FILE", None)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False)
    *output, last = done.stdout.strip().splitlines() or [""]
    try:
        probe = json.loads(last)
    except json.JSONDecodeError:
        raise AssertionError(f"dq {' '.join(args)} did not finish:\n{done.stdout}{done.stderr}") from None
    return probe["code"], set(probe["modules"]), "\n".join(output) + done.stderr


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages included with their submodules) were imported."""
    return [name for name in names if any(m == name or m.startswith(name + ".") for m in modules)]


def test_a_passing_check_imports_only_what_it_runs(tmp_path: Path) -> None:
    one_row(tmp_path)
    code, modules, out = _dq(tmp_path, "check", "one.yaml", "-q")
    assert code == 0, out
    assert "PASS: 6 pass" in out  # the plain-text report, drawn without rich
    assert _loaded(modules, NOT_ON_CHECK_PATH) == []
    assert {"duckdb", "dqgate.runners.duckdb"} <= modules  # the probe saw a real check run


def test_a_failing_check_still_draws_its_table(tmp_path: Path) -> None:
    """The lazy path is only the plain one: a failure gets rich's table as before."""
    one_row(tmp_path, contract=CONTRACT.replace("max: 10", "max: 1"))
    code, modules, out = _dq(tmp_path, "check", "one.yaml", "-q")
    assert code == 1
    assert "x.range" in out and "FAIL" in out
    assert "rich" in modules


def test_a_contract_with_a_webhook_loads_the_client(tmp_path: Path) -> None:
    """Skipping the webhook module when there is nothing to send must not skip a configured alert."""
    one_row(tmp_path, contract=CONTRACT.replace("max: 10", "max: 1") + "notify:\n  url: http://127.0.0.1:9/hook\n  retries: 0\n  timeout: 1\n")
    code, modules, out = _dq(tmp_path, "check", "one.yaml", "-q")
    assert code == 1
    assert "dqgate.gate.notify" in modules
    assert "could not deliver the alert to http://127.0.0.1:9" in out


def test_lint_never_imports_an_engine_and_a_known_clean_contract_nothing_heavy(tmp_path: Path) -> None:
    one_row(tmp_path)
    code, modules, out = _dq(tmp_path, "lint", "one.yaml")
    assert code == 0, out
    assert "dqgate.contract.check" in modules  # parsed and validated the first time
    assert _loaded(modules, NOT_ON_LINT_PATH) == []
    code, modules, out = _dq(tmp_path, "lint", "one.yaml")
    assert code == 0, out
    assert _loaded(modules, NOT_ON_CLEAN_LINT_PATH) == []


PLAIN = """\
dataset: plain
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    x: {type: float64, range: {min: 0, max: 10}}
    s: {type: string, in: [a, b], pattern: '^[ab]$'}
"""


def test_lint_parses_sql_only_for_a_contract_that_carries_some(tmp_path: Path) -> None:
    """sqlglot (a third of a cold lint's imports) serves only `expect`, `where` and metrics:
    a contract of column rules is linted without it, and one with SQL is still vetted."""
    (tmp_path / "plain.yaml").write_text(PLAIN, encoding="utf-8")
    code, modules, out = _dq(tmp_path, "lint", "plain.yaml")
    assert code == 0, out
    assert "dqgate.contract.check" in modules and _loaded(modules, ("sqlglot", "dqgate.contract.sql")) == []
    (tmp_path / "bad.yaml").write_text(PLAIN + "checks:\n  - expect: \"lenght(s) = 1\"\n", encoding="utf-8")
    code, modules, out = _dq(tmp_path, "lint", "bad.yaml")
    assert code == 1 and "bad.yaml:8:5:" in out and "Did you mean 'length'" in out  # vetted: the misspelt function, with "did you mean"
    assert "sqlglot" in modules


def test_an_edited_contract_whose_sql_was_seen_lints_without_sqlglot(tmp_path: Path) -> None:
    """The pre-commit case: one contract edited on a line that is not SQL, or a new one
    reusing SQL another contract had: its fragments and metrics come from the SQL cache
    (contract/sql_cache.py), and a real problem is still found."""
    with_sql = PLAIN + "checks:\n  - expect: \"x >= 0 AND length(s) = 1\"\n    where: \"id > 0\"\n  - metric: mean(x)\n    max: 5\n  - metric: \"count(*) FILTER (WHERE s = 'a')\"\n    min: 0\n"
    (tmp_path / "one.yaml").write_text(with_sql, encoding="utf-8")
    code, modules, out = _dq(tmp_path, "lint", "one.yaml")
    assert code == 0 and "sqlglot" in modules, out  # first seen: vetted with sqlglot
    (tmp_path / "one.yaml").write_text(with_sql.replace("dataset: plain", "dataset: plain\nowner: me"), encoding="utf-8")
    (tmp_path / "two.yaml").write_text(with_sql.replace("dataset: plain", "dataset: other"), encoding="utf-8")
    code, modules, out = _dq(tmp_path, "lint", "one.yaml", "two.yaml")
    assert code == 0, out
    assert "dqgate.contract.check" in modules and _loaded(modules, ("sqlglot", "dqgate.contract.sql", "dqgate.contract.metric")) == []
    # and its shape is proven without pydantic (contract/shape.py)
    assert _loaded(modules, ("pydantic", "dqgate.contract.model")) == []
    (tmp_path / "three.yaml").write_text(with_sql.replace("x: {type: float64", "y: {type: float64"), encoding="utf-8")
    code, modules, out = _dq(tmp_path, "lint", "three.yaml")  # the same SQL, but 'x' is no longer declared
    assert code == 1 and "unknown column 'x'" in out, out
    assert "pydantic" in modules  # a contract with a problem is reported by the full path


BLAS_PROBE = (
    "import json, os, sys\n"
    "from dqgate.cli import main\n"
    "sys.argv = ['dq', 'lint', 'missing.yaml']\n"
    "main()\n"
    "assert 'numpy' not in sys.modules\n"
    "before = len(os.listdir('/proc/self/task'))\n"
    "import numpy\n"
    "print(json.dumps({'started': len(os.listdir('/proc/self/task')) - before, 'env': os.environ.get('OPENBLAS_NUM_THREADS')}))\n"
)


def _blas(env_value: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = str(Path(dqgate.__file__).resolve().parents[1])
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    done = subprocess.run([sys.executable, "-c", BLAS_PROBE], capture_output=True, text=True, env=env, timeout=120, check=True, cwd=Path(__file__).parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_console_script_starts_no_busy_blas_threads() -> None:
    """numpy comes with pyarrow on every store command, and its OpenBLAS would start a thread
    per core that spins (~0.07 s of CPU an ingest, for linear algebra `dq` never does)."""
    assert _blas(None) == {"started": 0, "env": "1"}
    assert _blas("2") == {"started": 1, "env": "2"}  # a number the user chose is kept


def test_a_program_importing_dqgate_keeps_its_environment() -> None:
    probe = "import json, os, dqgate.cli, dqgate.gate.ingest; print(json.dumps(os.environ.get('OPENBLAS_NUM_THREADS')))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(Path(dqgate.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) is None
