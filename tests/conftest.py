"""Shared test setup: the engine list, contract files in tmp folders, and the CLI in-process.

``ENGINES`` is the one place that says which engines behaviour tests run on; a test
takes an ``engine`` argument and ``pytest_generate_tests`` parametrizes it (a plain
parameter rather than a fixture, so hypothesis tests can take it too).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # tests/oracle.py is imported as `oracle`
    sys.path.insert(0, str(TESTS))
# The tests exercise whichever dqgate is importable: the installed package in CI
# (scripts/test.sh), the working tree with PYTHONPATH=src during development.

# `dq lint` remembers clean contracts (contract/lint_cache.py); the tests' cache is their own.
os.environ.setdefault("DQGATE_CACHE_DIR", tempfile.mkdtemp(prefix="dqgate-test-cache-"))
# What open_snapshot remembers per machine (rollback detection, store/chain.py) goes to a
# folder of this test run, not the developer's ~/.local/state; child processes inherit it.
os.environ.setdefault("DQGATE_STATE_DIR", tempfile.mkdtemp(prefix="dqgate-test-state-"))

ENGINES = ["duckdb", "polars"]
GOLDEN = TESTS / "golden"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ENGINES)


@pytest.fixture
def write_contract(tmp_path: Path) -> Callable[..., Path]:
    """Write contract YAML text to ``tmp_path`` and return its path."""

    def write(text: str, name: str = "contract.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``dq`` in-process through ``dqgate.cli.main`` (which maps errors to exit codes).

    Returns (exit code, stdout, stderr).
    """
    from dqgate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _why_no_spark() -> str | None:
    """Why a local SparkSession cannot start here (None: it can)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'dqgate[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))):
        return "no Java for Spark (no 'java' on PATH, no JAVA_HOME)"
    return None


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """One local[2] SparkSession for the whole test session (Spark takes ~10 s to start).

    Without pyspark or Java the Spark tests skip, except in CI (``CI=true``), where they
    fail: CI must run them.
    """
    reason = _why_no_spark()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Spark tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from dqgate.runners.spark import session

    started = session("local[2]")
    started.conf.set("spark.sql.shuffle.partitions", "2")  # tiny tables: 200 shuffle tasks would dominate
    yield started
    started.stop()

