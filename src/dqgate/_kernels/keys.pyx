"""Repeated values of a dense integer key, in two bits per possible value.

A key whose values all lie in ``[0, span)`` (offsets from the key's minimum) is
checked for repeats with two bitmaps instead of a hash table: ``seen`` gets a
value's bit the first time, ``twice`` the second. The running count of values
seen exactly once gives the failing rows of a uniqueness rule at the end (every
row of a repeated value fails: rows - singles), and ``twice`` names the repeated
values. Memory is ``span / 4`` bytes whatever the row count: 25 MB for a key of
100 million values, where a GROUP BY needs gigabytes.
"""

from dqgate._kernels._types cimport byte_t, index_t
from libc.stdint cimport int64_t, uint32_t


def mark(const uint32_t[::1] offsets, byte_t[::1] seen, byte_t[::1] twice, index_t span):
    """Mark every offset in ``seen``/``twice``; the change in the number of values seen once.

    Returns None (and marks nothing after it) at the first offset that is not below
    ``span``: the caller's idea of the key's range was wrong.
    """
    cdef index_t i, n = offsets.shape[0]
    cdef uint32_t v
    cdef byte_t bit
    cdef int64_t singles = 0
    cdef bint outside = False
    if span < 0 or seen.shape[0] * 8 < span or twice.shape[0] * 8 < span:
        raise ValueError(f"bitmaps of {seen.shape[0]} and {twice.shape[0]} bytes cannot hold {span} values")
    with nogil:
        for i in range(n):
            v = offsets[i]
            if v >= span:
                outside = True
                break
            bit = <byte_t>(1 << (v & 7))
            if seen[v >> 3] & bit:
                if not twice[v >> 3] & bit:
                    twice[v >> 3] |= bit
                    singles -= 1
            else:
                seen[v >> 3] |= bit
                singles += 1
    return None if outside else singles
