"""Source positions and "did you mean" suggestions, shared by every error message."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Span:
    """A 1-based line and column in a file (``col`` 0 means unknown)."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.col else f"{self.file}:{self.line}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest choice, or "" when nothing is close."""
    options = [c for c in choices if isinstance(c, str)]
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f" Did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)  # case is not a typo's signal
    return f" Did you mean '{lowered[close[0]]}'?" if close else ""
