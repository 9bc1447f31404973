"""A compiled check replayed (runners/replay.py) against the full path, on random contracts
and random Parquet files.

The contracts are ``random_contracts.py``'s (NULLs, failing rules with samples,
severities, ``mostly``, ``where``, keys, metrics, awkward and case-differing column
names) without what a compiled check does not keep (reference datasets, format kernels).
Each is checked in full on two files, keeping what ran; replaying either file must then
print the very JSON the full path printed (``elapsed_s`` aside), and a third file either
replays to the full path's JSON or falls back (returns None). ``tests/cli/test_fastcheck.py``
runs the same comparison as real `dq check` processes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from dq_process import PLANNERS, dq, loaded
from random_contracts import AWKWARD, CASED, PLAIN, ContractBuilder, arrow_table, rows

import dqgate
from dqgate.cli.check import render
from dqgate.cli.fastcheck import Options, _report
from dqgate.contract import load_contract
from dqgate.contract.model import COLUMN_RULES
from dqgate.errors import DataError
from dqgate.ir.instants import has_relative
from dqgate.ir.plan import plan
from dqgate.runners.compiled import keeping

SETTINGS = settings(
    max_examples=int(os.environ.get("DQGATE_COMPILED_EXAMPLES", "12")), deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a failure of 3 checks takes minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)  # fmt: skip
UNKEPT = ("references", "format")  # rule keys a compiled check does not keep (reference data, Python kernels)


def without_unkept(contract: dict[str, Any]) -> dict[str, Any]:
    """``contract`` without reference datasets and format rules."""
    contract.pop("references", None)
    schema = contract["schema"]
    schema.pop("foreign_keys", None)
    for spec in schema["columns"].values():
        for key in UNKEPT:
            spec.pop(key, None)
        if not set(spec) & set(COLUMN_RULES):
            for modifier in ("mostly", "where", "severity", "name"):
                spec.pop(modifier, None)
    checks = []
    for check in contract["checks"]:
        if "column" in check:
            for key in UNKEPT:
                check.pop(key, None)
            if not set(check) & set(COLUMN_RULES):
                continue  # no rule left
        checks.append(check)
    contract["checks"] = checks
    return contract


def full_json(contract: Path, data: Path, samples: int) -> str | None:
    """What `dq check CONTRACT --data DATA --format json` prints, keeping the compiled check;
    None when it stops with a one-line error."""
    with keeping(str(contract), samples):
        try:
            result = dqgate.check(str(data), load_contract(str(contract)), samples=samples)
        except DataError:
            return None
    return render(result, "json")


def replayed_json(contract: Path, data: Path, samples: int) -> str | None:
    got = _report(Options(contract=str(contract), data=str(data), fmt="json", quiet=True, samples=samples))
    return None if got is None else got[0]


def comparable(text: str) -> dict[str, Any]:
    """The result JSON without what depends on the clock (the run's duration, a freshness
    rule's age: seconds since the newest value at the time of the run), and with a key
    rule's sample sorted: those are the first rows of a GROUP BY, whose order DuckDB's
    threads do not fix, and floats to 12 digits: the order in which threads add them is
    not fixed either (two full runs differ there too)."""
    doc = json.loads(text)
    doc.pop("elapsed_s")
    for check in doc["checks"]:
        for side, bound in (check.get("threshold") or {}).items():
            if _recent_instant(bound):  # a bound relative to the check time (now-1w) resolved by each run
                check["threshold"][side] = "<resolved relative bound>"
        if check["rule"] == "freshness":
            check.pop("observed", None)
            check.pop("message", None)
        if check["rule"] == "unique" and check.get("sample"):
            check["sample"] = sorted(check["sample"], key=repr)
        if isinstance(check.get("observed"), float):  # a float sum's last digit depends on the threads' order
            check["observed"] = float(f"{check['observed']:.12g}")
    return doc


def _recent_instant(value: Any) -> bool:
    """Whether ``value`` is an instant within 60 days of now: what random_contracts' relative
    bounds (``RELATIVE``: now-20d .. now+1h) resolve to; its absolute instants are years away."""
    import datetime as dt

    if not isinstance(value, str):
        return False
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    now = dt.datetime.now(dt.timezone.utc)
    when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    return abs(now - when) < dt.timedelta(days=60)


def exact_order(text: str) -> bool:
    """Whether two runs print ``text`` byte for byte (nothing of :func:`comparable`'s)."""
    doc = json.loads(text)
    return not any(
        c["rule"] == "freshness" or (c["rule"] == "unique" and len(c.get("sample") or ()) > 1)
        or any(_recent_instant(b) for b in (c.get("threshold") or {}).values())
        or isinstance(c.get("observed"), float)
        for c in doc["checks"]
    )  # fmt: skip


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    """``got == want``, naming the first check that differs."""
    for a, b in zip(got.pop("checks"), want.pop("checks")):
        assert a == b
    assert got == want


def random_contract(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A fresh folder holding ``c.yaml``, a random contract of what a compiled check keeps,
    and the column names drawn for it."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    names = data.draw(st.sampled_from([PLAIN, AWKWARD, CASED]), label="names")
    builder = ContractBuilder(data.draw, names, str(folder / "ref.parquet"))
    text = yaml.safe_dump(without_unkept(builder.contract()), sort_keys=False, allow_unicode=True)
    (folder / "c.yaml").write_text(text, encoding="utf-8")
    note(text)
    return folder, names


@SETTINGS
@given(data=st.data())
def test_a_replayed_check_prints_what_the_full_check_prints(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder, names = random_contract(data, tmp_path_factory)
    contract = folder / "c.yaml"
    rules = plan(load_contract(str(contract)))
    samples = data.draw(st.sampled_from([5, 0, 2]), label="samples")
    files = []
    for k in range(3):
        path = folder / f"d{k}.parquet"
        row_group = data.draw(st.sampled_from([None, 3]), label="row group size")
        pq.write_table(arrow_table(data.draw(rows(), label=f"rows {k}"), names), path, row_group_size=row_group)
        files.append(path)
    kept = [full_json(contract, f, samples) for f in files[:2]]
    for path, want in zip(files[:2], kept):
        got = replayed_json(contract, path, samples)
        if want is None:  # a one-line error: never answered by a replay
            assert got is None
            continue
        if not any(has_relative(r) for r in rules):  # a kept run replays
            assert got is not None, "a check kept from this very file did not replay"
        if got is not None:
            assert_same(comparable(got), comparable(want))
            if exact_order(want):
                assert got.splitlines()[:-2] == want.splitlines()[:-2]  # byte for byte, but for elapsed_s
    got = replayed_json(contract, files[2], samples)  # a file of the same schema never checked in full
    with tempfile.TemporaryDirectory() as off:
        os.environ["DQGATE_CACHE_DIR"], saved = off, os.environ["DQGATE_CACHE_DIR"]
        try:
            third = full_json(contract, files[2], samples)
        finally:
            os.environ["DQGATE_CACHE_DIR"] = saved
    if got is not None:
        assert third is not None
        assert_same(comparable(got), comparable(third))


PROCESS_SETTINGS = settings(
    max_examples=int(os.environ.get("DQGATE_COMPILED_PROCESS_EXAMPLES", "3")), deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)  # fmt: skip


@PROCESS_SETTINGS
@given(data=st.data())
def test_a_replayed_check_as_a_process_prints_what_the_full_check_prints(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same as real `dq check` processes: the second imports no planner and prints the first's JSON."""
    folder, names = random_contract(data, tmp_path_factory)
    rules = plan(load_contract(str(folder / "c.yaml")))
    pq.write_table(arrow_table(data.draw(rows(), label="rows"), names), folder / "d.parquet", row_group_size=data.draw(st.sampled_from([None, 3])))
    args = ("check", "c.yaml", "--data", "d.parquet", "--format", "json", "-q")
    first, second = dq(folder, *args), dq(folder, *args)
    assert second[0] == first[0] and second[2] == first[2]
    if first[0] == 2:
        return  # a one-line error, said by the full path both times
    if not any(has_relative(r) for r in rules):
        assert loaded(second[3], PLANNERS) == []
    assert_same(comparable(second[1]), comparable(first[1]))
    if exact_order(first[1]):
        assert second[1].splitlines()[:-2] == first[1].splitlines()[:-2]
