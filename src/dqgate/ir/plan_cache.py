"""A contract file's rules kept on disk by the hash of its bytes, for commands that need
only the rules: `dq report --no-check` draws a store's history from them.

Loading a contract is YAML with positions, pydantic validation and sqlglot vetting of
its SQL: ~0.4 s of imports and work before the first rule, every run. The IR it
becomes is a tuple of small frozen records (``ir/nodes.py``) that unpickle with
nothing but this package, so a hit skips all of that.

`dq check --store`, `dq ingest` and `dq report` (the commands of a store) load their
contract through :func:`load`, which keeps the rules as it goes (planning is pure and cheap next to loading), so a store
built by ingests renders its history from the cache the first time too.

An entry's key is the SHA-256 of the contract's exact bytes, the ODCS ``--object``
chosen, dqgate's version, and the code the rules depend on: the fingerprint
``contract/lint_cache.py`` keeps for clean lint verdicts (the contract package and the
installed pydantic, sqlglot and PyYAML), plus this ``ir/`` package's files. Any change
to one of them misses. Only a contract that loaded without error is kept (a bad one
is loaded again to say what is wrong), and an entry that cannot be read back as rules
(truncated, corrupt, from other code) is ignored and written anew. The cache shares
``DQGATE_CACHE_DIR`` / ``DQGATE_CACHE=0`` with the lint cache; entries are pickles in
the user's own cache folder, which only that user can write.

The same mechanism keeps *compiled checks* (``check/`` beside ``plan/``): what `dq check`
of a Parquet file ran, so the next check of that contract replays it without loading
the contract at all (``runners/compiled.py`` builds one, ``runners/replay.py`` runs it).
Their key adds what statements depend on besides the contract: the number of samples
and every file of this package (the compilers and runners write the statements), its
compiled kernels and DuckDB's own module (:func:`compiled_entry`).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dqgate.contract import lint_cache
from dqgate.ir.nodes import Rule

if TYPE_CHECKING:
    from dqgate.contract.contract import Contract

_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class ContractRules:
    """What a command that reads only a contract's rules needs of it (the attributes of
    :class:`~dqgate.contract.contract.Contract` it uses, and the planned rules)."""

    dataset: str
    version: str
    path: str
    sha256: str
    rules: tuple[Rule, ...]


@functools.cache
def _fingerprint() -> bytes:
    from dqgate import __version__

    h = hashlib.sha256(lint_cache.code_fingerprint() + __version__.encode() + b"\0")
    for name in sorted(os.listdir(_HERE)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(_HERE, name))
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.digest()


@functools.cache
def _package_fingerprint() -> bytes:
    """Every file of dqgate (sources, kernels, the DuckDB extension) and DuckDB's module."""
    import importlib.util

    h = hashlib.sha256(_fingerprint())
    package = os.path.dirname(_HERE)
    paths = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        paths += [os.path.join(folder, f) for f in sorted(files) if f.endswith((".py", ".so", ".pyd", ".duckdb_extension", ".json"))]
    spec = importlib.util.find_spec("duckdb")
    if spec is not None and spec.origin:
        paths.append(spec.origin)
    lint_cache.add_file_stats(h, paths)
    return h.digest()


def compiled_entry(text: bytes, samples: int) -> str | None:
    """Where the compiled check of the contract whose bytes are ``text`` is kept, for
    ``samples`` failing rows a rule (None when caching is off)."""
    folder = lint_cache.cache_folder("check")
    if folder is None:
        return None
    return os.path.join(folder, hashlib.sha256(_package_fingerprint() + f"{samples}\0".encode() + text).hexdigest())


def read_compiled(entry: str) -> object | None:
    """The compiled check kept at ``entry``; None when there is none or it cannot be read back."""
    import pickle

    try:
        with open(entry, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own entry in the user's own cache folder
    except Exception:  # missing, truncated, corrupt, or pickled by other code: a miss, rebuilt
        return None


def write_compiled(entry: str, value: object) -> None:
    """Keep ``value`` at ``entry`` (atomically; a cache that cannot be written is no error)."""
    _write(entry, value)  # type: ignore[arg-type]


def _entry(text: bytes, odcs_object: str | None) -> str | None:
    folder = lint_cache.cache_folder("plan")
    if folder is None:
        return None
    chosen = b"" if odcs_object is None else odcs_object.encode("utf-8")
    return os.path.join(folder, hashlib.sha256(_fingerprint() + chosen + b"\0" + text).hexdigest())


def _read(entry: str) -> ContractRules | None:
    import pickle  # here, not at the top: `dq check` on a kept contract only tests that the entry exists

    try:
        with open(entry, "rb") as fh:
            value = pickle.load(fh)  # noqa: S301 - our own entry in the user's own cache folder
    except Exception:  # missing, truncated, corrupt, or pickled by other code: a miss, rebuilt
        return None
    if not isinstance(value, ContractRules) or not all(isinstance(r, Rule) for r in value.rules):
        return None
    return value


def _write(entry: str, value: ContractRules) -> None:
    """Keep ``value``; a cache that cannot be written is no error."""
    import pickle
    import tempfile

    try:
        os.makedirs(os.path.dirname(entry), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except OSError:
        pass


def rules_of(path: str, *, odcs_object: str | None = None) -> ContractRules:
    """The rules of the contract file at ``path`` (its ``odcs_object`` for an ODCS file).

    Raises:
        ContractError: the contract is missing or invalid (never cached).
    """
    text = lint_cache.read(path)
    entry = _entry(text, odcs_object) if text is not None else None
    if entry is not None:
        found = _read(entry)
        if found is not None:
            return ContractRules(found.dataset, found.version, path, found.sha256, found.rules)
    from dqgate.ir.plan import plan

    c = _load(path, odcs_object)
    value = ContractRules(c.dataset, c.version, c.path, c.sha256, plan(c))
    _keep(entry, text, value)
    return value


def load(path: str, *, odcs_object: str | None = None) -> Contract:
    """``load_contract(path, object=odcs_object)``, keeping the contract's rules for
    :func:`rules_of` unless they are kept already.

    Raises:
        ContractError: the contract is missing or invalid (never cached).
    """
    text = lint_cache.read(path)
    c = _load(path, odcs_object)
    entry = _entry(text, odcs_object) if text is not None else None
    if entry is not None and not os.path.exists(entry):  # a corrupt entry is rebuilt by rules_of
        from dqgate.ir.plan import plan

        _keep(entry, text, ContractRules(c.dataset, c.version, c.path, c.sha256, plan(c)))
    return c


def _load(path: str, odcs_object: str | None) -> Contract:
    from dqgate.contract import load_contract

    return load_contract(path, object=odcs_object)


def _keep(entry: str | None, text: bytes | None, value: ContractRules) -> None:
    """Keep ``value`` under ``entry`` if the file was not edited between reading its
    bytes for the key and loading it (its rules must be those of the bytes keyed)."""
    if entry is not None and text is not None and hashlib.sha256(text).hexdigest() == value.sha256:
        _write(entry, value)
