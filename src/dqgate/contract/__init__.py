"""YAML text -> typed Contract; no data, no engines."""

from __future__ import annotations

from dqgate.contract.check import build_contract
from dqgate.contract.contract import Contract
from dqgate.contract.load import load_file, load_text


def load_contract(path: str) -> Contract:
    """Read, parse and validate the contract file at ``path``.

    Raises:
        ContractError: with every problem found (``.problems``), each as ``file:line:col: message``.
    """
    return build_contract(load_file(path))


def parse_contract(text: str, file: str = "<contract>") -> Contract:
    """Parse and validate contract YAML given as text."""
    return build_contract(load_text(text, file))


__all__ = ["Contract", "load_contract", "parse_contract"]
