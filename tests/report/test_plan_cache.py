"""The plan cache behind `dq report --no-check`: a hit gives the rules a fresh load would,
without importing the contract machinery; anything the rules depend on misses; a bad
entry is rebuilt; a bad contract is never kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dqgate
from dqgate.contract import load_contract
from dqgate.errors import ContractError
from dqgate.ir import plan_cache
from dqgate.ir.plan import plan

CONTRACT = """\
dataset: sales
version: 1.0.0
schema:
  columns:
    id: {type: int64, required: true, unique: true}
    amount: {type: float64, range: {min: 0, max: 1000}}
    region: {type: string, in: [EU, US]}
checks:
  - {metric: mean(amount), name: mean_amount, anomaly: {window: 5, max: 3}}
  - {expect: "amount >= 0 OR region = 'EU'", name: amount_sign}
  - {metric: row_count, min: 1}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DQGATE_CACHE_DIR", str(folder))
    monkeypatch.delenv("DQGATE_CACHE", raising=False)
    return folder / "plan"


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if not p.name.startswith(".")) if folder.exists() else []


def test_a_hit_gives_the_rules_a_fresh_load_gives(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    c = load_contract(str(path))
    first = plan_cache.rules_of(str(path))  # a miss: loaded, planned, kept
    assert len(_entries(cache)) == 1
    second = plan_cache.rules_of(str(path))  # a hit: read back
    for got in (first, second):
        assert got.rules == plan(c)
        assert (got.dataset, got.version, got.sha256, got.path) == (c.dataset, c.version, c.sha256, str(path))


def test_a_changed_contract_misses(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    before = plan_cache.rules_of(str(path))
    path.write_text(CONTRACT.replace("max: 1000", "max: 999"), encoding="utf-8")
    after = plan_cache.rules_of(str(path))
    assert after.rules == plan(load_contract(str(path))) != before.rules
    assert len(_entries(cache)) == 2


def test_other_code_or_another_odcs_object_misses(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = CONTRACT.encode()
    here = plan_cache._entry(text, None)
    assert plan_cache._entry(text, "orders") != here
    plan_cache._fingerprint.cache_clear()
    monkeypatch.setattr(dqgate, "__version__", "99.0.0")
    try:
        assert plan_cache._entry(text, None) != here  # another dqgate version: another entry
    finally:
        plan_cache._fingerprint.cache_clear()


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05N.", b"\x80\x05\x95\x10"])
def test_a_corrupt_entry_is_ignored_and_rebuilt(tmp_path: Path, cache: Path, garbage: bytes) -> None:
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    plan_cache.rules_of(str(path))
    [entry] = _entries(cache)
    entry.write_bytes(garbage)  # truncated, not a pickle, a pickle of None, cut mid-frame
    got = plan_cache.rules_of(str(path))
    assert got.rules == plan(load_contract(str(path)))
    assert entry.read_bytes() != garbage and plan_cache._read(str(entry)) == got  # written anew


def test_a_bad_contract_is_never_kept(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT.replace("in: [EU, US]", "inn: [EU, US]"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ContractError, match="Did you mean 'in'"):
            plan_cache.rules_of(str(path))
    assert _entries(cache) == []


def test_the_cache_off_keeps_nothing(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQGATE_CACHE", "0")
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    assert plan_cache.rules_of(str(path)).rules == plan(load_contract(str(path)))
    assert _entries(cache) == []


def test_report_of_a_store_on_a_hit_loads_no_contract_machinery(tmp_path: Path) -> None:
    """`dq report --no-check` the second time: the same page, without YAML, pydantic or sqlglot."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    store = tmp_path / "wh"
    for i in range(4):
        batch = tmp_path / f"b{i}.parquet"
        pq.write_table(pa.table({"id": [i * 10 + j for j in range(10)], "amount": [float(i + j) for j in range(10)], "region": ["EU"] * 10}), batch)
        dqgate.ingest(str(batch), str(path), str(store))
    env = {**os.environ, "DQGATE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    env.pop("DQGATE_CACHE", None)
    probe = ("import json, sys\nfrom dqgate.cli import main\ncode = main(sys.argv[1:])\n"
             "print(json.dumps([code, sorted(m for m in ('yaml', 'pydantic', 'sqlglot', 'dqgate.contract.check') if m in sys.modules)]))\n")  # fmt: skip
    pages = []
    for run in range(2):
        page = tmp_path / f"r{run}.html"
        done = subprocess.run([sys.executable, "-c", probe, "report", str(path), "--store", str(store), "--no-check", "-o", str(page)],
                              capture_output=True, text=True, env=env, timeout=300, check=False)  # fmt: skip
        code, heavy = json.loads(done.stdout.strip().splitlines()[-1])
        assert code == 0, done.stderr
        assert heavy == (["dqgate.contract.check", "pydantic", "sqlglot", "yaml"] if run == 0 else [])
        pages.append(page.read_text(encoding="utf-8").split("</p>", 1)[1])  # all but the "made at" line
    assert pages[0] == pages[1]
    assert "data-metric='mean_amount'" in pages[1] and "<b data-field='versions'>4</b>" in pages[1]


def test_loading_a_contract_keeps_its_rules_once(tmp_path: Path, cache: Path) -> None:
    """What `dq check` / `dq ingest` load the contract with: the entry `rules_of` then reads."""
    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    c = plan_cache.load(str(path))
    [entry] = _entries(cache)
    kept = plan_cache._read(str(entry))
    assert kept is not None and kept.rules == plan(c) and kept.sha256 == c.sha256
    before = entry.stat().st_mtime_ns
    plan_cache.load(str(path))  # kept already: not written again
    assert entry.stat().st_mtime_ns == before and _entries(cache) == [entry]


def test_a_store_built_by_the_cli_renders_from_the_cache_the_first_time(tmp_path: Path) -> None:
    """`dq ingest` and `dq check` keep the rules, so the first `dq report --no-check` of the
    store they built loads no YAML, pydantic or sqlglot, and draws the same page a miss does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "sales.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    store = tmp_path / "wh"
    env = {**os.environ, "DQGATE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(Path(dqgate.__file__).resolve().parents[1])}
    env.pop("DQGATE_CACHE", None)
    batches = []
    for i in range(4):  # three ingested, one checked
        batch = tmp_path / f"b{i}.parquet"
        pq.write_table(pa.table({"id": [i * 10 + j for j in range(10)], "amount": [float(i + j) for j in range(10)], "region": ["EU"] * 10}), batch)
        batches.append(str(batch))
    cli = [sys.executable, "-m", "dqgate"]
    for args, cache in ((["ingest", str(path), *batches[:3], "--store", str(store), "-q"], "cache"),
                        (["check", str(path), "--data", batches[3], "--store", str(store), "-q"], "cache-of-check")):  # fmt: skip
        done = subprocess.run([*cli, *args], capture_output=True, text=True, env={**env, "DQGATE_CACHE_DIR": str(tmp_path / cache)},
                              timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(_entries(tmp_path / cache / "plan")) == 1
    # pyarrow neither: the report only reads the store (local files through plain os calls)
    probe = ("import json, sys\nfrom dqgate.cli import main\ncode = main(sys.argv[1:])\n"
             "print(json.dumps([code, sorted(m for m in ('yaml', 'pydantic', 'sqlglot', 'dqgate.contract.check', 'pyarrow') if m in sys.modules)]))\n")  # fmt: skip
    pages = []
    for name, extra in (("hit", {}), ("miss", {"DQGATE_CACHE": "0"})):
        page = tmp_path / f"{name}.html"
        done = subprocess.run([sys.executable, "-c", probe, "report", str(path), "--store", str(store), "--no-check", "-o", str(page)],
                              capture_output=True, text=True, env={**env, **extra}, timeout=300, check=False)  # fmt: skip
        code, heavy = json.loads(done.stdout.strip().splitlines()[-1])
        assert code == 0, done.stderr
        assert heavy == ([] if name == "hit" else ["dqgate.contract.check", "pydantic", "sqlglot", "yaml"])
        pages.append(page.read_text(encoding="utf-8").split("</p>", 1)[1])
    assert pages[0] == pages[1] and "<b data-field='versions'>3</b>" in pages[0]
