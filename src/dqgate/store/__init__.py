"""The versioned, quality-stamped snapshot store.

```
<store>/<dataset>/
  objects/ab/ab12…ef.parquet    immutable zstd Parquet, named by the sha256 of its bytes
  versions/00000012.json        manifest: files + hashes + segment hashes, rows, schema, contract,
                                checks, parent_sha256 (hash chain), stamp
  head.jsonl                    one line per published version: its manifest's sha256 (rollback, replay)
  publish.lock                  the publish lease: publishers shared, gc exclusive
  quarantine/<batch-id>/        rejected batches with report.json (written by the gate)
  lineage.jsonl                 who read which version, when
```

Reads verify every byte they use by default (``docs/trust.md``): segments
(``segments.py``) hashed at publish, checked as read (``verified.py``,
``staging.py``); history checked by ``chain.py``; gc kept off in-flight objects
by ``lease.py``.

Write-audit-publish::

    info = write_object(store, "flights", table, stamp={"batch_id": b, "contract_sha256": h, "status": "pass"})
    manifest = publish(store, "flights", [info], mode="append", contract=c, checks=result, batch_id=b)
    snap = open_snapshot(store, "flights", consumer="train.py")   # refuses unstamped data
    table = snap.to_arrow()

Refinements of DESIGN.md, decided here:

- **The file stamp has no version.** A data file is written before its version
  number exists: the number is fixed only when the manifest wins its exclusive
  create, and a loser retries on N+1 with the same files. So each file's footer
  (key-value metadata ``dqgate.stamp``) carries dataset, batch_id, contract_sha256,
  status, rows, created_at and dqgate_version (+ ``hmac``); the manifest's stamp
  carries the version and binds the files through ``files_sha256``.
- **The manifest stamp also binds the whole manifest** through ``body_sha256`` (the
  sha256 of the canonical JSON of the manifest without its stamp), so an edit to
  any field, e.g. the recorded check results, breaks the stamp, and with a signing
  key the HMAC. The manifest also records ``format`` (2) and ``dqgate_version``.
  Without a key the hashes catch corruption and careless edits, not a forger, who
  can recompute them; only the HMAC stops a forger.
- **Exclusive create is ``link(2)`` of a fully written temporary manifest** (with
  ``O_CREAT|O_EXCL`` as the fallback where hard links are unsupported): as exclusive
  as ``O_EXCL``, and a crash can never leave a half-written manifest visible.
  Object stores have no exclusive create through ``pyarrow.fs``: publishing there
  raises ``StoreError``; reading works.
- **Objects are written to ``objects/_tmp/`` and moved** to their content address,
  and are invisible until a manifest names them; ``gc`` removes leftovers older
  than a grace period (``min_age``, one hour by default), and never while a
  publisher holds the publish lease (``lease.py``), so it cannot race a
  publisher that has written objects but not yet its manifest.
- Non-finite floats in ``checks`` and ``profile`` are stored as ``null`` (JSON has
  no NaN), so the manifest's hashes survive a JSON round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dqgate.store.diff import diff as diff
from dqgate.store.gc import gc as gc
from dqgate.store.layout import list_datasets as list_datasets
from dqgate.store.lineage import read_lineage as read_lineage
from dqgate.store.manifest import FileEntry as FileEntry
from dqgate.store.manifest import Manifest as Manifest
from dqgate.store.publish import latest_version as latest_version
from dqgate.store.publish import list_versions as list_versions
from dqgate.store.publish import load_manifest as load_manifest
from dqgate.store.publish import publish as publish
from dqgate.store.read import Snapshot as Snapshot
from dqgate.store.read import open_snapshot as open_snapshot
from dqgate.store.read import verify_file as verify_file
from dqgate.store.stamp import sign as sign
from dqgate.store.stamp import verify_stamp as verify_stamp
from dqgate.store.verify import verify_store as verify_store

if TYPE_CHECKING:
    from dqgate.store.objects import ObjectInfo as ObjectInfo
    from dqgate.store.objects import write_object as write_object


def __getattr__(name: str) -> Any:
    """``write_object`` and ``ObjectInfo`` on first use: writing imports pyarrow, reading does not."""
    if name in ("write_object", "ObjectInfo"):
        from dqgate.store import objects

        return getattr(objects, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FileEntry",
    "Manifest",
    "ObjectInfo",
    "Snapshot",
    "diff",
    "gc",
    "latest_version",
    "list_datasets",
    "list_versions",
    "load_manifest",
    "open_snapshot",
    "publish",
    "read_lineage",
    "sign",
    "verify_file",
    "verify_stamp",
    "verify_store",
    "write_object",
]
