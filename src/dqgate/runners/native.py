"""dqgate's DuckDB extension (``_kernels/dqgate_native.c``): where it is, and loading it.

The extension adds two functions that run in DuckDB's own scan threads:
``dq_dfa_match`` (a pattern rule as a byte-level DFA, compilers/regex_dfa.py) and the
aggregate ``dq_key_repeats`` (uniqueness of a dense integer key in two bitmaps,
runners/dense_unique.py). Both have a fallback that gives the same answers with
DuckDB's own functions, used when the extension is not there:

- it was not built (``build_native.py`` could not fetch DuckDB's C headers);
- ``DQGATE_NO_NATIVE=1``, or ``DQGATE_PURE_PYTHON=1`` (the test run of the fallbacks);
- the connection is the caller's and refuses unsigned extensions (DuckDB allows them
  only when the database is opened with ``allow_unsigned_extensions``, which
  :data:`CONFIG` does for dqgate's own connections).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

PATH = Path(__file__).resolve().parent.parent / "_kernels" / "dqgate_native.duckdb_extension"
CONFIG = {"allow_unsigned_extensions": "true"}


def enabled() -> bool:
    """Whether dqgate may use the extension here (built, and not turned off)."""
    return why_not() is None


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection that may load the extension."""
    return duckdb.connect(":memory:", config=CONFIG if enabled() else {})


def load(con: duckdb.DuckDBPyConnection) -> bool:
    """Load the extension into ``con``; whether its functions are there now."""
    if not enabled():
        return False
    return run_load(con, load_statement())


def load_statement() -> str:
    """The ``LOAD`` of the extension (built with sqlglot; a compiled check keeps it)."""
    from sqlglot import exp

    return f"LOAD {exp.Literal.string(str(PATH)).sql('duckdb')}"  # sqlglot has no LOAD node


def run_load(con: duckdb.DuckDBPyConnection, statement: str) -> bool:
    """Run ``statement`` (:func:`load_statement`); whether the extension's functions are there now."""
    if not enabled():
        return False
    try:
        con.execute(statement)
    except duckdb.Error:
        return False  # the caller's connection without allow_unsigned_extensions, or another platform
    return True


def session() -> duckdb.DuckDBPyConnection:
    """dqgate's private connection for a check: :func:`connect`, without DuckDB's progress
    bar (it writes to stdout and breaks JSON output), parsing a Parquet footer once (a
    check reads it several times: statistics, the fused statement, one sample query per
    failing rule; DuckDB re-reads a file that changed)."""
    con = connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET parquet_metadata_cache = true")
    return con


def why_not() -> str | None:
    """Why the extension is not used, for ``dq explain``; None when it is."""
    if os.environ.get("DQGATE_NO_NATIVE") == "1" or os.environ.get("DQGATE_PURE_PYTHON") == "1":
        return "turned off by DQGATE_NO_NATIVE / DQGATE_PURE_PYTHON"
    if not PATH.is_file():
        return f"not built ({PATH.name} is missing; see build_native.py)"
    return None
