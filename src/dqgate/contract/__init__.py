"""YAML text -> typed Contract; no data, no engines.

The heavy parts (pydantic models, sqlglot) are imported on first use, so `dq lint`
can consult :mod:`dqgate.contract.lint_cache` without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract


def load_contract(path: str) -> Contract:
    """Read, parse and validate the contract file at ``path``.

    Raises:
        ContractError: with every problem found (``.problems``), each as ``file:line:col: message``.
    """
    from dqgate.contract.check import build_contract
    from dqgate.contract.load import load_file

    return build_contract(load_file(path))


def parse_contract(text: str, file: str = "<contract>") -> Contract:
    """Parse and validate contract YAML given as text."""
    from dqgate.contract.check import build_contract
    from dqgate.contract.load import load_text

    return build_contract(load_text(text, file))


def __getattr__(name: str) -> Any:
    if name == "Contract":
        from dqgate.contract.contract import Contract

        return Contract
    raise AttributeError(f"module 'dqgate.contract' has no attribute '{name}'")


__all__ = ["Contract", "load_contract", "parse_contract"]
