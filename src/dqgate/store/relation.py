"""A DuckDB relation over a snapshot that refuses changed bytes with dqgate's own StampError.

DuckDB scans a snapshot through the verifying file object (``store/verified.py``),
so a byte that differs from what was published makes the file object raise
:class:`~dqgate.errors.StampError` inside DuckDB's scan. DuckDB then re-raises
it as its own ``InvalidInputException``, whose message carries the StampError's
text after a Python traceback; which of the two a caller sees depended on the
thread that hit the byte. A training job must be able to catch one thing, so
:class:`VerifiedRelation` runs every call of the relation it wraps and turns a
DuckDB error caused by a refused byte back into the StampError (naming the file
and the byte range). Relations derived from it (``filter``, ``aggregate``,
``project``, ...) are wrapped too, so the whole chain of calls keeps the promise.

What it cannot reach: SQL text runs inside DuckDB before control returns here.
To query the snapshot with SQL, make a view (``rel.create_view("flights")``, then
``con.sql("SELECT ... FROM flights")``); a refused byte there is a
``duckdb.Error`` whose message carries the StampError's text, and
:func:`stamp_error` turns it back (docs/trust.md). DuckDB's replacement scan of a
Python variable does not know this wrapper: use the view, or ``rel.relation``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from dqgate.errors import StampError

if TYPE_CHECKING:
    import duckdb

_STAMP_LINE = re.compile(r"(?:dqgate\.errors\.)?StampError: (.+)")


def stamp_error(exc: BaseException) -> StampError | None:
    """The StampError behind a DuckDB error, or None when a changed byte did not cause it.

    Looks through the exception chain first (DuckDB sometimes keeps the Python
    exception as the cause), then for the ``StampError: <message>`` line that
    DuckDB copies from the Python traceback into its own message.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, StampError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    match = _STAMP_LINE.search(str(exc))
    return StampError(match.group(1).strip()) if match else None


def _guarded(call: Any) -> Any:
    """Run ``call`` (a thunk), wrapping a relation it returns and raising a StampError it hid."""
    import duckdb  # here, not at the top: importing the store must not import DuckDB

    try:
        out = call()
    except duckdb.Error as exc:
        refused = stamp_error(exc)
        if refused is None:
            raise
        raise refused from exc
    return VerifiedRelation(out) if isinstance(out, duckdb.DuckDBPyRelation) else out


class VerifiedRelation:
    """A ``duckdb.DuckDBPyRelation`` stand-in: every attribute and call of the wrapped relation,
    with refused bytes raised as :class:`~dqgate.errors.StampError`.

    Args:
        relation: The DuckDB relation over the snapshot's verified files.
    """

    __slots__ = ("_relation",)

    def __init__(self, relation: duckdb.DuckDBPyRelation) -> None:
        self._relation = relation

    @property
    def relation(self) -> duckdb.DuckDBPyRelation:
        """The wrapped DuckDB relation (its errors are DuckDB's own)."""
        return self._relation

    def __getattr__(self, name: str) -> Any:
        attribute = _guarded(lambda: getattr(self._relation, name))  # some properties run the query (shape)
        if not callable(attribute) or isinstance(attribute, VerifiedRelation):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            return _guarded(lambda: attribute(*args, **kwargs))

        return call

    def __len__(self) -> int:
        return _guarded(lambda: len(self._relation))

    def __getitem__(self, key: Any) -> Any:
        return _guarded(lambda: self._relation[key])

    def __contains__(self, item: Any) -> bool:
        return _guarded(lambda: item in self._relation)

    def __repr__(self) -> str:
        return _guarded(lambda: repr(self._relation))

    def __str__(self) -> str:
        return _guarded(lambda: str(self._relation))

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The relation as an Arrow stream (the PyCapsule interface pyarrow and Polars read)."""
        return _guarded(lambda: self._relation.__arrow_c_stream__(requested_schema))
