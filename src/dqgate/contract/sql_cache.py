"""Vetted SQL fragments and read metric strings kept on disk, so `dq lint` of a contract
whose SQL it has seen before (the pre-commit hook: one contract edited, or a new one
copied from another) answers without importing sqlglot (~0.2 s of its start-up).

What is kept, and why reuse is exact:

* a **vetted fragment** (``sql.vet``: canonical SQL, the columns it reads, whether it
  aggregates) is keyed by its text, whether a metric asked (``aggregate``), and the
  reference datasets the contract declares. Its only other input is which columns the
  contract declares: a kept fragment is reused only when every column it reads is
  declared under that very name (what ``sql.vet``'s in-process reuse asks too); any
  other contract vets it afresh. Column *types* are not part of the key because vetting
  never sees them (``check.py`` passes names only); the hypothesis test in
  ``tests/contract/test_sql_cache.py`` compares whole contracts with random types.
* a **metric string** read by ``metric.parse_metric`` (builtin or SQL, its column, its
  quantile) is keyed by its text; the column it names must be declared under that name.

Only successes are kept (a problem is found again, to print it with its position). Every
key also holds the code the answer depends on: the lint cache's fingerprint (dqgate's
contract package with the function catalogue, span.py, errors.py, pydantic, sqlglot and
PyYAML by size and modification time, the Python version) plus sqlglot's version file
and DuckDB's module. An entry is a file named by the hash of all that, written
atomically (a temporary file renamed over it); it starts with a SHA-256 of the rest and
repeats its key, so a truncated, corrupt or colliding entry is ignored, never trusted.
Lives in ``<cache>/sql`` beside the lint cache; ``DQGATE_CACHE=0`` turns both off.
Nothing here imports more than the standard library.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import os

from dqgate.contract import lint_cache
from dqgate.contract.sql_values import Fragment, ParsedMetric

_FORMAT = 1  # bump when an entry's layout changes


@functools.cache
def _fingerprint() -> bytes:
    h = hashlib.sha256(lint_cache.code_fingerprint() + f"sql-cache {_FORMAT}\0".encode())
    paths = []
    for name, file in (("sqlglot", "_version.py"), ("duckdb", None)):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.append(os.path.join(os.path.dirname(spec.origin), file) if file else spec.origin)
    lint_cache.add_file_stats(h, paths)
    return h.digest()


def _entry(key: tuple) -> str | None:
    # repr, not marshal, names the file: a key of str/bool values has one repr, while
    # marshal's bytes vary with how the strings happen to be shared in the process
    folder = lint_cache.cache_folder("sql")
    if folder is None:
        return None
    return os.path.join(folder, hashlib.sha256(_fingerprint() + repr(key).encode()).hexdigest())


def _read(key: tuple) -> tuple | None:
    """The value kept under ``key``, or None (no entry, caching off, or an entry that is
    not exactly what :func:`_write` wrote for this key)."""
    entry = _entry(key)
    if entry is None:
        return None
    try:
        with open(entry, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    digest, body = raw[:32], raw[32:]
    if len(digest) != 32 or hashlib.sha256(body).digest() != digest:
        return None
    try:
        kept_key, value = marshal.loads(body)
    except Exception:  # noqa: BLE001 - whatever the bytes are, they are not an entry
        return None
    return value if kept_key == key and isinstance(value, tuple) else None


def _write(key: tuple, value: tuple) -> None:
    """Keep ``value`` under ``key``; a cache that cannot be written is no error."""
    entry = _entry(key)
    if entry is None:
        return
    import tempfile  # only to write: a lint that only reads never needs it

    body = marshal.dumps((key, value))
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(body).digest() + body)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def usable(read: tuple[str, ...], columns: dict[str, str]) -> bool:
    """Whether an answer that read the columns ``read`` holds for a contract declaring
    ``columns`` (declared name -> the spelling used): each is declared as itself."""
    return all(columns.get(name) == name for name in read)


def _strings(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, str) for v in value)


def vetted(text: str, *, columns: dict[str, str], references: tuple[str, ...], aggregate: bool) -> Fragment | None:
    """The fragment ``sql.vet`` gave for these arguments before, or None."""
    value = _read(("vet", text, bool(aggregate), tuple(references)))
    if value is None or len(value) != 3:
        return None
    sql, read, is_aggregate = value
    if not isinstance(sql, str) or not _strings(read) or not isinstance(is_aggregate, bool):
        return None
    return Fragment(sql, read, is_aggregate) if usable(read, columns) else None


def _as_declared(columns: dict[str, str]) -> bool:
    """Whether every column is spelled as declared (what a contract gives ``sql.vet``):
    only then does a name the text reads equal the name the answer holds, which reuse
    relies on. Answers given under other mappings (tests) are not kept."""
    return all(name == spelled for name, spelled in columns.items())


def keep_vetted(text: str, *, columns: dict[str, str], references: tuple[str, ...], aggregate: bool, fragment: Fragment) -> None:
    if _as_declared(columns):
        _write(("vet", text, bool(aggregate), tuple(references)), (fragment.sql, tuple(fragment.columns), bool(fragment.is_aggregate)))


def metric(text: str, declared: dict[str, str]) -> ParsedMetric | None:
    """What ``metric.parse_metric`` read ``text`` as before, or None."""
    value = _read(("metric", text))
    if value is None or len(value) != 3:
        return None
    func, column, q = value
    if not isinstance(func, str) or not (column is None or isinstance(column, str)) or not (q is None or type(q) is float):
        return None
    return ParsedMetric(func, column, q) if usable(() if column is None else (column,), declared) else None


def keep_metric(text: str, declared: dict[str, str], parsed: ParsedMetric) -> None:
    if _as_declared(declared):
        _write(("metric", text), (parsed.func, parsed.column, parsed.q))
