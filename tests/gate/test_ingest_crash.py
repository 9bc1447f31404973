"""kill -9 real `dq ingest` processes at random moments (issue 3).

Ingests are timed first (two lanes, two rounds); then each trial starts `dq ingest`
on a fresh batch and kills it at a uniform random fraction of that time, up to 1.1
(every other trial: from 0.55, where the quarantine files, the object and the
manifest are written, since a kill uniform over the whole life lands there only about
one time in seven), so kills land in the imports, the check, the quarantine writes,
the object write and the manifest create. Processes that outlive their kill time
keep the time scale up to date.
Batches vary in size and kind (clean, some rows bad, too few good rows), so the
write phases take a varying share of each process's life. Several lanes run at once
on one dataset, so kills also hit publishers that are racing for a version number.

Afterwards the store must verify, show no half-version, hold each batch at most once,
take the killed batches again (each then exactly once), and gc must clean up the
leftovers without touching a file any manifest names.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import statistics
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dqgate.store.key_index import run_problems
from dqgate.store.state import read_state
from gate_helpers import BAD_BATCH, FLIGHTS, dq, dq_cmd, env, write_contract

LANES = 2  # processes at once, one per core
TRIALS = 54  # kills
SEED = 20240603


def _bases() -> tuple[pa.Table, pa.Table]:
    """A clean table and a table whose first rows are bad, both tiled from the example data."""
    good = pq.read_table(FLIGHTS)
    parts = [good.set_column(0, "id", pc.add(good["id"], i * 1_000_000)) for i in range(4)]
    bad = pq.read_table(BAD_BATCH)
    return pa.concat_tables(parts), pa.concat_tables([bad, *parts[:2]])


def _batches(folder: Path, count: int, rng: random.Random) -> list[tuple[Path, str, int]]:
    """``count`` distinct batch files: (path, kind, rows)."""
    good, bad = _bases()
    out = []
    for i in range(count):
        kind = rng.choice(["clean", "clean", "rows", "whole"])
        if kind == "clean":
            n = rng.randint(1000, 10000)
            table = good.slice(rng.randrange(good.num_rows - n), n)
        elif kind == "rows":  # the bad rows sit at the start; what is left still passes row_count
            table = bad.slice(0, rng.randint(1200, 8000))
        else:  # fewer than 1,000 rows would be left: the whole batch goes to quarantine
            table = bad.slice(0, rng.randint(1000, 1060))
        # ids of one batch never meet another's: appends are judged over the snapshot, where
        # a repeated id would (rightly) be quarantined as a collision, not published
        table = table.set_column(0, "id", pc.add(table["id"], (i + 1) * 100_000_000))
        path = folder / f"batch-{i:03d}.parquet"
        pq.write_table(table, path, compression="zstd")
        out.append((path, kind, table.num_rows))
    return out


def _batch_id(path: Path, contract: Path) -> str:
    from dqgate.runners.check import as_contract

    return "b" + hashlib.sha256(path.read_bytes()).hexdigest()[:40] + as_contract(str(contract)).sha256[:8]


def _start(contract: Path, batch: Path, store: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        dq_cmd("ingest", contract, batch, "--store", store, "--format", "json"),  # no table rendering
        env=env(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _manifests(store: Path) -> list[dict]:
    """Every visible manifest, each parsed; its files exist with the recorded size and sha256."""
    folder = store / "flights" / "versions"
    found = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(".tmp-"):
            continue
        manifest = json.loads(path.read_bytes())
        assert path.name == f"{manifest['version']:08d}.json"
        for entry in manifest["files"]:
            data = (store / "flights" / entry["path"]).read_bytes()
            assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"], entry
        _check_state(store, manifest)
        found.append(manifest)
    assert [m["version"] for m in found] == list(range(1, len(found) + 1))
    return found


def _check_state(store: Path, manifest: dict) -> None:
    """The state a manifest names is whole (its sha256), and so is every key run the state names."""
    payload, problem = read_state(str(store), "flights", manifest["checks"]["state"])
    assert problem is None, (manifest["version"], problem)
    for rule_id, state in payload["rules"].items():
        runs = state.get("runs", [])
        assert run_problems(str(store), "flights", runs) is None, (manifest["version"], rule_id)
        for run in runs:
            assert hashlib.sha256((store / "flights" / run["path"]).read_bytes()).hexdigest() == run["sha256"]
        if "runs" in state:  # the runs hold exactly the snapshot's keys: one run per batch, rows = its keys
            assert [r["batch_id"] for r in runs] == manifest["batch_ids"]


def _check_batches_at_most_once(manifests: list[dict]) -> list[str]:
    """Each version adds one batch to its parent's (append only here); no batch twice. Returns the latest ids."""
    parent: list[str] = []
    for m in manifests:
        assert m["batch_ids"][:-1] == parent, m["version"]
        parent = m["batch_ids"]
    assert len(set(parent)) == len(parent)
    return parent


def _leftovers(store: Path, named: set[str]) -> int:
    """Files a crash leaves: temporary objects and manifests, unnamed objects, unfinished quarantines."""
    root = store / "flights"
    tmp = list((root / "objects" / "_tmp").glob("*")) + list((root / "versions").glob(".tmp-*"))
    orphans = [p for p in (root / "objects").glob("??/*.parquet") if str(p.relative_to(root)) not in named]
    unfinished = [d for d in (root / "quarantine").glob("*") if not (d / "report.json").exists()]
    states = list((root / "state").glob(".tmp-*")) + list((root / "keys").glob("*/.tmp-*"))  # killed state writes
    return len(tmp) + len(orphans) + len(unfinished) + len(states)


def test_kill_9_at_random_moments_of_dq_ingest(tmp_path, store):
    started = time.monotonic()
    rng = random.Random(SEED)
    contract = write_contract(tmp_path, on_failure="quarantine_rows", warn_checks=False)
    batches = _batches(tmp_path, 2 * LANES + 2 * TRIALS, rng)

    # uninterrupted ingests, one per lane at a time, run as the trials will run, set the time scale;
    # the first round pays for cold caches and for creating the dataset, so the second one is timed
    for round_start in (0, LANES):
        t0 = time.monotonic()
        warm = [_start(contract, path, store, tmp_path) for path, _, _ in batches[round_start : round_start + LANES]]
        durations = []
        for p in warm:
            _, err = p.communicate(timeout=120)
            assert p.returncode in (0, 1), err.decode()
            durations.append(time.monotonic() - t0)
    lifetime = first = statistics.median(durations)

    started_batches = list(batches[: 2 * LANES])
    queue = list(batches[2 * LANES :])
    killed: list[Path] = []
    running: dict[int, tuple[subprocess.Popen[bytes], Path, float, float]] = {}
    while running or (queue and len(killed) < TRIALS):
        for lane in range(LANES):
            if lane not in running and queue and len(killed) + len(running) < TRIALS:
                batch = queue.pop(0)
                started_batches.append(batch)
                now = time.monotonic()
                # half the kills anywhere in the lifetime, half in its last part where the store is
                # written; up to a little past the expected end, so some finish and keep it honest
                kill_at = now + rng.uniform(0 if len(started_batches) % 2 else 0.55, 1.1) * lifetime
                running[lane] = (_start(contract, batch[0], store, tmp_path), batch[0], now, kill_at)
        time.sleep(0.005)
        now = time.monotonic()
        for lane, (proc, path, began, kill_at) in list(running.items()):
            if proc.poll() is None and now < kill_at:
                continue
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=60)
            _, err = proc.communicate()
            if code == -signal.SIGKILL:
                killed.append(path)
            else:  # it finished before its kill: it must have succeeded, and it tells how long ingests take now
                assert code in (0, 1), err.decode()
                lifetime = 0.5 * lifetime + 0.5 * (now - began)
            del running[lane]
    assert len(killed) >= TRIALS

    stages = {"kills": round(time.monotonic() - started, 1)}
    # right after the kills: verifies, every visible version is whole, no batch twice
    verify = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    manifests = _manifests(store)
    _check_batches_at_most_once(manifests)
    named = {f["path"] for m in manifests for f in m["files"]}
    leftovers = _leftovers(store, named)

    stages["verify"] = round(time.monotonic() - started, 1)
    # re-running the killed ingests completes them (one process per lane, racing again)
    reruns = [
        subprocess.Popen(dq_cmd("ingest", contract, *killed[i::LANES], "--store", store, "--format", "json"),
                         env=env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in range(LANES) if killed[i::LANES]
    ]  # fmt: skip
    for p in reruns:
        _, err = p.communicate(timeout=120)
        assert p.returncode in (0, 1), err.decode()
    manifests = _manifests(store)
    latest = _check_batches_at_most_once(manifests)
    by_batch: dict[str, int] = {}
    for entry in manifests[-1]["files"]:
        by_batch[entry["batch_id"]] = by_batch.get(entry["batch_id"], 0) + entry["rows"]
    for path, kind, n in started_batches:  # every batch, killed or not, is now in exactly once
        bid = _batch_id(path, contract)
        report = store / "flights" / "quarantine" / bid / "report.json"
        if kind == "clean":
            assert by_batch.get(bid) == n and not report.parent.exists(), path.name
        elif kind == "rows":
            quarantined = json.loads(report.read_text())["rows"]
            assert 0 < quarantined and by_batch.get(bid) == n - quarantined, path.name
        else:
            assert bid not in by_batch and json.loads(report.read_text())["rows"] == n, path.name
    assert len(latest) == sum(kind != "whole" for _, kind, _ in started_batches)
    assert manifests[-1]["rows"] == sum(by_batch.values())

    stages["reruns"] = round(time.monotonic() - started, 1)
    # gc removes what the crashes left and nothing a manifest names
    named = {f["path"] for m in manifests for f in m["files"]}
    gc = dq("store", "gc", store, "flights", "--min-age", "0", "--format", "json", cwd=tmp_path)
    assert gc.returncode == 0, gc.stderr
    removed = set(json.loads(gc.stdout)["removed"]["flights"])
    assert not removed & named
    root = store / "flights"
    assert {str(p.relative_to(root)) for p in root.glob("objects/??/*.parquet")} == named
    assert not list((root / "objects" / "_tmp").glob("*")) and not list((root / "versions").glob(".tmp-*"))
    verify = dq("snapshots", "verify", store, "flights", "--full", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert leftovers + len(removed) > 0  # some kills did land mid-write
    print(
        f"crash: {len(killed)} killed, {len(started_batches)} started, lifetime {first:.2f}s -> {lifetime:.2f}s, "
        f"{leftovers} leftovers after the kills, stages done at {stages}, "
        f"gc removed {len(removed)}, {len(manifests)} versions, {time.monotonic() - started:.1f}s"
    )
