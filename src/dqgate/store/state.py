"""The mergeable state kept beside each version: opaque JSON, content-addressed.

An append is judged over parent ∪ batch (``gate/snapshot_scope.py``); to do that
without rescanning the parent, each version keeps the aggregates its rules merge
from (counts, sums, moments, ...). The store does not know what the JSON means: it
writes it once under ``<dataset>/state/<sha256>.json`` (temporary name, fsync,
rename, so a crash leaves no half-written state under a final name) and returns a
reference ``{"path", "sha256", "bytes"}`` that the manifest records and the stamp
binds. Reading re-hashes the bytes: a missing, truncated or altered state is
reported as a problem, never returned, and the caller rebuilds it by rescanning.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import uuid
from typing import Any

from dqgate.store.durable import write_synced
from dqgate.store.layout import dataset_layout

STATE_DIR = "state"


def write_state(store: str, dataset: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Write ``payload`` once; returns its reference ``{"path", "sha256", "bytes"}``."""
    data = (json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{STATE_DIR}/{sha}.json"
    write_once(store, dataset, rel, data)
    return {"path": rel, "sha256": sha, "bytes": len(data)}


def read_state(store: str, dataset: str, ref: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None), or (None, why it cannot be trusted)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("path"), str) or not isinstance(ref.get("sha256"), str):
        return None, "no state recorded"
    layout = dataset_layout(store, dataset)
    try:
        with open(layout.abs(ref["path"]), "rb") as fh:
            data = fh.read()
    except OSError:
        return None, f"state {ref['path']} is missing"
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        return None, f"state {ref['path']} does not match its sha256"
    try:
        payload = json.loads(data)
    except ValueError:
        return None, f"state {ref['path']} is not JSON"
    return (payload, None) if isinstance(payload, dict) else (None, f"state {ref['path']} is not an object")


def write_once(store: str, dataset: str, rel: str, data: bytes) -> str:
    """Write ``data`` to ``rel`` (under the dataset) through a synced temporary file and a rename."""
    layout = dataset_layout(store, dataset)
    final = layout.abs(rel)
    folder = posixpath.dirname(final)
    os.makedirs(folder, exist_ok=True)
    tmp = posixpath.join(folder, f".tmp-{uuid.uuid4().hex}")
    write_synced(tmp, data, exclusive=True)
    os.replace(tmp, final)  # content-addressed: a racer writing the same name writes the same bytes
    return final
