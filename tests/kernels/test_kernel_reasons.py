"""reason_codes against a numpy oracle, for every kind of mask it accepts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqgate._kernels import reason_codes


def _oracle(rows: list[list[bool | None]]) -> np.ndarray:
    out = np.zeros(len(rows[0]), dtype=np.uint64)
    for k, mask in enumerate(rows):
        for i, failed in enumerate(mask):
            if failed:
                out[i] += np.uint64(2**k)
    return out


@st.composite
def _masks(draw: st.DrawFn) -> tuple[list[list[bool | None]], list[object]]:
    # Shapes and kinds come from hypothesis; the bits from a seeded generator (drawing
    # 64 x 70 booleans one by one through hypothesis is needlessly slow).
    n = draw(st.integers(0, 70))
    k = draw(st.integers(1, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    density = draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    rows: list[list[bool | None]] = []
    masks: list[object] = []
    for _ in range(k):
        kind = draw(st.sampled_from(["numpy", "arrow", "sliced", "chunked"]))
        bits = rng.random(n) < density
        nulls = np.zeros(n, bool) if kind == "numpy" else rng.random(n) < 0.2
        values = [None if null else bool(bit) for bit, null in zip(bits, nulls)]
        rows.append(values)
        if kind == "numpy":
            masks.append(bits)
        elif kind == "arrow":
            masks.append(pa.array(values, pa.bool_()))
        elif kind == "sliced":
            pad = draw(st.integers(0, 11))
            masks.append(pa.array([True] * pad + values, pa.bool_()).slice(pad))
        else:
            cut = draw(st.integers(0, n))
            masks.append(pa.chunked_array([pa.array(values[:cut], pa.bool_()), pa.array(values[cut:], pa.bool_())]))
    return rows, masks


@settings(max_examples=100, deadline=None)
@given(_masks())
def test_matches_numpy_oracle(case: tuple[list[list[bool | None]], list[object]]) -> None:
    rows, masks = case
    got = reason_codes(masks)
    assert got.dtype == np.uint64
    assert np.array_equal(got, _oracle(rows))


def test_large_and_all_64_bits() -> None:
    rng = np.random.default_rng(0)
    n = 100_003
    bits = rng.random((64, n)) < 0.05
    nulls = rng.random((64, n)) < 0.01
    masks = [pa.array(bits[k], mask=nulls[k]).slice(3) if k % 2 else bits[k, 3:] for k in range(64)]
    want = np.zeros(n - 3, dtype=np.uint64)
    for k in range(64):
        failed = bits[k, 3:] & ~(nulls[k, 3:] if k % 2 else np.zeros(n - 3, bool))
        want |= failed.astype(np.uint64) << np.uint64(k)
    assert np.array_equal(reason_codes(masks), want)


@pytest.mark.parametrize(
    ("masks", "error"),
    [
        ([], ValueError),
        ([np.zeros(3, bool)] * 65, ValueError),
        ([np.zeros(3, bool), np.zeros(4, bool)], ValueError),
        ([np.zeros(3, np.int8)], TypeError),
        ([pa.array([1, 2, 3])], TypeError),
        ([[True, False]], TypeError),
    ],
)
def test_bad_masks_are_refused(masks: list[object], error: type[Exception]) -> None:
    with pytest.raises(error):
        reason_codes(masks)
