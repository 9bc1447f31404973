"""Write-audit-publish: objects first, the manifest last, by an exclusive create.

``publish`` audits the objects a batch wrote (present, right size, footer stamp
of this dataset and batch, one schema that matches the parent's on append), then
takes the next version number by creating ``versions/NNNNNNNN.json`` exclusively:

- the manifest is written in full to ``versions/.tmp-<uuid>.json`` and fsynced,
  then hard-linked to its final name. ``link`` fails when the name exists, so it
  is an exclusive create that is also atomic: a reader never sees a half-written
  manifest, even after ``kill -9``. (A bare ``O_CREAT|O_EXCL`` create followed by
  a write would leave an empty manifest if the writer died between the two.)
  Where the filesystem has no hard links, ``os.open(O_CREAT|O_EXCL)`` plus one
  write is the fallback.
- the loser of a race gets ``FileExistsError``, re-reads the new parent, and
  retries on N+1.
- object stores (S3, GCS, …) offer no exclusive create through ``pyarrow.fs``,
  so publishing there raises ``StoreError("exclusive create not supported on
  <scheme>")``. Reading works on any ``pyarrow.fs`` filesystem.

Before the manifest is created, under the publish lease (``store/lease.py``, so
gc cannot delete meanwhile), every object the new version names must exist with
its recorded size, and this batch's objects are read once more: their sha256,
their footer stamp's ``data_sha256``, and the per-segment hashes the manifest
records (``store/segments.py``). The manifest binds its parent's sha256 (a hash
chain), and once created, its version and sha256 are appended to
``head.jsonl`` (``store/chain.py``).

Publishing is idempotent per batch: when any version already records the
batch id, nothing is written and that version's manifest is returned. Appends
repeat their parent's batch ids, so the check reads one manifest per replace
(see ``_find_batch``), and a publisher that loses a race re-checks the versions
that appeared meanwhile, so two retries of one batch publish it once.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import os
import random
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from dqgate.errors import StampError, StoreError, UsageError
from dqgate.store.chain import manifest_file_sha256, record_head
from dqgate.store.durable import fsync_dir as _fsync_dir
from dqgate.store.durable import write_synced as _write_synced
from dqgate.store.layout import DatasetLayout, check_name, dataset_layout, parse_manifest_name, require_dataset
from dqgate.store.lease import publisher_lease
from dqgate.store.localfs import FileType
from dqgate.store.manifest import FORMAT, FileEntry, Manifest, manifest_from_dict, parse_manifest, schema_to_json
from dqgate.store.segments import segment_file
from dqgate.store.stamp import (
    PUBLISHABLE,
    build_snapshot_stamp,
    dqgate_version,
    json_safe,
    now_utc,
    read_file_stamp,
    signing_key,
    snapshot_stamp_problems,
    verify_stamp,
)

if TYPE_CHECKING:
    from dqgate.store.objects import ObjectInfo

MAX_ATTEMPTS = 1000
_NO_LINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def default_user() -> str:
    """``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def list_versions(store: str, dataset: str) -> list[int]:
    """Published version numbers of ``dataset``, ascending (empty when none)."""
    return version_numbers(dataset_layout(store, dataset, reader=True))  # local: plain os calls, no pyarrow import


def latest_version(store: str, dataset: str) -> int | None:
    """The newest published version of ``dataset``, or None."""
    versions = list_versions(store, dataset)
    return versions[-1] if versions else None


def list_manifests(store: str, dataset: str) -> list[Manifest]:
    """The manifests of every version of ``dataset``, oldest first (not stamp-checked).

    Raises:
        StoreError: the store or dataset does not exist, or a manifest is corrupt.
    """
    layout = dataset_layout(store, dataset)
    require_dataset(layout)
    return [read_manifest(layout, v)[0] for v in version_numbers(layout)]


def version_numbers(layout: DatasetLayout) -> list[int]:
    infos = layout.listing(layout.versions_dir)
    found = (parse_manifest_name(i.base_name) for i in infos if i.type == FileType.File)
    return sorted(v for v in found if v is not None)


def load_manifest(store: str, dataset: str, version: int | str = "latest") -> Manifest:
    """The manifest of ``version`` ("latest" or a number) of ``dataset``.

    Raises:
        StoreError: the store, dataset or version does not exist.
        StampError: the manifest is corrupt or names another version.
    """
    return read_manifest(dataset_layout(store, dataset, reader=True), version)[0]


def read_manifest(layout: DatasetLayout, version: int | str) -> tuple[Manifest, dict[str, Any]]:
    manifest, data, _ = read_manifest_sha(layout, version)
    return manifest, data


def read_manifest_sha(layout: DatasetLayout, version: int | str) -> tuple[Manifest, dict[str, Any], str]:
    """The manifest of ``version``, its JSON object, and the sha256 of its file (for the hash chain)."""
    require_dataset(layout)
    if isinstance(version, str) and version != "latest":
        if not version.isdigit():
            msg = f"version must be a number or 'latest', got {version!r}"
            raise UsageError(msg, param="version")
        version = int(version)
    if version == "latest":
        versions = version_numbers(layout)
        if not versions:
            msg = f"dataset {layout.dataset!r} has no published version"
            raise StoreError(msg)
        version = versions[-1]
    assert isinstance(version, int)
    path = layout.manifest_path(version)
    try:
        with layout.fs.open_input_stream(path) as f:
            raw = f.read()
    except FileNotFoundError:
        versions = version_numbers(layout)
        have = f"versions {versions[0]}..{versions[-1]}" if versions else "no versions"
        msg = f"version {version} of dataset {layout.dataset!r} does not exist ({have})"
        raise StoreError(msg) from None
    except OSError as exc:  # e.g. versions/00000002.json is a directory
        msg = f"{layout.dataset}/versions/{layout.manifest_name(version)}: cannot read the manifest ({str(exc).splitlines()[0]})"
        raise StoreError(msg) from None
    where = f"{layout.dataset}/versions/{layout.manifest_name(version)}"
    manifest, data = parse_manifest(raw, where=where)
    if manifest.version != version or manifest.dataset != layout.dataset:
        msg = f"{where}: manifest says dataset {manifest.dataset!r} version {manifest.version}"
        raise StampError(msg, version=version)
    return manifest, data, hashlib.sha256(raw).hexdigest()


def publish(
    store: str,
    dataset: str,
    objects: Sequence[ObjectInfo],
    *,
    mode: Literal["append", "replace"],
    contract: Mapping[str, Any],
    checks: Mapping[str, Any],
    batch_id: str,
    created_by: str | None = None,
    profile: Mapping[str, Any] | None = None,
    revalidate: Callable[[int | None], Mapping[str, Any]] | None = None,
    judged_on: int | None = None,
) -> Manifest:
    """Publish the objects of one checked batch as the next version of ``dataset``.

    Args:
        store: Store path (local; see the module docstring for object stores).
        dataset: Dataset name.
        objects: What ``write_object`` returned for this batch (at least one).
        mode: "append" lists the parent's files plus these; "replace" only these.
        contract: ``{"dataset", "version", "sha256"}`` of the contract checked.
        checks: The result JSON of the check run; its ``status`` must be pass or warn.
        batch_id: Unique id of the batch; publishing it twice is a no-op.
        created_by: Who publishes; ``user@host`` by default.
        profile: Opaque statistics kept for drift checks.
        revalidate: For an append whose checks were judged over ``judged_on`` ∪ batch:
            called with the version it would now append to whenever that is not the
            one judged (a racer published first); returns the checks to record instead,
            or raises to give up (optimistic concurrency with validation).
        judged_on: The parent version ``checks`` were judged against.

    Returns:
        The manifest of the new version, or of the version that already has the batch.

    Raises:
        UsageError: bad mode, dataset name, batch id or empty ``objects``.
        StampError: an object's footer stamp does not belong to this batch.
        StoreError: non-local store, missing object, schema change on append, bad parent.
    """
    layout = dataset_layout(store, dataset)
    check_name(batch_id, what="batch id", param="batch_id")
    if mode not in ("append", "replace"):
        raise UsageError(f"publish mode must be 'append' or 'replace', got {mode!r}", param="mode")
    if not objects:
        raise UsageError("publish needs at least one object", param="objects")
    if not isinstance(contract, Mapping) or not isinstance(contract.get("sha256"), str):
        raise UsageError("contract must be a mapping with a string 'sha256'", param="contract")
    status = checks.get("status") if isinstance(checks, Mapping) else None
    if status not in PUBLISHABLE:
        msg = f"refusing to publish batch {batch_id!r} of {dataset!r}: check status {status!r} is not 'pass' or 'warn'"
        raise StoreError(msg)
    if not layout.local:
        msg = f"exclusive create not supported on {layout.scheme}: publish to a local store"
        raise StoreError(msg)
    versions = version_numbers(layout)
    done = _find_batch(layout, batch_id, versions)
    if done is not None:  # a retry: the batch is already published
        return done
    key = signing_key()
    with publisher_lease(layout):
        return _publish_leased(
            layout, objects, versions, mode=mode, contract=contract, checks=checks, batch_id=batch_id,
            created_by=created_by, profile=profile, key=key, revalidate=revalidate, judged_on=judged_on,
        )  # fmt: skip


def _publish_leased(
    layout: DatasetLayout,
    objects: Sequence[ObjectInfo],
    versions: list[int],
    *,
    mode: str,
    contract: Mapping[str, Any],
    checks: Mapping[str, Any],
    batch_id: str,
    created_by: str | None,
    profile: Mapping[str, Any] | None,
    key: bytes | None,
    revalidate: Callable[[int | None], Mapping[str, Any]] | None = None,
    judged_on: int | None = None,
) -> Manifest:
    dataset = layout.dataset
    new_schema, segments = _audit(layout, objects, batch_id=batch_id, contract_sha256=contract["sha256"], key=key)
    layout.fs.create_dir(layout.versions_dir, recursive=True)
    new_files = [
        FileEntry(path=o.path, sha256=o.sha256, rows=o.rows, bytes=o.bytes, batch_id=batch_id, segments=seg)
        for o, seg in zip(objects, segments)
    ]
    checked = versions[-1] if versions else 0
    for _ in range(MAX_ATTEMPTS):
        for v in versions:
            if v > checked:  # published by a racer since we last looked
                done, _ = read_manifest(layout, v)
                if batch_id in done.batch_ids:
                    return done
        checked = versions[-1] if versions else 0
        parent = versions[-1] if versions else None
        if revalidate is not None and mode == "append" and parent != judged_on:
            checks, judged_on = revalidate(parent), parent
        body = _body(
            layout,
            parent,
            new_files,
            new_schema,
            mode=mode,
            contract=contract,
            checks=checks,
            batch_id=batch_id,
            created_by=created_by or default_user(),
            profile=profile,
            key=key,
        )
        body["stamp"] = build_snapshot_stamp(body, key)
        manifest = manifest_from_dict(body, where=f"{dataset} new version")
        _require_objects(layout, manifest)
        data = manifest.to_json()
        try:
            created = _create_exclusive(layout, manifest.version, data)
        except OSError as exc:
            msg = f"cannot write version {manifest.version} of {dataset!r}: {exc}"
            raise StoreError(msg) from exc
        if created:
            record_head(layout, manifest.version, hashlib.sha256(data).hexdigest(), key)
            return manifest
        time.sleep(random.uniform(0, 0.002))
        versions = version_numbers(layout)
    msg = f"could not publish batch {batch_id!r} of {dataset!r}: lost {MAX_ATTEMPTS} races for a version number"
    raise StoreError(msg)


def _find_batch(layout: DatasetLayout, batch_id: str, versions: list[int]) -> Manifest | None:
    """The manifest of the version that recorded ``batch_id``, or None.

    Every version adds exactly one batch, and an append's ``batch_ids`` repeat its
    parent's, so version v with k batch ids covers versions v-k+1..v: walking back
    by k reads one manifest per replace, not one per version.
    """
    present = set(versions)
    v = versions[-1] if versions else 0
    while v >= 1:
        if v not in present:  # a gap (reported by verify); keep looking
            v -= 1
            continue
        manifest, _ = read_manifest(layout, v)
        if batch_id in manifest.batch_ids:  # return the version that added it
            added = v - len(manifest.batch_ids) + 1 + manifest.batch_ids.index(batch_id)
            return manifest if added == v else read_manifest(layout, added)[0]
        v -= max(1, len(manifest.batch_ids))
    return None


def _audit(
    layout: DatasetLayout, objects: Sequence[ObjectInfo], *, batch_id: str, contract_sha256: str, key: bytes | None
) -> tuple[list[dict[str, Any]], list[tuple[tuple[int, str], ...]]]:
    """Check the batch's objects before naming them; returns their common schema and segment tables."""
    if len({o.path for o in objects}) != len(objects):
        raise StoreError(f"batch {batch_id!r} lists one object twice: its rows would be read twice")
    paths = [layout.abs(o.path) for o in objects]
    for o in objects:
        if o.path != layout.object_rel(o.sha256):
            raise StoreError(f"object path {o.path!r} is not the content address of sha256 {o.sha256}")
    for o, info in zip(objects, layout.fs.get_file_info(paths)):
        if info.type != FileType.File or info.size != o.bytes:
            found = "missing" if info.type != FileType.File else f"{info.size} bytes"
            msg = (
                f"object {o.path} of dataset {layout.dataset!r} is {found}, expected {o.bytes} bytes "
                "(deleted by gc or by hand?); nothing was published"
            )
            raise StoreError(msg)
    schema: list[dict[str, Any]] | None = None
    tables = []
    for o, path in zip(objects, paths):
        scanned = segment_file(layout.fs, path, o.bytes)
        if scanned.sha256 != o.sha256:
            raise StoreError(f"object {o.path} of dataset {layout.dataset!r} changed after it was written")
        tables.append(tuple(zip(scanned.segments.lengths, scanned.segments.digests)))
        meta = scanned.metadata
        stamp = read_file_stamp(meta.metadata, where=o.path)
        if (stamp.get("data_sha256"), stamp.get("data_bytes")) != (scanned.data_sha256, scanned.data_bytes):
            raise StampError(f"object {o.path}: footer stamp data_sha256 does not match the file's data pages")
        verify_stamp(stamp, key)
        expected = {"dataset": layout.dataset, "batch_id": batch_id, "contract_sha256": contract_sha256, "rows": o.rows}
        for name, want in expected.items():
            if stamp.get(name) != want:
                raise StampError(f"object {o.path}: file stamp {name} is {stamp.get(name)!r}, expected {want!r}")
        if meta.num_rows != o.rows:
            raise StampError(f"object {o.path} has {meta.num_rows} rows, expected {o.rows}")
        this = schema_to_json(meta.schema.to_arrow_schema())
        if schema is not None and _shape(this) != _shape(schema):
            raise StoreError(f"objects of batch {batch_id!r} have different schemas")
        schema = this
    assert schema is not None
    return schema, tables


def _require_objects(layout: DatasetLayout, manifest: Manifest) -> None:
    """Every object the new version names exists with its recorded size (one ``get_file_info`` call)."""
    entries = list({f.path: f for f in manifest.files}.values())
    for entry, info in zip(entries, layout.fs.get_file_info([layout.abs(e.path) for e in entries])):
        if info.type != FileType.File or info.size != entry.bytes:
            found = "missing" if info.type != FileType.File else f"{info.size} bytes, not {entry.bytes}"
            msg = (
                f"refusing to publish version {manifest.version} of {layout.dataset!r}: object {entry.path} "
                f"is {found} (deleted by gc or by hand?); nothing was published"
            )
            raise StoreError(msg)


def _shape(schema: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(c.get("name"), c.get("type")) for c in schema]


def _body(
    layout: DatasetLayout,
    parent: int | None,
    new_files: list[FileEntry],
    new_schema: list[dict[str, Any]],
    *,
    mode: str,
    contract: Mapping[str, Any],
    checks: Mapping[str, Any],
    batch_id: str,
    created_by: str,
    profile: Mapping[str, Any] | None,
    key: bytes | None,
) -> dict[str, Any]:
    files = list(new_files)
    batch_ids = [batch_id]
    parent_sha256 = manifest_file_sha256(layout, parent) if parent is not None else None
    if parent is not None and parent_sha256 is None:
        raise StoreError(f"cannot publish on version {parent} of {layout.dataset!r}: its manifest vanished")
    if mode == "append" and parent is not None:
        base, raw = read_manifest(layout, parent)
        problems = snapshot_stamp_problems(raw, key)
        if problems:
            msg = f"cannot append to version {parent} of {layout.dataset!r}: {problems[0]}"
            raise StampError(msg, version=parent)
        if _shape(base.schema) != _shape(new_schema):
            msg = (
                f"cannot append to version {parent} of {layout.dataset!r}: the batch's schema "
                f"{_shape(new_schema)} differs from {_shape(base.schema)}; publish with mode='replace'"
            )
            raise StoreError(msg)
        files = list(base.files) + files
        batch_ids = list(base.batch_ids) + batch_ids
    return {
        "format": FORMAT,
        "dataset": layout.dataset,
        "version": (parent or 0) + 1,
        "parent": parent,
        "parent_sha256": parent_sha256,
        "created_at": now_utc(),
        "created_by": created_by,
        "dqgate_version": dqgate_version(),
        "status": checks["status"],
        "rows": sum(f.rows for f in files),
        "batch_ids": batch_ids,
        "contract": json_safe(dict(contract)),
        "schema": new_schema,
        "files": [f.to_dict() for f in files],
        "checks": json_safe(dict(checks)),
        "profile": json_safe(dict(profile)) if profile is not None else None,
    }


def _create_exclusive(layout: DatasetLayout, version: int, data: bytes) -> bool:
    """Create the manifest of ``version`` unless it exists; True when this call created it."""
    final = layout.manifest_path(version)
    tmp = layout.manifest_tmp_path()
    _write_synced(tmp, data, exclusive=True)
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise StoreError(f"cannot create {final}: {exc}") from exc
        try:
            _write_synced(final, data, exclusive=True)
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    _fsync_dir(layout.versions_dir)
    return True
