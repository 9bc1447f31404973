"""Row-level format checks and reason codes over Arrow arrays: the Cython hot path.

Private: only ``compilers/kernels.py`` and ``runners/`` import it. The entry points
check and coerce their inputs here, hand the Arrow buffers (zero copy) to the
compiled kernels in ``formats.pyx`` / ``reasons.pyx``, and split large arrays into
row ranges run on a thread pool, since the kernels release the GIL. The rules of
each format are written down in the docstring of ``formats.pyx``.

``DQGATE_PURE_PYTHON=1`` in the environment (read at import) selects the plain
Python twin in ``reference.py`` even when the extension is built; ``COMPILED`` says
which one is in use.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from dqgate._kernels import reference

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

try:
    if os.environ.get("DQGATE_PURE_PYTHON") == "1":
        raise ImportError("DQGATE_PURE_PYTHON=1")  # noqa: EM101, TRY301
    from dqgate._kernels import formats as _formats
    from dqgate._kernels import keys as _keys
    from dqgate._kernels import reasons as _reasons
except ImportError:
    _formats = _keys = _reasons = None  # type: ignore[assignment]  # every use is behind COMPILED

FORMATS: tuple[str, ...] = reference.FORMATS
COMPILED: bool = _formats is not None

__all__ = ["COMPILED", "FORMATS", "count_invalid", "format_valid", "mark_keys", "reason_codes"]

_MIN_ROWS_PER_TASK = 1 << 17   # below this, a thread costs more than it saves
_NO_BITS = np.empty(0, dtype=np.uint8)
_OFFSETS = {  # Arrow type id -> offset width, for the layouts the kernels read directly
    pa.string().id: np.int32, pa.binary().id: np.int32,
    pa.large_string().id: np.int64, pa.large_binary().id: np.int64,
}  # fmt: skip
_AS_BINARY = {pa.string().id: pa.binary(), pa.large_string().id: pa.large_binary()}
_VIEWS = {pa.string_view().id, pa.binary_view().id}
_NULL_ID = pa.null().id
_DICTIONARY_ID = pa.dictionary(pa.int32(), pa.string()).id
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def format_valid(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.BooleanArray | pa.ChunkedArray:
    """Whether each value is a valid ``fmt``; NULL where the value is NULL.

    Args:
        values: A string, large_string or string_view array (binary types and
            dictionary-encoded strings work too); sliced and chunked arrays are fine.
        fmt: One of ``FORMATS``.

    Returns:
        A boolean array of the same length, chunked like ``values``.

    Raises:
        ValueError: If ``fmt`` is not a known format.
        TypeError: If ``values`` is not an array of strings.
    """
    code = _format_code(fmt)
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array(_valid_arrays(values.chunks, code), type=pa.bool_())
    return _valid_arrays([_check_array(values)], code)[0]


def count_invalid(values: pa.Array | pa.ChunkedArray, fmt: str) -> tuple[int, int]:
    """Count invalid values without building a boolean array.

    Args:
        values: As for :func:`format_valid`.
        fmt: One of ``FORMATS``.

    Returns:
        ``(invalid, non_null)``: NULLs are in neither count.

    Raises:
        ValueError: If ``fmt`` is not a known format.
        TypeError: If ``values`` is not an array of strings.
    """
    code = _format_code(fmt)
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [_check_array(values)]
    invalid = non_null = 0
    tasks: list[Callable[[], tuple[int, int]]] = []
    for chunk in chunks:
        arr = _plain_strings(chunk)
        if arr.type.id == _DICTIONARY_ID or not COMPILED:
            valid = _valid_arrays([arr], code)[0]
            non_null += len(valid) - valid.null_count
            invalid += len(valid) - valid.null_count - int(np.count_nonzero(_bools(valid)))
        elif arr.null_count < len(arr):
            offsets, data, validity = _buffers(arr)
            tasks += [
                _bind(_formats.count_range, code, offsets, data, validity, arr.offset, start, stop)
                for start, stop in _ranges(len(arr))
            ]
    for bad, present in _run(tasks, sum(len(c) for c in chunks)):
        invalid += bad
        non_null += present
    return invalid, non_null


def mark_keys(offsets: np.ndarray, seen: np.ndarray, twice: np.ndarray, span: int) -> int | None:
    """Record key offsets in the ``seen``/``twice`` bitmaps (see ``keys.pyx``).

    Args:
        offsets: uint32 key values minus the key's minimum, no NULLs.
        seen, twice: uint8 bitmaps of at least ``span`` bits, updated in place.
        span: the number of possible offsets.

    Returns:
        The change in the number of values seen exactly once, or None if an offset is
        not below ``span`` (nothing after it is marked).
    """
    offsets = np.ascontiguousarray(offsets, dtype=np.uint32)
    if COMPILED:
        return _keys.mark(offsets, seen, twice, span)  # type: ignore[no-any-return]
    return reference.mark_keys(offsets.tolist(), seen, twice, span)


def reason_codes(masks: Sequence[pa.BooleanArray | pa.ChunkedArray | np.ndarray]) -> np.ndarray:
    """Pack up to 64 failure masks into one uint64 reason code per row.

    Args:
        masks: One mask per rule, all of one length; True means the row failed
            rule k, NULL counts as not failing. Arrow booleans (chunked or not) or
            numpy bool arrays.

    Returns:
        uint64 array: bit k of row i is set when ``masks[k][i]`` is True.

    Raises:
        ValueError: With no masks, more than 64, or masks of different lengths.
        TypeError: If a mask is neither an Arrow boolean nor a numpy bool array.
    """
    if not 0 < len(masks) <= 64:
        msg = f"reason_codes takes 1..64 masks, got {len(masks)}"
        raise ValueError(msg)
    length = len(masks[0])
    for k, mask in enumerate(masks):
        ok = isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.ndim == 1
        ok = ok or (isinstance(mask, (pa.Array, pa.ChunkedArray)) and mask.type == pa.bool_())
        if not ok:
            msg = f"mask {k} is {type(mask).__name__}, expected an Arrow boolean or numpy bool array"
            raise TypeError(msg)
        if len(mask) != length:
            msg = f"mask {k} has {len(mask)} rows, mask 0 has {length}"
            raise ValueError(msg)
    if not COMPILED:
        return reference.reason_codes([_bools(m) for m in masks], length)
    out = np.zeros(length, dtype=np.uint64)
    for k, mask in enumerate(masks):
        if isinstance(mask, np.ndarray):
            _reasons.or_bytes(out, 0, np.ascontiguousarray(mask).view(np.uint8), k)
            continue
        start = 0
        for chunk in mask.chunks if isinstance(mask, pa.ChunkedArray) else [mask]:
            validity, values = chunk.buffers()
            if len(chunk):
                _reasons.or_bitmap(
                    out, start, np.frombuffer(values, np.uint8), _validity(chunk, validity), chunk.offset, len(chunk), k
                )
            start += len(chunk)
    return out


def _format_code(fmt: str) -> int:
    try:
        return FORMATS.index(fmt)
    except ValueError:
        msg = f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}"
        raise ValueError(msg) from None


def _check_array(values: object) -> pa.Array:
    if not isinstance(values, pa.Array):
        msg = f"expected a pyarrow Array or ChunkedArray of strings, got {type(values).__name__}"
        raise TypeError(msg)
    return values


def _plain_strings(arr: pa.Array) -> pa.Array:
    """The array as string/large_string/binary/large_binary (or dictionary of those)."""
    kind = arr.type.id
    if kind in _OFFSETS or kind == _NULL_ID:
        return arr
    if kind in _VIEWS:
        return arr.cast(pa.large_binary())
    if kind == _DICTIONARY_ID:
        _plain_strings(arr.dictionary)  # type check only
        return arr
    msg = f"format checks need string values, got an array of {arr.type}"
    raise TypeError(msg)


def _valid_arrays(chunks: Sequence[pa.Array], code: int) -> list[pa.BooleanArray]:
    """format_valid over several arrays, all row ranges sharing one thread pool."""
    results: list[Any] = []
    tasks: list[Callable[[], None]] = []
    for chunk in chunks:
        arr = _plain_strings(chunk)
        n = len(arr)
        if arr.type.id == _DICTIONARY_ID:
            results.append(_valid_arrays([arr.dictionary], code)[0].take(arr.indices))
        elif arr.null_count == n:  # null-typed arrays included
            results.append(pa.nulls(n, pa.bool_()))
        elif not COMPILED:
            raw = arr.view(_AS_BINARY.get(arr.type.id, arr.type))
            raw.validate(full=True)  # corrupt offsets: ArrowInvalid (a ValueError), as compiled
            flags = reference.valid_list(raw.to_pylist(), FORMATS[code])
            results.append(pa.array(flags, pa.bool_()))
        else:
            offsets, data, validity = _buffers(arr)
            out_values = np.empty((n + 7) // 8, dtype=np.uint8)
            out_validity = np.empty_like(out_values) if len(validity) else _NO_BITS
            tasks += [
                _bind(_formats.valid_range, code, offsets, data, validity, arr.offset, start, stop,
                      out_values, out_validity)
                for start, stop in _ranges(n)
            ]  # fmt: skip
            results.append((n, arr.null_count, out_values, out_validity))
    _run(tasks, sum(len(c) for c in chunks))
    return [_to_bool_array(r) if isinstance(r, tuple) else r for r in results]


def _to_bool_array(parts: tuple[int, int, np.ndarray, np.ndarray]) -> pa.BooleanArray:
    n, null_count, out_values, out_validity = parts
    validity = pa.py_buffer(out_validity) if null_count else None
    return pa.BooleanArray.from_buffers(pa.bool_(), n, [validity, pa.py_buffer(out_values)], null_count=null_count)


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets, data and validity of a string array as numpy views (no copies)."""
    validity, offsets, data = arr.buffers()
    offsets_np = np.frombuffer(offsets, dtype=_OFFSETS[arr.type.id], count=arr.offset + len(arr) + 1)
    data_np = np.frombuffer(data, dtype=np.uint8) if data is not None and data.size else _NO_BITS
    return offsets_np, data_np, _validity(arr, validity)


def _validity(arr: pa.Array, validity: pa.Buffer | None) -> np.ndarray:
    if validity is None or arr.null_count == 0:
        return _NO_BITS
    return np.frombuffer(validity, dtype=np.uint8)


def _bools(mask: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """A boolean mask as a numpy bool array with NULL as False."""
    if isinstance(mask, np.ndarray):
        return mask
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _ranges(n: int) -> list[tuple[int, int]]:
    """Split rows 0..n into a few ranges per worker, each start a multiple of 8."""
    if n < 2 * _MIN_ROWS_PER_TASK:
        return [(0, n)]
    pieces = max(1, min(4 * _workers(), n // _MIN_ROWS_PER_TASK))
    step = -(-n // pieces // 8) * 8 or 8
    return [(start, min(start + step, n)) for start in range(0, n, step)]


@functools.cache
def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _bind(fn: Callable[..., Any], *args: object) -> Callable[[], Any]:
    return lambda: fn(*args)


def _run(tasks: list[Callable[[], Any]], rows: int) -> list[Any]:
    """Run tasks over ``rows`` rows in all, on the shared pool when that pays off."""
    global _pool  # noqa: PLW0603
    if len(tasks) <= 1 or rows < 2 * _MIN_ROWS_PER_TASK or _workers() == 1:
        return [task() for task in tasks]
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():  # a forked child cannot reuse the parent's threads
            _pool = (os.getpid(), ThreadPoolExecutor(_workers(), thread_name_prefix="dqgate-kernels"))
        pool = _pool[1]
    # One task per row range, not one per worker: a worker that gets descheduled
    # then holds up only its current range.
    return [future.result() for future in [pool.submit(task) for task in tasks]]
