"""The typed contract: the validated model plus what later stages need from the YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dqgate.contract.load import Document, Path
    from dqgate.contract.model import ContractModel
    from dqgate.contract.sql_values import Fragment


@dataclass(frozen=True)
class Contract:
    """A validated data contract.

    ``fragments`` holds every vetted SQL fragment keyed by its YAML path, so the
    planner never touches raw user SQL; ``sha256`` is over the file's exact text and
    identifies the contract in results, stamps and manifests.
    """

    model: ContractModel
    checks: tuple[Any, ...]
    fragments: dict[Path, Fragment]
    path: str
    sha256: str
    doc: Document = field(repr=False, compare=False)

    @property
    def dataset(self) -> str:
        return self.model.dataset

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def columns(self) -> dict[str, Any]:
        return dict(self.model.schema_.columns)

    @property
    def base_dir(self) -> str | None:
        """The contract file's folder: relative ``source:`` and ``references:`` paths start there."""
        import os

        return os.path.dirname(os.path.abspath(self.path)) if os.path.exists(self.path) else None

    def line_of(self, path: Path) -> int:
        """The YAML line of ``path`` (0 when unknown), for messages and JUnit."""
        return self.doc.span(path).line

    def key_columns(self) -> tuple[str, ...]:
        """The columns that identify a row: ``schema.key``, else the first unique required column."""
        schema = self.model.schema_
        if schema.key:
            return tuple(schema.key)
        for name, spec in schema.columns.items():
            if spec.unique and spec.required:
                return (name,)
        return ()
