"""Remove what no manifest names: orphaned objects and temporary files left by crashes.

Safety rules, in order:

1. Never delete an object a manifest names. If any manifest cannot be read, gc
   refuses to run, since it cannot know what that manifest names.
2. Only delete files gc understands: ``objects/ab/<sha256>.parquet``,
   ``objects/_tmp/*`` and ``versions/.tmp-*.json``. Anything else is left alone.
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
from dqgate.store.layout import TMP_DIR, dataset_layout, is_manifest_tmp, is_object_rel, require_dataset
from dqgate.store.lease import collector_lease
from dqgate.store.localfs import FileType
from dqgate.store.publish import read_manifest, version_numbers

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
        seen.add(version)
    return named, seen


def _candidates(layout: DatasetLayout, named: set[str], min_age: float) -> list[str]:
    now = time.time()
    infos = layout.listing(layout.objects_dir, recursive=True)
    infos += layout.listing(layout.versions_dir)
    out = []
    for info in infos:
        if info.type != FileType.File:
            continue
        rel = layout.rel(info.path)
        leftover = rel.startswith(f"objects/{TMP_DIR}/") or (
            rel.startswith("versions/") and is_manifest_tmp(info.base_name)
        )
        orphan = is_object_rel(rel) and rel not in named
        if not (leftover or orphan):
            continue
        mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
        if now - mtime >= min_age:
            out.append(rel)
    return out
