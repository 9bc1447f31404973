"""The manifest of one snapshot version, and its JSON form.

A manifest is written once, never changed, and read strictly: an unknown key, a
missing key or a value of the wrong type makes it corrupt (:class:`StampError`),
because the stamp's ``body_sha256`` is taken over exactly these keys.

Format 2 added what lets readers trust bytes and history (``docs/trust.md``):
``parent_sha256``, the sha256 of the parent manifest's file (a hash chain, so a
replaced or forged ancestor breaks every descendant), and per file ``segments``,
the BLAKE3 of each byte range of the file (``store/segments.py``), so a partial
read verifies exactly what it reads.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dqgate.errors import StampError
from dqgate.store.segments import Segments, segment_problems

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT = 2


@dataclass(frozen=True)
class FileEntry:
    """One data file of a snapshot; ``path`` is relative to the dataset directory."""

    path: str
    sha256: str
    rows: int
    bytes: int
    batch_id: str
    segments: tuple[tuple[int, str], ...] = ()

    @functools.cached_property
    def segment_table(self) -> Segments:
        return Segments.from_json(self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "rows": self.rows,
            "bytes": self.bytes,
            "batch_id": self.batch_id,
            "segments": [[n, h] for n, h in self.segments],
        }


@dataclass(frozen=True)
class Manifest:
    """What a version contains, how it was checked, and its quality stamp."""

    dataset: str
    version: int
    parent: int | None
    parent_sha256: str | None
    created_at: str
    created_by: str
    batch_ids: tuple[str, ...]
    files: tuple[FileEntry, ...]
    rows: int
    schema: list[dict[str, Any]]
    contract: dict[str, Any]
    checks: dict[str, Any]
    status: str
    stamp: dict[str, Any]
    profile: dict[str, Any] | None = None
    dqgate_version: str = "0.1.0"
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``versions/NNNNNNNN.json`` (key order is for readers only)."""
        return {
            "format": self.format,
            "dataset": self.dataset,
            "version": self.version,
            "parent": self.parent,
            "parent_sha256": self.parent_sha256,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "dqgate_version": self.dqgate_version,
            "status": self.status,
            "rows": self.rows,
            "batch_ids": list(self.batch_ids),
            "contract": self.contract,
            "schema": self.schema,
            "files": [f.to_dict() for f in self.files],
            "checks": self.checks,
            "profile": self.profile,
            "stamp": self.stamp,
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()

    @property
    def file_paths(self) -> list[str]:
        return [f.path for f in self.files]


_TYPES: dict[str, tuple[type, ...]] = {
    "format": (int,),
    "dataset": (str,),
    "version": (int,),
    "parent": (int, type(None)),
    "parent_sha256": (str, type(None)),
    "created_at": (str,),
    "created_by": (str,),
    "dqgate_version": (str,),
    "status": (str,),
    "rows": (int,),
    "batch_ids": (list,),
    "contract": (dict,),
    "schema": (list,),
    "files": (list,),
    "checks": (dict,),
    "profile": (dict, type(None)),
    "stamp": (dict,),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE_TYPES: dict[str, type] = {
    "path": str, "sha256": str, "rows": int, "bytes": int, "batch_id": str, "segments": list,
}  # fmt: skip


def manifest_from_dict(data: Any, *, where: str) -> Manifest:
    """Build a Manifest from parsed JSON.

    Raises:
        StampError: the object does not have exactly the manifest keys and types.
    """
    if not isinstance(data, dict):
        raise StampError(f"{where}: manifest is not a JSON object")
    if data.get("format") != FORMAT:
        msg = f"{where}: unknown manifest format {data.get('format')!r} (this dqgate reads format {FORMAT})"
        raise StampError(msg)
    unknown = sorted(set(data) - set(_TYPES))
    missing = sorted(set(_TYPES) - set(data))
    if unknown or missing:
        msg = f"{where}: manifest is corrupt (unknown keys {unknown}, missing keys {missing})"
        raise StampError(msg)
    for key, types in _TYPES.items():
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            msg = f"{where}: manifest key {key!r} has the wrong type ({type(value).__name__})"
            raise StampError(msg)
    files = []
    for i, entry in enumerate(data["files"]):
        if not isinstance(entry, dict) or set(entry) != set(_FILE_TYPES):
            raise StampError(f"{where}: manifest files[{i}] is corrupt")
        for key, typ in _FILE_TYPES.items():
            if not isinstance(entry[key], typ) or isinstance(entry[key], bool):
                raise StampError(f"{where}: manifest files[{i}].{key} has the wrong type")
        if not _SHA256.fullmatch(entry["sha256"]):
            raise StampError(f"{where}: manifest files[{i}].sha256 is not a sha256 hex digest")
        problem = segment_problems(entry["segments"], entry["bytes"])
        if problem:
            raise StampError(f"{where}: manifest files[{i}] {problem}")
        files.append(FileEntry(**{**entry, "segments": tuple((n, h) for n, h in entry["segments"])}))
    if data["parent_sha256"] is not None and not _SHA256.fullmatch(data["parent_sha256"]):
        raise StampError(f"{where}: manifest parent_sha256 is not a sha256 hex digest")
    if not all(isinstance(b, str) for b in data["batch_ids"]):
        raise StampError(f"{where}: manifest batch_ids must be strings")
    return Manifest(
        format=data["format"],
        dataset=data["dataset"],
        version=data["version"],
        parent=data["parent"],
        parent_sha256=data["parent_sha256"],
        created_at=data["created_at"],
        created_by=data["created_by"],
        dqgate_version=data["dqgate_version"],
        batch_ids=tuple(data["batch_ids"]),
        files=tuple(files),
        rows=data["rows"],
        schema=data["schema"],
        contract=data["contract"],
        checks=data["checks"],
        status=data["status"],
        stamp=data["stamp"],
        profile=data["profile"],
    )


def parse_manifest(raw: bytes, *, where: str) -> tuple[Manifest, dict[str, Any]]:
    """Parse manifest bytes; returns the Manifest and the raw JSON object (for hashing).

    Raises:
        StampError: the bytes are not a well-formed manifest.
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError covers integers over 4,300 digits
        msg = f"{where}: manifest is not valid JSON ({str(exc).splitlines()[0]})"
        raise StampError(msg) from exc
    except RecursionError:
        msg = f"{where}: manifest nests too deeply to be one dqgate wrote"
        raise StampError(msg) from None
    return manifest_from_dict(data, where=where), data


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """The Arrow schema as ``[{name, type, nullable}]`` (types as Arrow prints them)."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
