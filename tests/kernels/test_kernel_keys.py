"""The key bitmaps (``keys.pyx``) against a Counter, fed in chunks as the runner feeds them.

Compiled, this checks the Cython kernel; under ``DQGATE_PURE_PYTHON=1`` the twin.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate._kernels import mark_keys


@settings(max_examples=200, deadline=None)
@given(
    span=st.integers(1, 300),
    data=st.data(),
)
def test_failing_rows_and_repeated_values_match_a_counter(span: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, span - 1), max_size=400), label="offsets")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=4), label="chunk cuts"))
    seen = np.zeros((span + 7) // 8, dtype=np.uint8)
    twice = np.zeros_like(seen)
    singles = 0
    for start, stop in zip([0, *cuts], [*cuts, len(values)]):
        got = mark_keys(np.array(values[start:stop], dtype=np.uint32), seen, twice, span)
        assert got is not None
        singles += got
    counts = Counter(values)
    assert len(values) - singles == sum(n for n in counts.values() if n > 1)
    repeated = [v for v in range(span) if twice[v >> 3] >> (v & 7) & 1]
    assert repeated == sorted(v for v, n in counts.items() if n > 1)
    assert [v for v in range(span) if seen[v >> 3] >> (v & 7) & 1] == sorted(counts)


def test_an_offset_outside_the_span_is_reported() -> None:
    seen = np.zeros(2, dtype=np.uint8)
    twice = np.zeros_like(seen)
    assert mark_keys(np.array([3, 3, 16, 5], dtype=np.uint32), seen, twice, 16) is None
    assert mark_keys(np.array([15, 15], dtype=np.uint32), seen, twice, 16) == 0


def test_bitmaps_too_small_for_the_span_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        mark_keys(np.array([1], dtype=np.uint32), np.zeros(1, np.uint8), np.zeros(1, np.uint8), 9)
