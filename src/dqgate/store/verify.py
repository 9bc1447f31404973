"""Integrity checks of snapshots: stamp math, file presence, history, and (full) content hashes.

Each check returns a list of problems (empty: fine). ``open_snapshot`` raises on the
first; ``verify_store`` collects them all over every version, and also walks the
hash chain and compares the versions with the head log (``store/chain.py``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from dqgate.errors import StampError, StoreError
from dqgate.store.chain import manifest_problems, read_head, rollback_problem
from dqgate.store.layout import dataset_layout, is_object_rel, require_dataset
from dqgate.store.localfs import FileType
from dqgate.store.publish import read_manifest_sha, version_numbers
from dqgate.store.segments import segment_file
from dqgate.store.stamp import PUBLISHABLE, read_file_stamp, signing_key, snapshot_stamp_problems, verify_stamp

if TYPE_CHECKING:
    from dqgate.store.layout import DatasetLayout
    from dqgate.store.manifest import FileEntry, Manifest

CHUNK = 8 << 20


def structure_problems(layout: DatasetLayout, manifest: Manifest) -> list[str]:
    """File entries that are not content-addressed objects of this dataset."""
    problems = []
    if not manifest.files:
        problems.append("manifest lists no files")
    seen: set[str] = set()
    for entry in manifest.files:
        if entry.path in seen:
            problems.append(f"file {entry.path} is listed twice: its rows would be read twice")
        seen.add(entry.path)
        if not is_object_rel(entry.path) or entry.path != layout.object_rel(entry.sha256):
            problems.append(f"file {entry.path!r} is not the content address of sha256 {entry.sha256}")
    return problems


def presence_problems(layout: DatasetLayout, manifest: Manifest) -> list[str]:
    """Files that are missing or have the wrong size (one ``get_file_info`` call)."""
    entries = _unique(manifest.files)
    infos = layout.fs.get_file_info([layout.abs(e.path) for e in entries])
    problems = []
    for entry, info in zip(entries, infos):
        if info.type != FileType.File:
            problems.append(f"file {entry.path} is missing")
        elif info.size != entry.bytes:
            problems.append(f"file {entry.path} has {info.size} bytes, the manifest says {entry.bytes}")
    return problems


def content_problems(
    layout: DatasetLayout, manifest: Manifest, key: bytes | None, *, cache: dict[str, list[str]] | None = None
) -> list[str]:
    """Files whose sha256, footer stamp or row count disagree with the manifest.

    ``cache`` maps a file path to its problems, so an object named by many versions is
    hashed once per ``verify_store``.
    """
    cache = {} if cache is None else cache
    todo = [e for e in _unique(manifest.files) if e.path not in cache]
    if len(todo) < 2 or sum(e.bytes for e in todo) < CHUNK:  # threads only pay off on real data
        for entry in todo:
            cache[entry.path] = _file_problems(layout, entry, key)
    else:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1, len(todo))) as pool:
            for entry, found in zip(todo, pool.map(lambda e: _file_problems(layout, e, key), todo)):
                cache[entry.path] = found
    return [p for e in _unique(manifest.files) for p in cache[e.path]]


def _file_problems(layout: DatasetLayout, entry: FileEntry, key: bytes | None) -> list[str]:
    path = layout.abs(entry.path)
    try:
        scanned = segment_file(layout.fs, path, entry.bytes)
    except FileNotFoundError:
        return [f"file {entry.path} is missing"]
    except StampError as exc:
        return [f"file {entry.path} is corrupt: {exc}"]
    if scanned.sha256 != entry.sha256:
        return [f"file {entry.path} is corrupt: its sha256 is {scanned.sha256}"]
    if tuple(zip(scanned.segments.lengths, scanned.segments.digests)) != entry.segments:
        return [f"file {entry.path}: the manifest's segment table does not match the file"]
    meta = scanned.metadata
    try:
        stamp = read_file_stamp(meta.metadata, where=f"file {entry.path}")
        verify_stamp(stamp, key)
    except StampError as exc:
        return [str(exc)]
    problems = []
    expected = {"dataset": layout.dataset, "batch_id": entry.batch_id, "rows": entry.rows}
    for name, want in expected.items():
        if stamp.get(name) != want:
            problems.append(f"file {entry.path}: footer stamp {name} is {stamp.get(name)!r}, expected {want!r}")
    if stamp.get("status") not in PUBLISHABLE:
        problems.append(f"file {entry.path}: footer stamp status {stamp.get('status')!r} is not 'pass' or 'warn'")
    if meta.num_rows != entry.rows:
        problems.append(f"file {entry.path} has {meta.num_rows} rows, the manifest says {entry.rows}")
    if (stamp.get("data_sha256"), stamp.get("data_bytes")) != (scanned.data_sha256, scanned.data_bytes):
        problems.append(f"file {entry.path}: footer stamp data_sha256 does not match the file's data pages")
    return problems


def _unique(entries: tuple[FileEntry, ...]) -> list[FileEntry]:
    seen: dict[str, FileEntry] = {}
    for e in entries:
        seen.setdefault(e.path, e)
    return list(seen.values())


def snapshot_problems(
    layout: DatasetLayout,
    manifest: Manifest,
    raw: dict[str, Any],
    key: bytes | None,
    *,
    full: bool,
    cache: dict[str, list[str]] | None = None,
) -> list[str]:
    """Every problem of one version, cheapest checks first; stops before hashing a broken manifest."""
    problems = snapshot_stamp_problems(raw, key) + structure_problems(layout, manifest)
    if problems:
        return problems
    problems = presence_problems(layout, manifest)
    if full and not problems:
        problems = content_problems(layout, manifest, key, cache=cache)
    return problems


def verify_store(store: str, dataset: str, *, full: bool) -> list[str]:
    """Check every version of ``dataset``; returns the problems found ("version 3: …").

    Checks each manifest's JSON, stamp (and HMAC when ``DQGATE_SIGNING_KEY`` is set),
    parent link and hash chain, its sha256 against the head log, that no published
    version is missing at the top (a rollback), and that its files exist with the
    right size; with ``full``, also every file's sha256, segment hashes, footer
    stamp (whose ``data_sha256`` binds the data pages) and row count. Unnamed objects and temporary
    files are not problems (``gc`` removes them).

    Raises:
        StoreError: the store or dataset does not exist.
    """
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    key = signing_key()
    problems: list[str] = []
    cache: dict[str, list[str]] = {}
    versions = version_numbers(layout)
    head = read_head(layout, key)
    rollback = rollback_problem(layout, versions[-1] if versions else None, head)
    if rollback:
        problems.append(rollback)
    for i, version in enumerate(versions):
        expected_parent = versions[i - 1] if i else None
        try:
            manifest, raw, sha = read_manifest_sha(layout, version)
        except StoreError as exc:
            problems.append(f"version {version}: {exc}")
            continue
        found = snapshot_problems(layout, manifest, raw, key, full=full, cache=cache)
        found += manifest_problems(layout, version, manifest.parent, manifest.parent_sha256, sha, head)
        if manifest.parent != expected_parent:
            found.append(f"parent is {manifest.parent}, expected {expected_parent}")
        if version != (expected_parent or 0) + 1:
            found.append(f"versions {(expected_parent or 0) + 1}..{version - 1} are missing")
        problems.extend(f"version {version}: {p}" for p in found)
    return problems
