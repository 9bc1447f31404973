"""History that cannot be rolled back or replayed unnoticed: hash chain, head log, local memory.

A manifest can be correct on its own and still be the wrong one: an older version
shown as the newest after the newest manifest was deleted (rollback), or a
manifest copied in from another history (replay). Three records catch that:

- **The hash chain.** Each manifest binds ``parent_sha256``, the sha256 of its
  parent manifest's file. Rewriting any ancestor breaks every descendant.
- **The head log** ``<dataset>/head.jsonl``: after a publisher creates version N
  it appends one line ``{"version": N, "sha256": <manifest file sha256>}``
  (HMAC-signed with ``DQGATE_SIGNING_KEY``). A reader that finds a version in
  the log but not in ``versions/`` refuses "latest": the newest manifest is gone.
  A manifest whose sha256 differs from the log's line for its version was
  replaced or replayed. With a key set, unsigned or badly signed lines are
  ignored, so a forger cannot invent versions.
- **Local memory** ``$DQGATE_STATE_DIR/seen.json`` (default
  ``~/.local/state/dqgate``): the newest version (and its manifest sha256) each
  machine has opened, per store and dataset. It catches a rollback that also
  truncated the head log, on every machine that saw the newer version. Jobs on
  fresh machines keep it by pointing ``DQGATE_STATE_DIR`` at a persistent path.

What this cannot catch: a store rolled back together with its head log, read by
a machine that never saw the newer version. ``docs/trust.md`` says how to pin a
version in that case.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
from typing import TYPE_CHECKING, Any

from dqgate.errors import StampError
from dqgate.store.stamp import canonical_json, now_utc, verify_stamp, with_signature

if TYPE_CHECKING:
    from dqgate.store.layout import DatasetLayout

HEAD_TAIL = 256 << 10
STATE_ENV = "DQGATE_STATE_DIR"
MAX_REMEMBERED = 2000


def head_path(layout: DatasetLayout) -> str:
    return posixpath.join(layout.dir, "head.jsonl")


def manifest_file_sha256(layout: DatasetLayout, version: int) -> str | None:
    """The sha256 of ``versions/<version>.json`` as stored, or None when it does not exist."""
    try:
        with layout.fs.open_input_stream(layout.manifest_path(version)) as f:
            return hashlib.sha256(f.read()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def record_head(layout: DatasetLayout, version: int, sha256: str, key: bytes | None) -> None:
    """Append version ``version`` (with its manifest's sha256) to the head log, in one write."""
    line = with_signature({"version": version, "sha256": sha256, "time": now_utc()}, key)
    data = canonical_json(line) + b"\n"
    fd = os.open(head_path(layout), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_head(layout: DatasetLayout, key: bytes | None) -> dict[int, str]:
    """Version → manifest sha256 from the last 256 KiB of the head log (lines that hold up only)."""
    path = head_path(layout)
    try:
        with layout.fs.open_input_file(path) as f:
            size = f.size()
            f.seek(max(size - HEAD_TAIL, 0))
            raw = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise StampError(f"{layout.dataset}/head.jsonl cannot be read: {exc}") from exc
    found: dict[int, str] = {}
    for line in raw.split(b"\n"):
        record = _head_line(line, key)
        if record is not None:
            found[record[0]] = record[1]
    return found


def _head_line(line: bytes, key: bytes | None) -> tuple[int, str] | None:
    try:
        record = json.loads(line)
    except ValueError:  # a torn first line of the tail, or a torn last line of a crash
        return None
    if not isinstance(record, dict):
        return None
    version, sha = record.get("version"), record.get("sha256")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1 or not isinstance(sha, str):
        return None
    try:
        verify_stamp(record, key)
    except StampError:
        return None
    return version, sha


def _state_file() -> str:
    base = os.environ.get(STATE_ENV) or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state"), "dqgate"
    )
    return os.path.join(base, "seen.json")


def _state_key(layout: DatasetLayout) -> str:
    root = os.path.realpath(layout.root) if layout.local else f"{layout.scheme}://{layout.root}"
    return f"{root}|{layout.dataset}"


def _load_state() -> dict[str, Any]:
    try:
        with open(_state_file(), "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered(layout: DatasetLayout) -> tuple[int, str] | None:
    """The newest version of this dataset this machine has opened, with its manifest sha256."""
    entry = _load_state().get(_state_key(layout))
    if isinstance(entry, dict) and isinstance(entry.get("version"), int) and isinstance(entry.get("sha256"), str):
        return entry["version"], entry["sha256"]
    return None


def remember(layout: DatasetLayout, version: int, sha256: str) -> None:
    """Note that this machine has opened ``version``; never lowers what is remembered. Best effort."""
    key = _state_key(layout)
    state = _load_state()
    old = state.get(key)
    if isinstance(old, dict) and isinstance(old.get("version"), int) and old["version"] >= version:
        return
    state.pop(key, None)
    state[key] = {"version": version, "sha256": sha256, "time": now_utc()}
    while len(state) > MAX_REMEMBERED:  # oldest first: dicts keep insertion order
        state.pop(next(iter(state)))
    path = _state_file()
    tmp = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(json.dumps(state, indent=0).encode())
        os.replace(tmp, path)


def rollback_problem(layout: DatasetLayout, newest: int | None, head: dict[int, str]) -> str | None:
    """Why the newest manifest in ``versions/`` is not the newest version published, or None."""
    newest = newest or 0
    seen = remembered(layout)
    logged = max(head, default=0)
    if logged > newest:
        return (
            f"version {logged} was published (head.jsonl) but versions/{layout.manifest_name(logged)} is missing: "
            "the newest manifest was deleted or the store rolled back"
        )
    if seen is not None and seen[0] > newest:
        return (
            f"version {seen[0]} was opened on this machine before but versions/{layout.manifest_name(seen[0])} is "
            "missing: the newest manifest was deleted or the store rolled back"
        )
    return None


def manifest_problems(
    layout: DatasetLayout, version: int, parent: int | None, parent_sha256: str | None, raw_sha256: str,
    head: dict[int, str],
) -> list[str]:  # fmt: skip
    """Replay and chain problems of one manifest: its head-log line, its parent link."""
    problems = []
    logged = head.get(version)
    if logged is not None and logged != raw_sha256:
        problems.append(
            f"versions/{layout.manifest_name(version)} is not the manifest that was published as version {version} "
            "(its sha256 differs from head.jsonl): replaced or replayed"
        )
    seen = remembered(layout)
    if seen is not None and seen[0] == version and seen[1] != raw_sha256:
        problems.append(
            f"versions/{layout.manifest_name(version)} differs from the version {version} this machine opened "
            "before: replaced or replayed"
        )
    if parent is None:
        if parent_sha256 is not None:
            problems.append("manifest has a parent_sha256 but no parent")
        return problems
    if parent_sha256 is None:
        problems.append(f"manifest names parent version {parent} without its parent_sha256")
        return problems
    actual = manifest_file_sha256(layout, parent)
    if actual is None:
        problems.append(f"parent version {parent} is missing")
    elif actual != parent_sha256:
        problems.append(
            f"parent_sha256 does not match versions/{layout.manifest_name(parent)}: the history was rewritten"
        )
    return problems
