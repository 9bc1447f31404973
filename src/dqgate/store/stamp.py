"""The quality stamp: build it, sign it with HMAC-SHA256, check it against what it stamps.

A stamp is a small flat JSON object. Its HMAC (hex, field ``hmac``) is taken over the
*canonical JSON* of every other field: keys sorted, no whitespace, UTF-8. The key
comes from the environment variable ``DQGATE_SIGNING_KEY`` (its UTF-8 bytes).

- With a key set, a stamp without an ``hmac`` or with a wrong one is refused.
- Without a key, an ``hmac`` cannot be checked: the stamp is accepted and reported
  as "signed, not verified" (:func:`signature_status`).

Everything here is pure apart from reading the environment.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_mod
import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from dqgate.errors import StampError

STAMP_KEY = b"dqgate.stamp"
ENV_KEY = "DQGATE_SIGNING_KEY"
PUBLISHABLE = frozenset({"pass", "warn"})
SNAPSHOT_FIELDS = (
    "dataset",
    "version",
    "contract_sha256",
    "status",
    "files_sha256",
    "rows",
    "created_at",
    "dqgate_version",
    "body_sha256",
)
FILE_FIELDS = (
    "dataset", "batch_id", "contract_sha256", "status", "rows", "created_at", "dqgate_version",
    "data_sha256", "data_bytes",
)  # fmt: skip

SignatureStatus = Literal["verified", "signed, not verified", "unsigned"]


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that hashes and HMACs are taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def json_safe(obj: Any) -> Any:
    """A JSON-round-trippable copy of ``obj``.

    Non-finite floats (NaN, ±inf) become None, as JSON has none; tuples become lists;
    NumPy scalars become Python scalars; anything else unknown (dates, decimals)
    becomes its ``str``. Hashes over a manifest rely on this round trip being exact.
    """
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    item = getattr(obj, "item", None)
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    return str(obj)


def signing_key() -> bytes | None:
    """The HMAC key from ``DQGATE_SIGNING_KEY``, or None when unset or empty."""
    value = os.environ.get(ENV_KEY, "")
    return value.encode() if value else None


def now_utc() -> str:
    """The current time as an ISO 8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dqgate_version() -> str:
    """``dqgate.__version__`` when the package defines it, else "0.1.0"."""
    try:
        import dqgate
    except ImportError:  # pragma: no cover
        return "0.1.0"
    version = getattr(dqgate, "__version__", None)
    return version if isinstance(version, str) else "0.1.0"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_sha256(hashes: Iterable[str]) -> str:
    """One hash over a set of file hashes: sha256 of the sorted hex digests, one per line."""
    return sha256_hex("".join(f"{h}\n" for h in sorted(hashes)).encode())


def body_sha256(manifest: Mapping[str, Any]) -> str:
    """The hash of a manifest without its stamp, binding everything the stamp does not repeat."""
    return sha256_hex(canonical_json({k: v for k, v in manifest.items() if k != "stamp"}))


def sign(stamp: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of ``stamp`` without its ``hmac`` field."""
    payload = canonical_json({k: v for k, v in stamp.items() if k != "hmac"})
    return hmac_mod.new(key, payload, hashlib.sha256).hexdigest()


def with_signature(stamp: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """``stamp`` with ``hmac`` set when a key is given, and without one otherwise."""
    out = {k: v for k, v in stamp.items() if k != "hmac"}
    if key:
        out["hmac"] = sign(out, key)
    return out


def verify_stamp(stamp: Mapping[str, Any], key: bytes | None) -> None:
    """Check the stamp's HMAC when a key is given.

    Raises:
        StampError: a key is set and the stamp is unsigned or its HMAC does not verify.
    """
    if not isinstance(stamp, Mapping):
        raise StampError("quality stamp is not a JSON object")
    if not key:
        return
    mac = stamp.get("hmac")
    if not mac:
        raise StampError(f"stamp is unsigned but {ENV_KEY} is set: refusing unsigned data")
    if not isinstance(mac, str) or not hmac_mod.compare_digest(mac, sign(stamp, key)):
        raise StampError(f"stamp HMAC does not verify with {ENV_KEY}: the stamp was forged or signed with another key")


def signature_status(stamp: Mapping[str, Any], key: bytes | None) -> SignatureStatus:
    """How far the signature could be checked (raises StampError when it fails)."""
    if not stamp.get("hmac"):
        verify_stamp(stamp, key)
        return "unsigned"
    if not key:
        return "signed, not verified"
    verify_stamp(stamp, key)
    return "verified"


def build_file_stamp(
    base: Mapping[str, Any],
    *,
    dataset: str,
    rows: int,
    key: bytes | None,
    data_sha256: str | None = None,
    data_bytes: int = 0,
) -> dict[str, Any]:
    """The stamp written into a data file's footer (no version: it is not known yet).

    ``data_sha256`` and ``data_bytes`` are the hash and length of the file's bytes
    before its footer, so the stamp (and its HMAC) binds the data pages.

    Raises:
        StampError: ``base`` lacks batch_id/contract_sha256/status or the status is not publishable.
    """
    missing = [f for f in ("batch_id", "contract_sha256", "status") if not isinstance(base.get(f), str)]
    if missing:
        msg = f"file stamp needs string field(s) {', '.join(missing)}; got keys {sorted(base)}"
        raise StampError(msg)
    if base["status"] not in PUBLISHABLE:
        msg = f"file stamp status {base['status']!r} is not publishable (expected 'pass' or 'warn')"
        raise StampError(msg)
    stamp = dict(json_safe(dict(base)))
    stamp.update(
        dataset=dataset, rows=int(rows), dqgate_version=dqgate_version(), data_sha256=data_sha256, data_bytes=data_bytes
    )
    stamp.setdefault("created_at", now_utc())
    return with_signature(stamp, key)


def read_file_stamp(metadata: Mapping[bytes, bytes] | None, *, where: str) -> dict[str, Any]:
    """The stamp in a Parquet footer's key-value metadata.

    Raises:
        StampError: there is none or it is not a JSON object with the file fields.
    """
    raw = (metadata or {}).get(STAMP_KEY)
    if raw is None:
        msg = f"{where}: no quality stamp (Parquet key-value metadata {STAMP_KEY.decode()!r} is missing)"
        raise StampError(msg)
    try:
        stamp = json.loads(raw)
    except ValueError as exc:
        msg = f"{where}: quality stamp is not valid JSON"
        raise StampError(msg) from exc
    if not isinstance(stamp, dict):
        raise StampError(f"{where}: quality stamp is not a JSON object")
    missing = [f for f in FILE_FIELDS if f not in stamp]
    if missing:
        msg = f"{where}: quality stamp lacks field(s) {', '.join(missing)}"
        raise StampError(msg)
    return stamp


def build_snapshot_stamp(body: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    """The stamp of a manifest ``body`` (the manifest without ``stamp``)."""
    stamp = {
        "dataset": body["dataset"],
        "version": body["version"],
        "contract_sha256": body["contract"].get("sha256"),
        "status": body["status"],
        "files_sha256": files_sha256(f["sha256"] for f in body["files"]),
        "rows": body["rows"],
        "created_at": body["created_at"],
        "dqgate_version": body["dqgate_version"],
        "body_sha256": body_sha256(body),
    }
    return with_signature(stamp, key)


def snapshot_stamp_problems(manifest: Mapping[str, Any], key: bytes | None) -> list[str]:
    """Every way the manifest's stamp disagrees with the manifest (empty: the stamp holds)."""
    stamp = manifest.get("stamp")
    if not isinstance(stamp, Mapping):
        return ["no quality stamp in the manifest"]
    missing = [f for f in SNAPSHOT_FIELDS if f not in stamp]
    if missing:
        return [f"quality stamp lacks field(s) {', '.join(missing)}"]
    problems: list[str] = []
    try:  # first: with a key, a forgery is best reported as one
        verify_stamp(stamp, key)
    except StampError as exc:
        problems.append(str(exc))
    files = manifest.get("files") or []
    expected = {
        "dataset": manifest.get("dataset"),
        "version": manifest.get("version"),
        "rows": manifest.get("rows"),
        "status": manifest.get("status"),
        "created_at": manifest.get("created_at"),
        "dqgate_version": manifest.get("dqgate_version"),
        "contract_sha256": (manifest.get("contract") or {}).get("sha256"),
        "files_sha256": files_sha256(str(f.get("sha256")) for f in files if isinstance(f, Mapping)),
        "body_sha256": body_sha256(manifest),
    }
    for name, want in expected.items():
        if stamp.get(name) != want:
            problems.append(f"stamp {name} {stamp.get(name)!r} does not match the manifest ({want!r})")
    file_rows = sum(int(f.get("rows", 0)) for f in files if isinstance(f, Mapping))
    if manifest.get("rows") != file_rows:
        problems.append(f"manifest rows {manifest.get('rows')!r} is not the sum of its files' rows ({file_rows})")
    if stamp.get("status") not in PUBLISHABLE:
        problems.append(f"stamp status {stamp.get('status')!r} is not 'pass' or 'warn'")
    return problems
