"""Packed per-row reason codes for ``quarantine_rows``.

Row i of the result is a uint64 whose bit k is set when rule k failed on row i.
The caller ORs one failure mask per rule into the same output array; a mask is
either an Arrow boolean bitmap (NULL counts as not failing) or a numpy bool array.
"""

from dqgate._kernels._types cimport byte_t, code_t, index_t
from dqgate._kernels.formats cimport bit_is_set


cdef void _check_target(code_t[::1] out, index_t out_start, index_t length, int k) except *:
    if not 0 <= k < 64:
        raise ValueError(f"rule index {k} is not in 0..63")
    if out_start < 0 or length < 0 or out_start + length > out.shape[0]:
        raise ValueError(f"rows {out_start}..{out_start + length} do not fit an output of {out.shape[0]}")


def or_bitmap(
    code_t[::1] out,
    index_t out_start,
    const byte_t[::1] values,
    const byte_t[::1] validity,
    index_t offset,
    index_t length,
    int k,
):
    """Set bit ``k`` of ``out[out_start + i]`` where row i of a boolean array is true.

    Args:
        out: The reason codes, updated in place.
        out_start: Row of ``out`` that row 0 of the array maps to.
        values: The boolean array's value bitmap (not sliced).
        validity: Its validity bitmap, or empty when it has no nulls.
        offset: The array's offset into its bitmaps.
        length: Number of rows.
        k: The rule's bit, 0..63.

    Raises:
        ValueError: When the rows do not fit ``out`` or the bitmaps are too short.
    """
    cdef code_t bit = (<code_t>1) << k
    cdef const byte_t* vals
    cdef const byte_t* valid = &validity[0] if validity.shape[0] else NULL
    cdef code_t* dst
    cdef index_t i, j, first, nbytes
    cdef byte_t b
    _check_target(out, out_start, length, k)
    if offset < 0 or values.shape[0] * 8 < offset + length or (valid != NULL and validity.shape[0] * 8 < offset + length):
        raise ValueError(f"bitmaps are too short for {length} rows at offset {offset}")
    if length == 0:
        return
    vals = &values[0]
    dst = &out[out_start]
    with nogil:
        if offset % 8 == 0:
            # Whole bytes at a time: most rows pass most rules, so most bytes are 0.
            first = offset >> 3
            nbytes = (length + 7) >> 3
            for j in range(nbytes):
                b = vals[first + j]
                if valid != NULL:
                    b &= valid[first + j]
                if b:
                    for i in range(j * 8, min(j * 8 + 8, length)):
                        if b & 1:
                            dst[i] |= bit
                        b >>= 1
        else:
            for i in range(length):
                if bit_is_set(vals, offset + i) and (valid == NULL or bit_is_set(valid, offset + i)):
                    dst[i] |= bit


def or_bytes(code_t[::1] out, index_t out_start, const byte_t[::1] mask, int k):
    """Set bit ``k`` of ``out[out_start + i]`` where byte i of ``mask`` is non-zero.

    Args:
        out: The reason codes, updated in place.
        out_start: Row of ``out`` that byte 0 of the mask maps to.
        mask: A numpy bool array viewed as bytes.
        k: The rule's bit, 0..63.

    Raises:
        ValueError: When the rows do not fit ``out``.
    """
    cdef code_t bit = (<code_t>1) << k
    cdef index_t i, length = mask.shape[0]
    _check_target(out, out_start, length, k)
    with nogil:
        for i in range(length):
            if mask[i]:
                out[out_start + i] |= bit
