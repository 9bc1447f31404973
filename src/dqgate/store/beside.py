"""Work run in a thread beside the caller's own, until the caller asks for its result.

An append's serial steps are mostly in C that releases the GIL (the kernel's file
copy, sha256, pyarrow's Parquet writer) while the caller runs Python or DuckDB: the
staged copy of a batch runs while the check is planned (``page_copy.staged``), and a
batch's key runs are encoded while the check's statement runs
(``gate/snapshot_scope.py``: ``CheckKeys``). On two cores that hides their wall time.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class Beside(Generic[T]):
    """``work(*args)`` in a thread; :meth:`result` waits and returns it, or raises what it raised.

    Not a daemon: a process that ends before asking (an ingest whose batch is quarantined
    never needs its key runs) waits for the work at exit. A daemon thread still inside
    pyarrow's C++ when the interpreter finalizes is ended with ``pthread_exit``, which
    can abort the process (the exit-time abort of session 6, benchmarks/README.md).
    """

    def __init__(self, work: Callable[..., T], *args: Any, name: str = "dqgate-beside") -> None:
        self._work, self._args = work, args
        self._got: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=False)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._got = self._work(*self._args)
        except BaseException as exc:  # noqa: BLE001 - raised again by result(), in the caller's thread
            self._error = exc

    def wait(self) -> None:
        """Until the work is done (its file closed, say), whatever its outcome."""
        self._thread.join()

    def result(self) -> T:
        """What the work returned.

        Raises:
            Whatever the work raised.
        """
        self.wait()
        if self._error is not None:
            raise self._error
        return self._got  # type: ignore[return-value]
