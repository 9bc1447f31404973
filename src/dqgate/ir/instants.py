"""Relative bounds -> instants, when a check runs. Pure: the clock is an argument.

``range: {min: now-52w}`` and ``min: now-1d`` on a metric plan to a
:class:`~dqgate.contract.bounds.RelativeInstant`; every runner calls :func:`resolve`
with ``--as-of`` (or the clock) before compiling, so the engines only ever see
concrete dates and timestamps, and both engines see the same ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace
from typing import Any

from dqgate.contract.bounds import RelativeInstant
from dqgate.ir import nodes as n


def resolve(rules: tuple[n.Rule, ...], now: dt.datetime) -> tuple[n.Rule, ...]:
    """``rules`` with every relative bound made the instant it means at ``now``."""
    return tuple(_resolved(rule, now) for rule in rules)


def _resolved(rule: Any, now: dt.datetime) -> Any:
    changes: dict[str, Any] = {}
    for f in fields(rule):
        value = getattr(rule, f.name)
        if isinstance(value, RelativeInstant):
            changes[f.name] = value.at(now)
        elif isinstance(value, n.Rule):  # a sliced metric's metric
            inner = _resolved(value, now)
            if inner is not value:
                changes[f.name] = inner
    return replace(rule, **changes) if changes else rule


def has_relative(rule: n.Rule) -> bool:
    """Whether any bound of ``rule`` waits for the check time."""
    return any(isinstance(getattr(rule, f.name), RelativeInstant) for f in fields(rule))
