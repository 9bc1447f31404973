"""Every path and file name in a snapshot store, in one place.

```
<store>/<dataset>/
  objects/ab/ab12…ef.parquet    immutable data files, named by the sha256 of their bytes
  objects/_tmp/<uuid>.tmp       an object being written (invisible; removed by gc)
  objects/_tmp/<uuid>.parquet   a batch file staged for its check and publish (page_copy.staged)
  versions/00000012.json        manifest of version 12
  versions/.tmp-<uuid>.json     a manifest being written (invisible; removed by gc)
  quarantine/<batch-id>/        rejected batches, written by the gate
  lineage.jsonl                 who read which version, when
```

Paths inside a store are ``pyarrow.fs`` paths ("/"-separated). A store is a local
directory or a URI that ``pyarrow.fs.FileSystem.from_uri`` understands.
"""

from __future__ import annotations

import os
import posixpath
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dqgate.errors import StoreError, UsageError
from dqgate.store.localfs import FileType, LocalFiles, selector

if TYPE_CHECKING:
    import pyarrow.fs as pafs

LISTING_ATTEMPTS = 20

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MANIFEST_RE = re.compile(r"^(\d{8,})\.json$")
OBJECT_SUFFIX = ".parquet"
TMP_DIR = "_tmp"
MANIFEST_TMP_PREFIX = ".tmp-"


def check_name(name: str, *, what: str = "dataset", param: str | None = None) -> str:
    """Return ``name`` when it is a safe dataset or batch name.

    Raises:
        UsageError: the name could escape its directory or is not portable.
    """
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        msg = (
            f"invalid {what} name {name!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit, and no '..'"
        )
        raise UsageError(msg, param=param or what)
    return name


def resolve_store(store: str, *, reader: bool = False) -> tuple[pafs.FileSystem, str]:
    """Return the filesystem and root path of ``store`` (a local path or a URI).

    A ``reader`` of a local store gets :class:`~dqgate.store.localfs.LocalFiles`
    (plain ``os`` calls: reading a snapshot with Polars imports no pyarrow);
    everything else gets ``pyarrow.fs``.

    Raises:
        UsageError: the store string is empty or not a URI pyarrow understands.
        StoreError: the store path exists and is not a directory.
    """
    if not isinstance(store, str) or not store:
        raise UsageError("store path must be a non-empty string", param="store")
    if "://" in store:
        import pyarrow.fs as pafs

        try:
            fs, root = pafs.FileSystem.from_uri(store)
        except (ValueError, OSError) as exc:
            msg = f"cannot open store {store!r}: {exc}"
            raise UsageError(msg, param="store") from exc
    else:
        fs = LocalFiles() if reader else LocalFiles().arrow()
        root = posixpath.normpath(_abspath(store))
    root = root.rstrip("/") or "/"
    info = fs.get_file_info(root)
    if info.type not in (FileType.Directory, FileType.NotFound):
        msg = f"store {store!r} is not a directory"
        raise StoreError(msg)
    return fs, root


def _abspath(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path)).replace(os.sep, "/")


def is_local(fs: pafs.FileSystem) -> bool:
    """True when ``fs`` is the local filesystem (the only one with exclusive create)."""
    return isinstance(fs, LocalFiles) or getattr(fs, "type_name", None) == "local"


@dataclass(frozen=True)
class DatasetLayout:
    """The paths of one dataset in one store; pure apart from ``exists``."""

    fs: pafs.FileSystem
    root: str
    dataset: str
    store: str

    @property
    def local(self) -> bool:
        return is_local(self.fs)

    @property
    def scheme(self) -> str:
        return self.fs.type_name

    @property
    def dir(self) -> str:
        return posixpath.join(self.root, self.dataset)

    @property
    def objects_dir(self) -> str:
        return posixpath.join(self.dir, "objects")

    @property
    def tmp_dir(self) -> str:
        return posixpath.join(self.objects_dir, TMP_DIR)

    @property
    def versions_dir(self) -> str:
        return posixpath.join(self.dir, "versions")

    def listing(self, path: str, *, recursive: bool = False) -> list[pafs.FileInfo]:
        """The entries under ``path`` (none if it does not exist).

        A local listing reads the names, then stats each one; a temporary file another
        process renames or removes in between makes pyarrow fail the whole listing with
        FileNotFoundError. Such files come and go within one publish, so the listing is
        taken again (racing publishers hit this; tests/store/test_store_concurrency.py).
        """
        entries = selector(self.fs, path, recursive=recursive)
        for attempt in range(LISTING_ATTEMPTS):
            try:
                return self.fs.get_file_info(entries)
            except FileNotFoundError:
                if attempt == LISTING_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @property
    def quarantine_dir(self) -> str:
        return posixpath.join(self.dir, "quarantine")

    @property
    def lineage_path(self) -> str:
        return posixpath.join(self.dir, "lineage.jsonl")

    def object_rel(self, sha256: str) -> str:
        """``objects/ab/ab12…ef.parquet``, relative to the dataset directory."""
        if not SHA256_RE.match(sha256):
            msg = f"not a sha256 hex digest: {sha256!r}"
            raise StoreError(msg)
        return f"objects/{sha256[:2]}/{sha256}{OBJECT_SUFFIX}"

    def abs(self, rel: str) -> str:
        """The filesystem path of a path relative to the dataset directory."""
        if rel.startswith("/") or ".." in rel.split("/"):
            msg = f"path {rel!r} escapes dataset {self.dataset!r}"
            raise StoreError(msg)
        return posixpath.join(self.dir, rel)

    def rel(self, path: str) -> str:
        return posixpath.relpath(path, self.dir)

    def object_tmp_path(self, suffix: str = ".tmp") -> str:
        return posixpath.join(self.tmp_dir, f"{uuid.uuid4().hex}{suffix}")

    def manifest_name(self, version: int) -> str:
        return f"{version:08d}.json"

    def manifest_path(self, version: int) -> str:
        return posixpath.join(self.versions_dir, self.manifest_name(version))

    def manifest_tmp_path(self) -> str:
        return posixpath.join(self.versions_dir, f"{MANIFEST_TMP_PREFIX}{uuid.uuid4().hex}.json")

    def quarantine_batch_dir(self, batch_id: str) -> str:
        return posixpath.join(self.quarantine_dir, check_name(batch_id, what="batch id", param="batch_id"))

    def quarantine_report_path(self, batch_id: str) -> str:
        return posixpath.join(self.quarantine_batch_dir(batch_id), "report.json")

    def exists(self) -> bool:
        return self.fs.get_file_info(self.dir).type == FileType.Directory


def parse_manifest_name(name: str) -> int | None:
    """The version number of a manifest file name, or None for anything else."""
    m = MANIFEST_RE.match(name)
    return int(m.group(1)) if m else None


def is_object_rel(rel: str) -> bool:
    """True for ``objects/ab/ab…ef.parquet`` (a well-formed, content-addressed name)."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != "objects" or not parts[2].endswith(OBJECT_SUFFIX):
        return False
    sha = parts[2][: -len(OBJECT_SUFFIX)]
    return bool(SHA256_RE.match(sha)) and parts[1] == sha[:2]


def is_manifest_tmp(name: str) -> bool:
    return name.startswith(MANIFEST_TMP_PREFIX) and name.endswith(".json")


def dataset_layout(store: str, dataset: str, *, reader: bool = False) -> DatasetLayout:
    """The layout of ``dataset`` in ``store``; validates both, creates nothing
    (``reader``: see :func:`resolve_store`).

    Raises:
        UsageError: bad dataset name or store string.
        StoreError: the store path is a file.
    """
    check_name(dataset)
    fs, root = resolve_store(store, reader=reader)
    return DatasetLayout(fs=fs, root=root, dataset=dataset, store=store)


def list_datasets(store: str) -> list[str]:
    """Names of the datasets in ``store`` (directories with a valid name), sorted."""
    fs, root = resolve_store(store)
    infos = fs.get_file_info(selector(fs, root))
    names = [posixpath.basename(i.path) for i in infos if i.type == FileType.Directory]
    return sorted(n for n in names if NAME_RE.match(n) and ".." not in n)


def require_dataset(layout: DatasetLayout) -> None:
    """Raise a StoreError (with "did you mean") when the dataset does not exist."""
    if layout.exists():
        return
    if layout.fs.get_file_info(layout.root).type == FileType.NotFound:
        msg = f"store {layout.store!r} does not exist"
        raise StoreError(msg)
    msg = f"dataset {layout.dataset!r} not found in store {layout.store!r}{_suggest(layout)}"
    raise StoreError(msg)


def _suggest(layout: DatasetLayout) -> str:
    return suggest(layout.dataset, list_datasets(layout.store))


def suggest(word: str, choices: list[str]) -> str:
    """Return " Did you mean 'x'?" for the closest choice, or an empty string."""
    try:
        from dqgate.span import did_you_mean
    except ImportError:  # pragma: no cover - span.py ships with the package
        import difflib

        close = difflib.get_close_matches(word, choices, n=1)
        return f" Did you mean {close[0]!r}?" if close else ""
    return did_you_mean(word, choices)
