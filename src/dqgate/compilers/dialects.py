"""The SQL dialects by engine name: where ``dq explain --engine`` and the runners find one.

Each is a :class:`~dqgate.compilers.duckdb.common.Dialect` in its own module, imported
only when asked for (a dialect module imports the shared compiler, never the reverse).
``RUN`` are the engines dqgate runs a check on; the rest are compiled only: their
statement is printed for a person to run by hand (not tested against a live server).
"""

from __future__ import annotations

import importlib

from dqgate.compilers.duckdb.common import Dialect
from dqgate.errors import UsageError

# engine -> (module, attribute)
_WHERE = {
    "duckdb": ("dqgate.compilers.duckdb.dialect", "DUCKDB"),
    "postgres": ("dqgate.compilers.postgres", "POSTGRES"),
    "spark": ("dqgate.compilers.spark", "SPARK"),
    "snowflake": ("dqgate.compilers.warehouses", "SNOWFLAKE"),
    "bigquery": ("dqgate.compilers.warehouses", "BIGQUERY"),
    "trino": ("dqgate.compilers.warehouses", "TRINO"),
}
NAMES = tuple(_WHERE)
COMPILED_ONLY = ("snowflake", "bigquery", "trino")


def dialect(engine: str) -> Dialect:
    """The dialect of ``engine`` (UsageError naming the choices for an unknown one)."""
    try:
        module, name = _WHERE[engine]
    except KeyError:
        raise UsageError(f"unknown SQL engine '{engine}' (choose from {', '.join(NAMES)})", param="engine") from None
    found: Dialect = getattr(importlib.import_module(module), name)
    return found
