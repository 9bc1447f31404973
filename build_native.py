"""Build ``dqgate/_kernels/dqgate_native.duckdb_extension``, the DuckDB extension of
``dqgate_native.c`` (called from setup.py's build_ext).

The extension is compiled against DuckDB's C extension API. The Python wheel of
DuckDB ships no C headers, so the two headers (``duckdb.h``, ``duckdb_extension.h``)
come from DuckDB's own source distribution on PyPI, checked against its published
sha256 and cached under ``~/.cache/dqgate`` (``DQGATE_DUCKDB_INCLUDE=DIR`` points at
headers you already have). The extension targets the stable API of DuckDB v1.2.0, so
one build loads into every DuckDB from 1.2 on.

DuckDB loads a file only with a 512-byte footer naming the platform, the API version
and the ABI; :func:`footer` writes it (the signature part stays empty: dqgate loads
the file into its own connections with ``allow_unsigned_extensions``).

If the headers cannot be had (no network, say) the build goes on without the
extension and says so: dqgate then runs those checks with DuckDB's built-in functions
(RE2 for patterns, a GROUP BY or the Cython key pass for uniqueness). Set
``DQGATE_REQUIRE_NATIVE=1`` to make that an error instead (CI does).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import sysconfig
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

DUCKDB_SOURCE_VERSION = "2.0.1"  # whose headers we compile against
API_VERSION = (1, 2, 0)  # the oldest DuckDB C extension API the extension asks for
NAME = "dqgate_native"
SOURCE = Path("src/dqgate/_kernels") / f"{NAME}.c"
HEADERS = ("duckdb.h", "duckdb_extension.h")
INDEX = os.environ.get("DQGATE_PYPI_SIMPLE", "https://pypi.org/simple")  # the index pip reads


def platform_name() -> str:
    """DuckDB's name for this platform (what ``PRAGMA platform`` answers)."""
    plat = sysconfig.get_platform()  # linux-x86_64, macosx-11.0-arm64, win-amd64, ...
    arch = "arm64" if plat.endswith(("aarch64", "arm64")) else "amd64"
    if plat.startswith("linux"):
        musl = "musl" in (sysconfig.get_config_var("HOST_GNU_TYPE") or "")
        return f"linux_{arch}" + ("_musl" if musl else "")
    if plat.startswith("macosx"):
        return f"osx_{arch}"
    return f"windows_{arch}"


def footer(platform: str) -> bytes:
    """The 512 bytes DuckDB reads from the end of an extension file: eight 32-byte fields
    stored last-to-first (magic, platform, C API version, extension version, ABI), then a
    256-byte signature, empty here."""
    fields = ["4", platform, "v{}.{}.{}".format(*API_VERSION), "0.1.0", "C_STRUCT", "", "", ""]
    packed = [f.encode().ljust(32, b"\0") for f in reversed(fields)]
    assert all(len(f) == 32 for f in packed)
    return b"".join(packed) + b"\0" * 256


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dqgate" / f"duckdb-{DUCKDB_SOURCE_VERSION}-include"


def _download_headers(target: Path) -> None:
    """Fetch DuckDB's sdist from PyPI (PEP 691 JSON index), check its sha256, keep only
    the two headers."""
    wanted = f"duckdb-{DUCKDB_SOURCE_VERSION}.tar.gz"
    ask = urllib.request.Request(f"{INDEX}/duckdb/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(ask, timeout=60) as r:
        files: list[dict[str, Any]] = json.load(r)["files"]
    sdist = next((f for f in files if f["filename"] == wanted), None)
    if sdist is None:
        raise OSError(f"{INDEX}/duckdb/ lists no {wanted}")
    with urllib.request.urlopen(sdist["url"], timeout=300) as r:
        blob = r.read()
    if hashlib.sha256(blob).hexdigest() != sdist["hashes"]["sha256"]:
        raise OSError(f"{sdist['url']}: sha256 does not match the index's")
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if name in HEADERS and member.name.endswith(f"src/include/{name}"):
                f = tar.extractfile(member)
                if f is not None:
                    found[name] = f.read()
    missing = set(HEADERS) - found.keys()
    if missing:
        raise OSError(f"{wanted}: no {', '.join(sorted(missing))}")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in found.items():
        tmp = target / f".{name}.tmp"
        tmp.write_bytes(text)
        tmp.replace(target / name)


def headers() -> Path:
    """A directory holding duckdb.h and duckdb_extension.h (downloaded once, then cached)."""
    given = os.environ.get("DQGATE_DUCKDB_INCLUDE")
    if given:
        return Path(given)
    cache = _cache_dir()
    if not all((cache / h).is_file() for h in HEADERS):
        _download_headers(cache)
    return cache


def build(cmd: Any, out_dir: str) -> Path | None:
    """Compile and link the extension into ``out_dir/dqgate/_kernels`` with the compiler of
    setuptools' build_ext command ``cmd``; None (with a message) if it cannot be built."""
    required = os.environ.get("DQGATE_REQUIRE_NATIVE") == "1"
    try:
        include = headers()
    except Exception as exc:  # no network, proxy, PyPI down: build without the extension
        if required:
            raise
        print(f"dqgate: building without the native DuckDB extension ({exc})", file=sys.stderr)
        return None
    macros = [(f"DUCKDB_EXTENSION_API_VERSION_{part}", str(v)) for part, v in zip(("MAJOR", "MINOR", "PATCH"), API_VERSION)]
    objects = cmd.compiler.compile(
        [str(SOURCE)], output_dir=cmd.build_temp, macros=macros, include_dirs=[str(include)],
        extra_postargs=["-O3", "-std=c11", "-fvisibility=hidden"] if os.name != "nt" else [],
    )  # fmt: skip
    target = Path(out_dir) / "dqgate" / "_kernels" / f"{NAME}.duckdb_extension"
    target.parent.mkdir(parents=True, exist_ok=True)
    linked = Path(cmd.build_temp) / f"{NAME}.so"
    cmd.compiler.link_shared_object(objects, str(linked))
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(linked.read_bytes() + footer(platform_name()))
    tmp.replace(target)
    return target
