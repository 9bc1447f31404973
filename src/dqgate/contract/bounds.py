"""Bounds that are instants: ISO dates and times, and instants relative to the check time.

A bound on a date or timestamp column (``range: {min: now-52w}``) or on a metric of
one (``metric: max(loaded_at)``, ``min: now-1d``) may be an ISO date or timestamp,
or ``now`` plus or minus a duration (``now-52w``, ``now-1d12h``, ``now+2h``). A
relative bound stays a :class:`RelativeInstant` through the IR and becomes a concrete
instant only when a check runs (``ir/instants.py``, at ``--as-of`` or the clock), so
one contract means "the last 52 weeks" on every run, not the 52 weeks before it was
written. Pure: parsing only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

class OpenEnds:
    """``open_min`` / ``open_max`` of a range with ``exclusive`` (both ends) and
    ``exclusive_min`` / ``exclusive_max`` (one end): shared by the contract's range (its
    pydantic model and its pydantic-free record) and the IR's range rule."""

    if TYPE_CHECKING:  # the fields are declared by each class that uses it
        exclusive: bool
        exclusive_min: bool
        exclusive_max: bool

    @property
    def open_min(self) -> bool:
        return self.exclusive or self.exclusive_min

    @property
    def open_max(self) -> bool:
        return self.exclusive or self.exclusive_max


_RELATIVE = re.compile(r"^\s*now\s*(?:([+-])\s*(.+?))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RelativeInstant:
    """``now`` shifted by ``offset_s`` seconds (negative: the past), as a date when ``date``.

    ``text`` is what the contract says (``now-52w``): results and diffs show it.
    """

    text: str
    offset_s: float
    date: bool = False

    def at(self, now: dt.datetime) -> dt.date | dt.datetime:
        """The instant this bound means when the check runs at ``now`` (naive UTC, or a UTC date)."""
        if now.tzinfo is not None:
            now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        moment = now + dt.timedelta(seconds=self.offset_s)
        return moment.date() if self.date else moment

    def __str__(self) -> str:
        return self.text


def relative(value: Any) -> RelativeInstant | None:
    """``value`` as a relative instant (``now``, ``now-52w``, ``now+1d12h``), or None if it is not one.

    Raises:
        ValueError: it starts with ``now`` but its duration is not one.
    """
    if not isinstance(value, str):
        return None
    m = _RELATIVE.match(value)
    if m is None:
        return None
    from dqgate.contract.names import parse_duration

    sign, duration = m.groups()
    seconds = 0.0 if duration is None else parse_duration(duration)
    return RelativeInstant(value.strip(), -seconds if sign == "-" else seconds)


def instant(value: Any) -> dt.date | dt.datetime | None:
    """An ISO date or timestamp written as text (``2024-01-31``, ``2024-01-31 10:00``), or None."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def kind(value: Any) -> str:
    """``number``, ``instant``, ``relative`` or ``text``: what sort of bound ``value`` is."""
    if is_number(value):
        return "number"
    if isinstance(value, RelativeInstant) or (isinstance(value, str) and _RELATIVE.match(value)):
        return "relative"
    if instant(value) is not None:
        return "instant"
    return "text"


def relative_or_none(value: Any) -> RelativeInstant | None:
    """:func:`relative`, with a malformed duration read as "not relative" (the caller reports it)."""
    try:
        return relative(value)
    except ValueError:
        return None


def comparable(value: Any, bound: Any) -> tuple[Any, Any]:
    """``(value, bound)`` made comparable: a date beside a timestamp is its midnight, a naive
    instant beside an aware one is UTC, ISO text is read as the instant it names; so
    metric values and instant bounds compare as the engines compare them."""
    if isinstance(bound, str) and isinstance(value, dt.date):
        bound = instant(bound) or bound
    if isinstance(value, dt.date) and isinstance(bound, dt.date):
        if isinstance(value, dt.datetime) != isinstance(bound, dt.datetime):
            value, bound = (_midnight(value), _midnight(bound))
        if isinstance(value, dt.datetime) and isinstance(bound, dt.datetime):
            if value.tzinfo is not None and bound.tzinfo is None:
                bound = bound.replace(tzinfo=dt.timezone.utc)
            elif value.tzinfo is None and bound.tzinfo is not None:
                bound = bound.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value, bound


def _midnight(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def show(value: Any) -> str:
    """A bound as messages print it: ``0.25``, ``2024-01-31``, ``now-52w``."""
    if is_number(value):
        return f"{value:g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
