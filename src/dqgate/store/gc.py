"""Remove what no manifest names: orphaned objects and temporary files left by crashes.

Safety rules, in order:

1. Never delete an object a manifest names. If any manifest cannot be read, gc
   refuses to run, since it cannot know what that manifest names.
2. Only delete files gc understands: ``objects/ab/<sha256>.parquet``,
   ``objects/_tmp/*``, ``versions/.tmp-*.json``, the mergeable state of appends
   (``state/<sha256>.json``, named by a manifest), the key runs a state names
   (``keys/ab/<sha256>.parquet``) and the ``.tmp-*`` files their writes leave
   (``store/state.py``). Anything else is left alone. A state that exists but cannot
   be trusted (not its sha256, not JSON) makes gc refuse, as an unreadable manifest
   does: gc cannot know which key runs it names.
3. Never look while a publisher is between "my objects exist" and "my manifest
   exists": gc holds the exclusive publish lease (``store/lease.py``) from its
   first listing of manifests to its last delete. Publishers hold it shared, so
   gc waits for the running ones, and one that starts after gc finds any object
   gc deleted missing in its final audit and refuses to publish. This holds even
   with ``min_age=0``.
4. Only delete files older than ``min_age`` seconds (one hour by default): an
   object written by a caller that did not wrap its write and publish in a lease,
   or a store where the lease cannot be taken (not local), is left alone for
   that long. After a crash, ``min_age=0`` removes the leftovers at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dqgate.errors import StoreError
from dqgate.store import key_index
from dqgate.store.layout import SHA256_RE, TMP_DIR, dataset_layout, is_manifest_tmp, is_object_rel, require_dataset
from dqgate.store.lease import collector_lease
from dqgate.store.localfs import FileType
from dqgate.store.publish import read_manifest, version_numbers
from dqgate.store.state import STATE_DIR, read_state

if TYPE_CHECKING:
    from dqgate.store.layout import DatasetLayout

DEFAULT_MIN_AGE = 3600.0


def gc(store: str, dataset: str, *, dry_run: bool = False, min_age: float = DEFAULT_MIN_AGE) -> list[str]:
    """Delete unnamed objects and leftover temporary files of ``dataset``.

    Args:
        store: Store path or URI.
        dataset: Dataset name.
        dry_run: Only report what would be deleted.
        min_age: Leave files younger than this many seconds.

    Returns:
        The deleted (or, with ``dry_run``, deletable) paths, relative to the dataset directory.

    Raises:
        StoreError: the dataset does not exist or a manifest cannot be read.
    """
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    with collector_lease(layout):
        return _collect(layout, dry_run=dry_run, min_age=min_age)


def _collect(layout: DatasetLayout, *, dry_run: bool, min_age: float) -> list[str]:
    named, seen = _named(layout, set(), set())
    candidates = _candidates(layout, named, min_age)
    if not candidates or dry_run:
        return sorted(candidates)
    named, _ = _named(layout, named, seen)  # manifests created while we listed (unleased publishers)
    removed = []
    for rel in sorted(candidates):
        if rel in named:
            continue
        try:
            layout.fs.delete_file(layout.abs(rel))
        except FileNotFoundError:
            continue
        removed.append(rel)
    return removed


def _named(layout: DatasetLayout, named: set[str], seen: set[int]) -> tuple[set[str], set[int]]:
    for version in version_numbers(layout):
        if version in seen:
            continue
        try:
            manifest, _ = read_manifest(layout, version)
        except StoreError as exc:
            msg = f"refusing to gc {layout.dataset!r}: {exc}"
            raise StoreError(msg) from exc
        named.update(manifest.file_paths)
        named.update(_state_files(layout, version, manifest.checks))
        seen.add(version)
    return named, seen


def _state_files(layout: DatasetLayout, version: int, checks: object) -> set[str]:
    """The state file a manifest names and the key runs that state names."""
    ref = checks.get("state") if isinstance(checks, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("path"), str):
        return set()
    payload, problem = read_state(layout.store, layout.dataset, ref)
    if payload is None and not (problem or "").endswith("is missing"):  # a missing state names nothing any more
        msg = f"refusing to gc {layout.dataset!r}: version {version}: {problem}, so the key runs it names are unknown"
        raise StoreError(msg)
    return {ref["path"], *key_index.named_runs(payload or {})}


def _is_state_rel(rel: str) -> bool:
    """``state/<sha256>.json`` or ``keys/ab/<sha256>.parquet``: what an append writes beside its object."""
    parts = rel.split("/")
    if len(parts) == 2 and parts[0] == STATE_DIR and parts[1].endswith(".json"):
        return bool(SHA256_RE.match(parts[1][: -len(".json")]))
    if len(parts) == 3 and parts[0] == key_index.KEYS_DIR and parts[2].endswith(".parquet"):
        sha = parts[2][: -len(".parquet")]
        return bool(SHA256_RE.match(sha)) and parts[1] == sha[:2]
    return False


def _candidates(layout: DatasetLayout, named: set[str], min_age: float) -> list[str]:
    now = time.time()
    infos = layout.listing(layout.objects_dir, recursive=True)
    infos += layout.listing(layout.versions_dir)
    infos += layout.listing(layout.abs(STATE_DIR)) + layout.listing(layout.abs(key_index.KEYS_DIR), recursive=True)
    out = []
    for info in infos:
        if info.type != FileType.File:
            continue
        rel = layout.rel(info.path)
        leftover = rel.startswith(f"objects/{TMP_DIR}/") or (
            rel.startswith("versions/") and is_manifest_tmp(info.base_name)
        ) or (rel.startswith((f"{STATE_DIR}/", f"{key_index.KEYS_DIR}/")) and info.base_name.startswith(".tmp-"))
        orphan = (is_object_rel(rel) or _is_state_rel(rel)) and rel not in named
        if not (leftover or orphan):
            continue
        mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
        if now - mtime >= min_age:
            out.append(rel)
    return out
