"""The kernels against the plain-Python reference, value by value, on random columns.

Compiled, this compares the Cython state machines with ``reference.py``. Under
``DQGATE_PURE_PYTHON=1`` the same tests check the array plumbing of the fallback
(nulls, slices, chunks, string types) against the per-value oracle.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_values import STRING_TYPES, as_array, expected, values_of

from dqgate._kernels import COMPILED, FORMATS, count_invalid, format_valid

SETTINGS = settings(max_examples=40, deadline=None)


def _counts(flags: list[bool | None]) -> tuple[int, int]:
    present = [f for f in flags if f is not None]
    return present.count(False), len(present)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_matches_reference(fmt: str, data: st.DataObject) -> None:
    values = data.draw(values_of(fmt), label="values")
    kind = data.draw(st.sampled_from(STRING_TYPES), label="type")
    want = expected(values, fmt)
    arr = as_array(values, kind)
    got = format_valid(arr, fmt)
    assert got.type == pa.bool_()
    assert got.to_pylist() == want
    assert count_invalid(arr, fmt) == _counts(want)


@pytest.mark.parametrize("fmt", FORMATS)
@SETTINGS
@given(data=st.data())
def test_sliced_and_chunked(fmt: str, data: st.DataObject) -> None:
    values = data.draw(values_of(fmt), label="values")
    kind = data.draw(st.sampled_from(STRING_TYPES), label="type")
    start = data.draw(st.integers(0, len(values)), label="start")
    want = expected(values, fmt)
    sliced = as_array(values, kind).slice(start)
    assert format_valid(sliced, fmt).to_pylist() == want[start:]
    assert count_invalid(sliced, fmt) == _counts(want[start:])
    cut = data.draw(st.integers(0, len(values)), label="cut")
    chunked = pa.chunked_array([as_array(values[:cut], kind), as_array(values[cut:], kind).slice(0)], as_array([], kind).type)
    got = format_valid(chunked, fmt)
    assert isinstance(got, pa.ChunkedArray)
    assert [len(c) for c in got.chunks] == [len(c) for c in chunked.chunks]
    assert got.to_pylist() == want
    assert count_invalid(chunked, fmt) == _counts(want)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_large_column_split_across_threads(fmt: str, data: st.DataObject) -> None:
    # 300k rows: several row ranges on the thread pool (the pure twin has no threads
    # and would take minutes, so it gets 3k). Rows repeat a few hundred distinct
    # values, so the oracle stays cheap; the slice starts off a byte boundary.
    distinct = data.draw(values_of(fmt, max_size=300, long=False).filter(bool), label="distinct")
    rows = 300_005 if COMPILED else 3_005
    index = np.random.default_rng(len(distinct)).integers(0, len(distinct), rows)
    flags = expected(distinct, fmt)
    want_valid = np.array([f is True for f in flags])[index[5:]]
    want_null = np.array([f is None for f in flags])[index[5:]]
    got = format_valid(as_array(distinct, "large_string").take(pa.array(index)).slice(5), fmt)
    assert got.null_count == want_null.sum()
    assert np.array_equal(got.is_null().to_numpy(zero_copy_only=False), want_null)
    assert np.array_equal(got.fill_null(False).to_numpy(zero_copy_only=False), want_valid)
    arr = as_array(distinct, "string").take(pa.array(index[5:]))
    assert count_invalid(arr, fmt) == (int((~want_valid & ~want_null).sum()), int((~want_null).sum()))


@SETTINGS
@given(values_of("email", long=False))
def test_email_accepts_nothing_the_common_regex_rejects(values: list[bytes | None]) -> None:
    common = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    present = [v for v in values if v is not None]
    flags = format_valid(as_array(present, "string"), "email").to_pylist()
    for value, valid in zip(present, flags):
        assert not valid or common.fullmatch(value)
