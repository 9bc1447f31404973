"""YAML text -> typed Contract; no data, no engines.

The heavy parts (pydantic models, sqlglot) are imported on first use, so `dq lint`
can consult :mod:`dqgate.contract.lint_cache` without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract
    from dqgate.contract.load import Document


def load_contract(path: str, *, object: str | None = None) -> Contract:  # noqa: A002 - the CLI's --object
    """Read, parse and validate the contract file at ``path``: a dqgate contract, or an
    ODCS v3 data contract (``kind: DataContract``), whose schema object ``object`` is
    checked (needed only when it has several).

    Raises:
        ContractError: with every problem found (``.problems``), each as ``file:line:col: message``.
    """
    from dqgate.contract.check import build_contract
    from dqgate.contract.load import load_file
    from dqgate.contract.odcs_kind import is_odcs
    from dqgate.errors import ContractError

    doc = load_file(path)
    if is_odcs(doc.value):
        return _from_odcs(doc, object)
    if object is not None:
        raise ContractError(f"{path}: --object chooses a schema object of an ODCS contract; this is a dqgate contract")
    return build_contract(doc)


def lint_file(path: str) -> Contract:
    """Lint the dqgate or ODCS contract at ``path`` (its own schema object, as
    :func:`load_contract` without ``object``) and return it when it has no problem.

    A plain dqgate contract whose shape can be proven without pydantic
    (``check.proven_contract``) is built without it, as records with the models'
    attributes: enough for lint and ``--against``, not for compiling a check.

    Raises:
        ContractError: with every problem found, as :func:`load_contract`.
    """
    from dqgate.contract.check import build_contract, proven_contract
    from dqgate.contract.load import load_file
    from dqgate.contract.odcs_kind import is_odcs

    doc = load_file(path)
    if is_odcs(doc.value):
        return _from_odcs(doc, None)
    return proven_contract(doc) or build_contract(doc)


def lint_text(text: str, file: str) -> Contract:
    """:func:`parse_contract` for lint: without pydantic when the shape is proven."""
    from dqgate.contract.check import build_contract, proven_contract
    from dqgate.contract.load import load_text

    doc = load_text(text, file)
    return proven_contract(doc) or build_contract(doc)


def _from_odcs(doc: Document, object: str | None) -> Contract:  # noqa: A002
    """Translate and validate an ODCS document; a rule dqgate cannot run is an error, never dropped."""
    from dqgate.contract.check import build_contract
    from dqgate.contract.odcs import translate
    from dqgate.errors import ContractError

    translation = translate(doc, object=object)
    blocking = [f"{line} (not mapped; `dq import odcs` lists all)" for line in translation.blocking]
    try:
        contract = build_contract(translation.doc)
    except ContractError as exc:
        merged = tuple(sorted(set(blocking + list(exc.problems)), key=_position))
        raise ContractError(merged[0], problems=merged) from None
    if blocking:
        raise ContractError(blocking[0], problems=tuple(blocking))
    return contract


def _position(line: str) -> tuple[int, int, str]:
    parts = line.split(":", 3)
    try:
        return int(parts[1]), int(parts[2]), line
    except (IndexError, ValueError):
        return 0, 0, line


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


__all__ = ["Contract", "lint_file", "lint_text", "load_contract", "parse_contract"]
