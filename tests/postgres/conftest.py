"""One PostgreSQL server per test session (tests/pg_server.py)."""

from __future__ import annotations

from typing import Iterator

import pytest
from pg_server import server


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    yield from server()
