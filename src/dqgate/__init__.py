"""dqgate: a data-quality gate for machine-learning data.

Public API only; everything else is private to the package.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from dqgate.errors import ContractError as ContractError
from dqgate.errors import DataError as DataError
from dqgate.errors import DqError as DqError
from dqgate.errors import EngineError as EngineError
from dqgate.errors import StampError as StampError
from dqgate.errors import StoreError as StoreError
from dqgate.errors import UsageError as UsageError


def __getattr__(name: str) -> Any:
    """Import the heavy parts (engines, Arrow) only when they are used, so `dq lint` stays fast."""
    if name == "check":
        from dqgate.api import check

        return check
    if name in ("load_contract", "parse_contract", "Contract"):
        import dqgate.contract as c

        return getattr(c, name)
    if name == "ingest":
        from dqgate.api import ingest

        return ingest
    if name in ("open_snapshot", "verify_file"):
        import dqgate.store.read as r

        return getattr(r, name)
    raise AttributeError(f"module 'dqgate' has no attribute '{name}'")


def __dir__() -> list[str]:
    """The public names, the lazy ones included (``dir(dqgate)``, tab completion)."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


__all__ = [
    "Contract", "ContractError", "DataError", "DqError", "EngineError", "StampError", "StoreError",
    "UsageError", "__version__", "check", "ingest", "load_contract", "open_snapshot", "parse_contract", "verify_file",
]  # fmt: skip
