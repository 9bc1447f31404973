"""What vetting a SQL fragment and reading a metric string produce, as plain values.

They live apart from ``sql.py`` and ``metric.py`` (which import sqlglot) so that
``sql_cache.py`` can hand them back from disk to a lint that never imports sqlglot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fragment:
    """A vetted SQL fragment: its canonical DuckDB text and the columns it reads."""

    sql: str
    columns: tuple[str, ...]
    is_aggregate: bool


@dataclass(frozen=True)
class ParsedMetric:
    """A metric string read as a builtin metric (``mean`` of ``column``...) or ``sql``."""

    func: str
    column: str | None = None
    q: float | None = None
