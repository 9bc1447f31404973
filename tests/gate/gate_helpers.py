"""Helpers of the ingest tests: contracts, batches, `dq` processes, store listings and a row oracle.

The contracts are rules/flights.yaml with its paths made absolute and its gate
(and, where a test needs it, its row_count bounds) changed; the batches come from
rules/make_examples.py, so they look like the bundled example data. The oracle
recomputes, in plain Python, which rows fail which error-severity row rule of
that contract, without any dqgate code.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

import dqgate

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(dqgate.__file__).resolve().parents[1]  # subprocesses import the same dqgate as the tests
RULES = ROOT / "rules"
AIRPORTS = RULES / "data" / "airports.parquet"
FLIGHTS = RULES / "data" / "flights.parquet"
BAD_BATCH = RULES / "data" / "flights_bad_batch.parquet"

_spec = importlib.util.spec_from_file_location("make_examples", RULES / "make_examples.py")
assert _spec is not None and _spec.loader is not None
make_examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_examples)


def env() -> dict[str, str]:
    """The environment of child `dq` processes: the same dqgate as the tests, no signing key, no colours."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), out.get("PYTHONPATH")]))
    out.pop("DQGATE_SIGNING_KEY", None)
    out["NO_COLOR"] = "1"
    out["COLUMNS"] = "200"
    return out


def dq_cmd(*args: Any) -> list[str]:
    return [sys.executable, "-m", "dqgate", *(str(a) for a in args)]


def dq(
    *args: Any, cwd: Path | None = None, timeout: float = 60, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one real `dq` process and wait for it."""
    environ = env() | (extra_env or {})
    return subprocess.run(dq_cmd(*args), env=environ, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def write_contract(
    folder: Path,
    *,
    on_failure: str = "quarantine_rows",
    publish: str = "append",
    row_count: tuple[int, int] = (1000, 400000),
    warn_checks: bool = True,
    dataset: str = "flights",
    name: str = "contract.yaml",
) -> Path:
    """rules/flights.yaml with absolute paths and the given gate, written to ``folder/name``."""
    doc = yaml.safe_load((RULES / "flights.yaml").read_text(encoding="utf-8"))
    doc["dataset"] = dataset
    doc["source"] = str(FLIGHTS)
    doc["references"] = {"airports": str(AIRPORTS)}
    doc["gate"] = {"on_failure": on_failure, "publish": publish}
    checks = []
    for check in doc["checks"]:
        if check.get("severity") == "warn" and not warn_checks:
            continue
        if check.get("metric") == "row_count":
            # "each batch has at least 1,000 rows": judged on the batch, not on the snapshot
            check = {**check, "between": list(row_count), "scope": "batch"}
        checks.append(check)
    doc["checks"] = checks
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def make_batch(path: Path, n: int, seed: int, *, start_id: int, bad: bool = False) -> pa.Table:
    """Write a batch like the example data (with its injected defects when ``bad``) and return it."""
    table = make_examples.flights(n, seed, start_id=start_id, bad=bad)
    pq.write_table(table, path, compression="zstd")
    return table


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file under ``root`` with its bytes, and every folder (None); empty when ``root`` is missing."""
    if not root.exists():
        return {}
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def batch_ids_of(store: Path, dataset: str = "flights") -> list[list[str]]:
    """The ``batch_ids`` of every manifest on disk, oldest first (read as plain JSON)."""
    folder = store / dataset / "versions"
    return [json.loads(p.read_text())["batch_ids"] for p in sorted(folder.glob("[0-9]*.json"))]


def rows(table: pa.Table) -> Counter[tuple[Any, ...]]:
    """The rows of ``table`` as a multiset of tuples (order and schema metadata ignored)."""
    cols = [table.column(name).to_pylist() for name in table.column_names]
    return Counter(zip(*cols))


# -- the oracle: which rows fail which error-severity row rule of rules/flights.yaml --------

_RANGES = {
    "year": (2013, 2030), "month": (1, 12), "day": (1, 31), "flight": (1, 9999), "dep_time": (0, 2400),
    "dep_delay": (-60, 1500),
}  # fmt: skip
_REQUIRED = ("id", "year", "month", "day", "carrier", "flight", "origin", "dest", "loaded_at")
_TAILNUM = re.compile(r"^N[0-9]{1,5}[A-Z]{0,2}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def failing_flags(table: pa.Table) -> dict[str, list[bool]]:
    """rule id -> one bool per row, TRUE where the row fails that rule (NULLs pass all but required)."""
    col = {name: table.column(name).to_pylist() for name in table.column_names}
    faa = set(pq.read_table(AIRPORTS).column("faa").to_pylist())

    def each(name: str, fails: Any) -> list[bool]:
        return [v is not None and bool(fails(v)) for v in col[name]]

    flags: dict[str, list[bool]] = {}
    for name in _REQUIRED:
        flags[f"{name}.required"] = [v is None for v in col[name]]
    for name, (lo, hi) in _RANGES.items():
        flags[f"{name}.range"] = each(name, lambda v, lo=lo, hi=hi: not lo <= v <= hi)
    ids = Counter(v for v in col["id"] if v is not None)
    flags["id.unique"] = each("id", lambda v: ids[v] > 1)
    flags["carrier.in"] = each("carrier", lambda v: v not in {"AA", "B6", "DL", "UA"})
    flags["origin.in"] = each("origin", lambda v: v not in {"JFK", "LGA", "EWR"})
    flags["tailnum.pattern"] = each("tailnum", lambda v: not _TAILNUM.search(v))
    flags["dest.references"] = each("dest", lambda v: v not in faa)
    flags["contact_email.format"] = each("contact_email", lambda v: not _EMAIL.match(v))
    key = ("year", "month", "day", "carrier", "flight", "id")
    tuples = list(zip(*(col[k] for k in key)))
    counts = Counter(t for t in tuples if None not in t)
    flags["year+month+day+carrier+flight+id.unique"] = [None not in t and counts[t] > 1 for t in tuples]
    return flags


def split_rows(table: pa.Table) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]], dict[str, list[bool]]]:
    """(failing rows with their flags in rule order, passing rows, flags) of ``table`` by the oracle."""
    flags = failing_flags(table)
    data = list(zip(*(table.column(n).to_pylist() for n in table.column_names)))
    bad: Counter[tuple[Any, ...]] = Counter()
    good: Counter[tuple[Any, ...]] = Counter()
    for i, row in enumerate(data):
        marks = {rule: f[i] for rule, f in flags.items()}
        if any(marks.values()):
            bad[row + tuple(sorted(marks.items()))] += 1
        else:
            good[row] += 1
    return bad, good, flags
