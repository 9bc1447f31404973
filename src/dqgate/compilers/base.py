"""What every compiler shares: a dispatch table from IR node class to a handler.

A rule kind without a handler raises :class:`~dqgate.errors.UnsupportedRule`;
compilers never fall back silently to a different meaning. A dialect's table may
``fall back`` to a shared one: it holds only the handlers that differ (the shared SQL
handlers serve every SQL engine; a dialect overrides regexes, formats, ...).
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from dqgate.errors import UnsupportedRule
from dqgate.ir.nodes import Rule

H = TypeVar("H", bound=Callable[..., Any])


class Dispatch(Generic[H]):
    """A table ``{RuleClass: handler}`` looked up along the rule's class hierarchy."""

    def __init__(self, engine: str, fallback: Dispatch[H] | None = None) -> None:
        self.engine = engine
        self.fallback = fallback
        self.handlers: dict[type[Rule], H] = {}

    def register(self, *kinds: type[Rule]) -> Callable[[H], H]:
        def deco(fn: H) -> H:
            for kind in kinds:
                self.handlers[kind] = fn
            return fn

        return deco

    def __call__(self, rule: Rule) -> H:
        handler = self.find(type(rule))
        if handler is None:
            raise UnsupportedRule(self.engine, rule.id, type(rule).__name__)
        return handler

    def find(self, kind: type[Rule]) -> H | None:
        """This table's handler of ``kind``, else the shared table's (None: no handler)."""
        handler = self.handlers.get(kind)
        if handler is None and self.fallback is not None:
            return self.fallback.find(kind)
        return handler

    def __contains__(self, kind: type[Rule]) -> bool:
        return self.find(kind) is not None
