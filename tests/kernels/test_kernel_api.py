"""The Python entry points: argument checks, types, edge shapes, and which twin runs."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

from dqgate import _kernels
from dqgate._kernels import COMPILED, FORMATS, count_invalid, format_valid, reference


def test_compiled_matches_environment() -> None:
    # Not a skip: the default run must use the extension (so a broken build fails
    # here), and DQGATE_PURE_PYTHON=1 must really select the reference twin.
    pure = os.environ.get("DQGATE_PURE_PYTHON") == "1"
    assert COMPILED is (not pure)
    if COMPILED:
        from dqgate._kernels import formats

        assert formats.FORMATS == FORMATS
    else:
        assert _kernels._formats is None


def test_format_names() -> None:
    assert FORMATS == ("email", "uuid", "url", "ipv4", "ipv6", "iso_date", "iso_datetime", "luhn", "iban", "json")
    assert set(reference.CHECKS) == set(FORMATS)


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown format 'e-mail'; valid formats: email, uuid, .*json"):
        format_valid(pa.array(["a"]), "e-mail")
    with pytest.raises(ValueError, match="unknown format"):
        count_invalid(pa.array(["a"]), "EMAIL")


@pytest.mark.parametrize("values", [pa.array([1, 2]), pa.array([1.5]), np.array(["a@b.cc"]), ["a@b.cc"]])
def test_non_string_input_is_a_type_error(values: object) -> None:
    with pytest.raises(TypeError):
        format_valid(values, "email")
    with pytest.raises(TypeError):
        count_invalid(values, "email")


@pytest.mark.parametrize(
    "kind", [pa.string(), pa.large_string(), pa.string_view(), pa.binary(), pa.large_binary(), pa.binary_view()]
)
def test_every_string_layout(kind: pa.DataType) -> None:
    arr = pa.array(["a@b.cc", None, "nope", ""], kind)
    assert format_valid(arr, "email").to_pylist() == [True, None, False, False]
    assert count_invalid(arr, "email") == (2, 3)


def test_empty_all_null_and_null_typed() -> None:
    for arr in (pa.array([], pa.string()), pa.array([None, None], pa.string()), pa.nulls(3)):
        got = format_valid(arr, "uuid")
        assert got.type == pa.bool_()
        assert got.to_pylist() == [None] * len(arr)
        assert count_invalid(arr, "uuid") == (0, 0)


def test_chunked_edge_shapes() -> None:
    empty = pa.chunked_array([], pa.string())
    assert format_valid(empty, "ipv4").num_chunks == 0
    assert count_invalid(empty, "ipv4") == (0, 0)
    mixed = pa.chunked_array([pa.array(["1.2.3.4"]), pa.array([], pa.string()), pa.array([None, "1.2.3"])])
    got = format_valid(mixed, "ipv4")
    assert [len(c) for c in got.chunks] == [1, 0, 2]
    assert got.to_pylist() == [True, None, False]
    assert count_invalid(mixed, "ipv4") == (1, 2)


def test_dictionary_encoded_strings() -> None:
    arr = pa.array(["2024-02-29", "2023-02-29", None, "2024-02-29"]).dictionary_encode()
    assert format_valid(arr, "iso_date").to_pylist() == [True, False, None, True]
    assert count_invalid(arr, "iso_date") == (1, 3)
    assert count_invalid(pa.chunked_array([arr, arr.slice(1)]), "iso_date") == (2, 5)


def test_result_is_a_plain_boolean_array_at_offset_zero() -> None:
    arr = pa.array([None] + ["4111111111111111", "4111111111111112"] * 10).slice(1)
    got = format_valid(arr, "luhn")
    got.validate(full=True)
    assert got.offset == 0
    assert got.null_count == 0
    assert got.to_pylist() == [True, False] * 10


def test_corrupt_offsets_are_an_error_not_a_crash() -> None:
    # pyarrow's cheap validation (run by from_buffers) does not look at every offset.
    offsets = pa.py_buffer(np.array([0, 3, 1, 4], dtype=np.int32))
    bad = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(b"abcd"))
    match = "offsets decrease" if COMPILED else "non-monotonic"
    with pytest.raises(ValueError, match=match):
        count_invalid(bad, "email")
    with pytest.raises(ValueError, match=match):
        format_valid(bad, "email")


def test_kernel_entry_points_check_their_arguments() -> None:
    if not COMPILED:
        assert _kernels._formats is None and _kernels._reasons is None
        return
    from dqgate._kernels import formats, reasons

    offsets = np.array([0, 1], dtype=np.int32)
    data = np.frombuffer(b"a", np.uint8)
    none = np.empty(0, np.uint8)
    with pytest.raises(ValueError, match="format code"):
        formats.count_range(99, offsets, data, none, 0, 0, 1)
    with pytest.raises(ValueError, match="offsets buffer"):
        formats.count_range(0, offsets, data, none, 0, 0, 2)
    with pytest.raises(ValueError, match="multiple of 8"):
        formats.valid_range(0, offsets, data, none, 0, 1, 1, np.zeros(1, np.uint8), none)
    with pytest.raises(ValueError, match="0..63"):
        reasons.or_bytes(np.zeros(1, np.uint64), 0, np.zeros(1, np.uint8), 64)
    with pytest.raises(ValueError, match="do not fit"):
        reasons.or_bytes(np.zeros(1, np.uint64), 1, np.zeros(1, np.uint8), 0)
