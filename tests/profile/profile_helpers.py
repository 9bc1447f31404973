"""Helpers shared by the profile tests."""

from __future__ import annotations


def same(a, b) -> bool:
    """Equal, of the same types, NaN equal to NaN (an extreme may be NaN: DuckDB orders it
    above every number)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)
