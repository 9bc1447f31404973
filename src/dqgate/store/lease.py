"""The publish lease: publishers and gc never overlap on one dataset.

gc deletes objects no manifest names. A publisher's objects are named by no
manifest until its manifest is created, so gc must not look at the store while a
publisher is between "my objects exist" and "my manifest exists". An age limit
(``gc --min-age``) makes that unlikely; it cannot make it impossible, and with
``--min-age 0`` it protects nothing. So both take a lock on
``<dataset>/publish.lock``:

- a publisher holds it **shared** from before it writes its objects (when the
  caller wraps write and publish in :func:`publisher_lease`, as ``dq ingest``
  does) or at least from its final audit of the objects until its manifest
  exists (``publish`` itself), so publishers never wait for each other;
- gc holds it **exclusive** while it lists manifests and deletes, so it sees
  every manifest a publisher created, and a publisher that starts afterwards
  finds gc's deletions in its audit and refuses to publish (nothing half-made).

The lock is ``flock(2)``: released by the kernel when a process dies, so a
crashed publisher leaves no stale lease. Where there is no ``fcntl`` (or the
store is not local; publishing needs a local store anyway) the lease is a no-op
and gc falls back to its age limit. Leases are reentrant within a thread.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dqgate.store.layout import DatasetLayout

LOCK_NAME = "publish.lock"
_depth = threading.local()  # per thread: lock path -> how many leases this thread holds on it


def lock_path(layout: DatasetLayout) -> str:
    return posixpath.join(layout.dir, LOCK_NAME)


@contextlib.contextmanager
def _flock(layout: DatasetLayout, *, exclusive: bool) -> Iterator[None]:
    if fcntl is None or not layout.local:
        yield
        return
    path = lock_path(layout)
    held: dict[str, int] = _depth.__dict__.setdefault("held", {})
    if held.get(path):  # this thread already holds a lease on this dataset
        held[path] += 1
        try:
            yield
        finally:
            held[path] -= 1
        return
    os.makedirs(layout.dir, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        held[path] = 1
        try:
            yield
        finally:
            held[path] = 0
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def publisher_lease(layout: DatasetLayout) -> contextlib.AbstractContextManager[None]:
    """Hold a shared lease: gc neither runs nor deletes while it is held."""
    return _flock(layout, exclusive=False)


def collector_lease(layout: DatasetLayout) -> contextlib.AbstractContextManager[None]:
    """Hold the exclusive lease gc needs: waits for running publishers, blocks new ones."""
    return _flock(layout, exclusive=True)
