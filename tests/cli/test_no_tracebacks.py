"""Bad input gives one line and exit 2, never a traceback (issue 12, item 8).

First each case the issue lists, then a fuzz test: random mutations of the example
contracts (YAML tags with bad values, deep nesting, huge integers, deleted and
swapped lines, typos) and of a published manifest, each run through the real `dq`
main in-process (a handful as real processes), asserting exit code 0, 1 or 2 and no
exception other than the ones `dq` turns into one line.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dqgate
from dqgate.cli import main

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(dqgate.__file__).resolve().parents[1]
Run = Callable[..., tuple[int, str, str]]

BASE = "dataset: t\nschema:\n  columns:\n    t: {type: timestamp%s}\n"


def _one_line_exit_2(run: Run, *args: object, expect: str) -> None:
    code, _, err = run(*args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expect in err, err


@pytest.fixture
def ns_data(tmp_path: Path) -> Path:
    path = tmp_path / "ns.parquet"
    pq.write_table(pa.table({"t": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns"))}), path)
    return path


@pytest.mark.parametrize(
    ("rule", "expect"),
    [
        (", range: {min: !!int x}", "cannot read 'x' as a YAML int"),
        (", range: {min: !!timestamp 2024-13-45}", "cannot read '2024-13-45' as a YAML timestamp"),
        (", range: {min: " + "9" * 5000 + "}", "4300 digits"),
        (", in: " + "[" * 1200 + "]" * 1200, "nests more than 500 levels"),
    ],
    ids=["int-tag", "timestamp-tag", "huge-int", "deep-nesting"],
)
def test_bad_yaml_values_are_one_line(tmp_path: Path, run_cli: Run, ns_data: Path, rule: str, expect: str) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(BASE % rule)
    _one_line_exit_2(run_cli, "check", contract, "--data", ns_data, expect=expect)
    code, out, err = run_cli("lint", contract)  # lint lists every problem, then a summary line
    assert code == 1 and "Traceback" not in err and expect in out + err  # lint: 1 = problems found


def test_a_quoted_range_bound_on_a_nanosecond_timestamp_is_checked(tmp_path: Path, run_cli: Run, ns_data: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(BASE % ", range: {min: '2025-01-01'}")  # was a sqlglot ParseError on TIMESTAMP_NS
    code, out, err = run_cli("check", contract, "--data", ns_data, "--format", "json")
    assert code == 1, err
    assert {c["id"]: c["status"] for c in json.loads(out)["checks"]}["t.range"] == "fail"


def test_reference_names_with_quotes_and_case_are_kept_apart(tmp_path: Path, run_cli: Run) -> None:
    pq.write_table(pa.table({"k": [1, 2, 3]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"k": [7]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"x": [1, 2], "y": [7, 7]}), tmp_path / "data.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "dataset: r\nschema:\n  columns:\n"
        "    x: {type: int64, references: A.k}\n    y: {type: int64, references: \"it's.k\"}\n"
        f"references:\n  A: {tmp_path / 'a.parquet'}\n  a: {tmp_path / 'b.parquet'}\n  \"it's\": {tmp_path / 'b.parquet'}\n"
    )
    code, out, err = run_cli("check", contract, "--data", tmp_path / "data.parquet", "--format", "json")
    assert code == 0, err + out  # x in A (a.parquet), y in it's (b.parquet): were checked against b.parquet / a traceback
    contract.write_text(contract.read_text().replace("references: A.k", "references: a.k"))
    code, out, _ = run_cli("check", contract, "--data", tmp_path / "data.parquet", "--format", "json")
    assert code == 1 and {c["id"]: c["failed_rows"] for c in json.loads(out)["checks"]}["x.references"] == 2


def test_names_match_exactly(tmp_path: Path, run_cli: Run) -> None:
    pq.write_table(pa.table({"Alcohol": [1.0, 2.0], "b": [1, 2]}), tmp_path / "d.parquet")
    contract = tmp_path / "c.yaml"
    contract.write_text("dataset: w\nschema:\n  columns:\n    alcohol: {type: float64}\n")
    _one_line_exit_2(run_cli, "check", contract, "--data", tmp_path / "d.parquet", expect="Did you mean 'Alcohol'?")
    contract.write_text("dataset: w\nschema:\n  strict: true\n  columns:\n    Alcohol: {type: float64}\n    B: {type: int64}\n")
    _one_line_exit_2(run_cli, "check", contract, "--data", tmp_path / "d.parquet", expect="column 'B'")
    contract.write_text("dataset: w\nschema:\n  strict: true\n  columns:\n    Alcohol: {type: float64}\n")
    code, out, _ = run_cli("check", contract, "--data", tmp_path / "d.parquet", "--format", "json")
    strict = {c["id"]: c for c in json.loads(out)["checks"]}["schema.strict"]
    assert code == 1 and strict["observed"] == ["b"]


def test_a_version_that_is_a_directory_or_deeply_nested_is_one_line(tmp_path: Path, run_cli: Run) -> None:
    store = _published(tmp_path)
    (store / "m" / "versions" / "00000002.json").mkdir()
    for args in (("snapshots", "list", store, "m"), ("snapshots", "show", store, "m"), ("store", "gc", store, "m", "--dry-run")):
        code, _, err = run_cli(*args)
        assert code in (0, 2) and "Traceback" not in err
    for args in (("snapshots", "show", store, "m@2"), ("snapshots", "diff", store, "m@1", "m@2")):
        _one_line_exit_2(run_cli, *args, expect="00000002.json: cannot read the manifest")
    with pytest.raises(dqgate.errors.StoreError, match="is a directory"):
        dqgate.open_snapshot(str(store), "m", version=2)
    manifest = store / "m" / "versions" / "00000001.json"
    body = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(body)[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}")
    for args in (("snapshots", "list", store, "m"), ("snapshots", "show", store, "m@1"), ("store", "gc", store, "m")):
        _one_line_exit_2(run_cli, *args, expect="nests too deeply")
    with pytest.raises(dqgate.errors.DqError):
        dqgate.open_snapshot(str(store), "m", version=1).to_arrow()


# ---- fuzz -------------------------------------------------------------------------

_TAGGED = [
    "!!int x", "!!timestamp 2024-13-45", "!!float abc", "!!binary '???'", "!!bool maybe", "!!null x",
    "!!python/object:os.system x", "!!set {a}", "!!omap [a]", "!!str", "!!map x", "!!seq y", "!!timestamp 0000-00-00",
    "9" * 4400, "-" + "1" * 4301, "[" * 1200 + "]" * 1200, "{a: " * 400 + "1" + "}" * 400, "&a [*a]", "*nope",
    "'unterminated", '"\\x"', "1e99999", ".nan", "-.inf", "0x7fffffffffffffffffff", "~", "''", "[]", "{}",
    "2024-02-30", "12:99:00", "'it''s'", "\"a'b\"", "é", "\t", "? x", "- y", "|", ">",
]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(8)
    i = rng.randrange(len(lines)) if lines else 0
    if kind <= 2 and lines:  # replace a value with a tagged or hostile one
        line = lines[i]
        cut = line.find(": ") if ": " in line else len(line)
        lines[i] = line[: cut + 2] + rng.choice(_TAGGED) if cut < len(line) else line + " " + rng.choice(_TAGGED)
    elif kind == 3 and lines:
        del lines[i]
    elif kind == 4 and lines:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif kind == 5 and len(lines) > 1:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 6 and lines:  # a typo: drop, double or change one character
        line = lines[i]
        if line:
            k = rng.randrange(len(line))
            op = rng.randrange(3)
            lines[i] = line[:k] + line[k + 1 :] if op == 0 else line[:k] + line[k] + line[k:] if op == 1 else line[:k] + rng.choice("x:-[]{}'\"!&*#|> 0") + line[k + 1 :]
    elif lines:  # indentation
        lines[i] = (" " * rng.randrange(0, 7)) + lines[i].lstrip()
    return "\n".join(lines) + "\n"


def _seeds() -> list[str]:
    paths = [ROOT / "rules" / "flights.yaml", *sorted((ROOT / "tests").rglob("*.yaml"))]
    return [p.read_text(encoding="utf-8") for p in paths if p.stat().st_size < 20_000]


def test_fuzzed_contracts_never_give_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(12)
    seeds = _seeds()
    codes: dict[int, int] = {}
    for n in range(1000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            text = _mutate(text, rng)
        path = tmp_path / f"c{n % 7}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            code = main(["lint", str(path)])
        except RecursionError:  # pragma: no cover - reported with the text that caused it
            pytest.fail(f"RecursionError on:\n{text[:2000]}")
        except Exception as exc:  # pragma: no cover
            pytest.fail(f"{type(exc).__name__}: {exc} on:\n{text[:2000]}")
        assert code in (0, 1, 2), text
        codes[code] = codes.get(code, 0) + 1
        capsys.readouterr()
    assert codes.get(1, 0) > 200 and codes.get(0, 0) > 0  # lint: 1 = problems found; both sides exercised


def _published(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    contract = tmp_path / "m.yaml"
    contract.write_text("dataset: m\nschema:\n  columns:\n    id: {type: int64}\n")
    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "m.parquet")
    assert main(["ingest", str(contract), str(tmp_path / "m.parquet"), "--store", str(store)]) == 0
    return store


_JSON_HOSTILE: list[object] = [None, True, -1, 2**70, 1e308, "", "x" * 300, "../../etc", [], {}, [[[]]], {"a": {"b": {}}}, "00000001"]


def _mutate_manifest(raw: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:  # flip a byte
        k = rng.randrange(len(raw))
        return raw[:k] + chr(rng.randrange(32, 127)) + raw[k + 1 :]
    body = json.loads(raw)
    keys = list(body)
    key = rng.choice(keys)
    if kind == 1:
        body[key] = rng.choice(_JSON_HOSTILE)
    elif kind == 2:
        del body[key]
    else:
        text = json.dumps(body)
        k = text.rfind("}")
        extra = rng.choice(["[" * 1200 + "]" * 1200, "9" * 5000, '"\\ud800"', "{" + '"a":{' * 2000 + "}" * 2001])
        return text[:k] + f', "z": {extra}' + text[k:]
    if isinstance(body.get("files"), list) and body["files"] and rng.random() < 0.5:
        entry = body["files"][0]
        if isinstance(entry, dict):
            entry[rng.choice(list(entry))] = rng.choice(_JSON_HOSTILE)
    return json.dumps(body)


def test_fuzzed_manifests_never_give_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _published(tmp_path)
    manifest = store / "m" / "versions" / "00000001.json"
    raw = manifest.read_text()
    rng = random.Random(7)
    commands = [
        ["snapshots", "list", str(store), "m"],
        ["snapshots", "show", str(store), "m"],
        ["snapshots", "verify", str(store), "m"],
        ["store", "gc", str(store), "m", "--dry-run", "--min-age", "0"],
        ["snapshots", "diff", str(store), "m@1", "m@1"],
    ]
    for n in range(300):
        text = _mutate_manifest(raw, rng)
        manifest.write_text(text)
        args = commands[n % len(commands)]
        try:
            code = main(args)
            if n % 3 == 0:
                try:
                    dqgate.open_snapshot(str(store), "m").to_arrow()
                except dqgate.errors.DqError:
                    pass
        except Exception as exc:  # pragma: no cover
            pytest.fail(f"{' '.join(args)}: {type(exc).__name__}: {exc} on manifest:\n{text[:1500]}")
        assert code in (0, 1, 2)
        capsys.readouterr()
    manifest.write_text(raw)
    assert main(["snapshots", "verify", str(store), "m"]) == 0


@pytest.mark.parametrize("rule", [", range: {min: !!timestamp 2024-13-45}", ", in: " + "[" * 1200 + "]" * 1200])
def test_real_processes_print_one_line(tmp_path: Path, ns_data: Path, rule: str) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(BASE % rule)
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "dqgate", "check", str(contract), "--data", str(ns_data)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
