"""Every exception dqgate raises, split by who must act, each with its exit code.

Failed checks are *results*, not exceptions. An exception means "the check could
not run": the CLI turns any :class:`DqError` into one line on stderr and its
``exit_code`` (2); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dqgate.span import Span


class DqError(Exception):
    """Base of every dqgate error; never raised directly."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ContractError(DqError):
    """The contract author must fix the YAML or its SQL.

    ``problems`` holds every problem found in one file (each already formatted as
    ``file:line:col: message``), so one run reports them all.
    """

    def __init__(
        self,
        message: str,
        *,
        span: Span | None = None,
        key: str | None = None,
        hint: str | None = None,
        problems: tuple[str, ...] = (),
    ) -> None:
        located = f"{span}: {message}" if span is not None else message
        if hint:
            located = f"{located} {hint}"
        super().__init__(located)
        self.span = span
        self.key = key
        self.hint = hint
        self.problems = problems or (located,)


class UsageError(DqError):
    """The caller passed bad arguments or paths."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class DataError(DqError):
    """The data cannot be read or has the wrong shape for the contract."""

    def __init__(self, message: str, *, uri: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri
        self.column = column


class EngineError(DqError):
    """An engine failed on a valid plan (raised ``from`` the original error)."""

    def __init__(self, message: str, *, engine: str, rule_id: str | None = None, sql: str | None = None) -> None:
        super().__init__(message)
        self.engine = engine
        self.rule_id = rule_id
        self.sql = sql


class UnsupportedRule(EngineError):
    """A compiler has no handler for this rule kind; never a silent fallback."""

    def __init__(self, engine: str, rule_id: str, kind: str, reason: str | None = None) -> None:
        msg = f"engine '{engine}' cannot run rule '{rule_id}' (kind {kind})"
        super().__init__(f"{msg}: {reason}" if reason else msg, engine=engine, rule_id=rule_id)
        self.kind = kind
        self.reason = reason


class StoreError(DqError):
    """The snapshot store is unusable, conflicting, or asked for something it lacks."""


class StampError(StoreError):
    """A snapshot or file has a missing, invalid, tampered or unsigned quality stamp."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version
