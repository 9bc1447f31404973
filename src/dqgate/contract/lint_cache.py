"""Remember which contract texts linted clean, so `dq lint` over a folder of unchanged
contracts answers without importing the contract machinery (pydantic, sqlglot: most of
its start-up) or parsing anything.

A clean result is kept as an empty file named by a hash of the contract's bytes and of
everything the verdict depends on: the Python version and the files of the code that
decides it (dqgate's contract package, span.py and errors.py, the function catalogue,
and the installed pydantic, sqlglot and PyYAML packages, by size and modification
time, found without importing them). Only clean verdicts are kept: a contract with
problems is linted again to print them. ``DQGATE_CACHE_DIR`` moves the cache
(default ``$XDG_CACHE_HOME/dqgate`` or ``~/.cache/dqgate``); ``DQGATE_CACHE=0`` turns it
off. Nothing here may import more than the standard library.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = os.path.dirname(_HERE)


def cache_folder(kind: str) -> str | None:
    """dqgate's cache folder for ``kind`` (``lint``, ``plan``); None when caching is off."""
    if os.environ.get("DQGATE_CACHE", "").strip() == "0":
        return None
    base = os.environ.get("DQGATE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "dqgate"
    )
    return os.path.join(base, kind)


def _folder() -> str | None:
    return cache_folder("lint")


@functools.cache
def code_fingerprint() -> bytes:
    """What the lint verdict depends on besides the contract's text."""
    h = hashlib.sha256(sys.version.encode())
    files = [os.path.join(_HERE, f) for f in sorted(os.listdir(_HERE)) if f.endswith((".py", ".json"))]
    files += [os.path.join(_PACKAGE, f) for f in ("span.py", "errors.py", "__init__.py")]
    for name in ("pydantic", "pydantic_core", "sqlglot", "yaml"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            files.append(spec.origin)
    add_file_stats(h, files)
    return h.digest()


def add_file_stats(h: "hashlib._Hash", paths: list[str]) -> None:
    """Feed each file's path, size and modification time to ``h`` (a missing file is
    skipped): a cache keyed by it is dropped when any of that code is installed anew."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def _entry(text: bytes) -> str | None:
    folder = _folder()
    if folder is None:
        return None
    return os.path.join(folder, hashlib.sha256(code_fingerprint() + text).hexdigest())


def read(path: str) -> bytes | None:
    """The contract file's bytes (None if it cannot be read: loading it will say why)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def known_clean(text: bytes) -> bool:
    entry = _entry(text)
    return entry is not None and os.path.exists(entry)


def remember_clean(text: bytes) -> None:
    """Record a clean verdict; a cache that cannot be written is no error."""
    entry = _entry(text)
    if entry is None:
        return
    import tempfile  # only to write: a known-clean lint never needs it (nor shutil, which it imports)

    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry), prefix=".tmp-")
        os.close(fd)
        os.replace(tmp, entry)
    except OSError:
        pass
