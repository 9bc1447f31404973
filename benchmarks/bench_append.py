"""Benchmark an append judged over the snapshot (issue 11) against `dq check` of the batch alone.

Whole processes, timed side by side in interleaved rounds (the order alternates):

* append: ``dq ingest CONTRACT BATCH --store <copy of a store holding the parent>``;
  the batch is judged over parent ∪ batch from the parent's merged state and key
  runs, then published (the store copy is made of hard links, outside the timing;
  a publish only adds files, so the copies never share a written file);
* check:  ``dq check CONTRACT --data BATCH`` (the batch alone, no store).

The contract has a unique id, a composite unique, row_count, mean, stddev,
null_fraction and a references rule; it passes on peerbench data (the injected
repeated ids are allowed by ``mostly``). Parents of several sizes (``--parents``)
show whether the append's cost grows with the snapshot. Reported per run: wall
seconds, peak RSS of the process (``wait4``), and the bytes of state the new version
keeps (its state JSON and its key runs). Target: append / check <= 2; the largest
parent / the smallest <= 1.3.

Data: ``gen_data.py`` of peerbench (``/work/shared/peerbench``); a parent of N rows is
``peerbench_N.parquet``, the batch ``peerbench_1000000.parquet`` with 10^9 added to
its ids, so that they are new to every parent (as a daily append's are).

A parent larger than the generated files (``--parts-dir``): published as appends of the
part files there, in name order, until it has the rows asked for (e.g. ten 10M-row
copies of ``peerbench_10000000.parquet`` whose ids are shifted by k * 10M, so every id
is distinct across parts: see ``--make-parts``). Each part's publish is timed too.

Usage: python benchmarks/bench_append.py --data-dir DIR [--parents 10000000] [--rounds 3] [--work DIR] [--json]
                                          [--parts-dir DIR [--make-parts N]]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

CONTRACT = """\
dataset: peerbench
version: 1.0.0
description: The peerbench table appended to (benchmarks/bench_append.py).
schema:
  columns:
    id:           {type: int64, required: true, unique: true, mostly: 0.999}
    income:       {type: float64}
    score:        {type: float64}
    weight:       {type: float64}
    country:      {type: string, references: countries.code, mostly: 0.99}
    product_code: {type: string}
  unique: [[id, product_code]]
checks:
  - metric: row_count
    min: 1000
  - metric: mean(income)
    between: [10000, 200000]
  - metric: stddev(score)
    max: 10
  - metric: null_fraction(weight)
    max: 0.1
gate:
  on_failure: quarantine_batch
  publish: append
references:
  countries: countries.parquet
"""
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "CN", "CA", "AU"]


def env(src: Path = SRC) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), out.get("PYTHONPATH")]))
    out.pop("DQGATE_SIGNING_KEY", None)
    out["DQ_PROGRESS"] = "0"
    return out


def run(args: list[str], cwd: Path, src: Path = SRC) -> dict[str, Any]:
    """One whole process: wall seconds, CPU seconds (user + system, all threads), peak RSS (MiB), exit code, stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dqgate", *args], cwd=cwd, env=env(src), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024, "rc": proc.returncode, "out": out.decode(), "err": err.decode()[-2000:]}


def state_bytes(store: Path, dataset: str) -> dict[str, Any]:
    """What the newest version keeps beside its data: its state JSON and its own key runs."""
    versions = sorted((store / dataset / "versions").glob("0*.json"))
    m = json.loads(versions[-1].read_text())
    ref = m["checks"]["state"]
    state = json.loads((store / dataset / ref["path"]).read_text())
    own = [r for s in state["rules"].values() for r in s.get("runs", []) if r.get("batch_id") == m["batch_ids"][-1]]
    return {
        "version": m["version"], "status": m["status"], "state_json_bytes": ref["bytes"],
        "key_run_bytes": sum(r["bytes"] for r in own), "data_bytes": m["files"][-1]["bytes"],
        "computed": {c["id"]: c.get("computed") for c in m["checks"]["checks"]}, "notes": m["checks"].get("notes", []),
    }  # fmt: skip


def make_parts(source: Path, out: Path, n: int) -> None:
    """``n`` copies of ``source`` as ``out/part-KK.parquet``, ids shifted by k * its rows (streamed, snappy as gen_data writes)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    f = pq.ParquetFile(source)
    for k in range(n):
        target = out / f"part-{k:02d}.parquet"
        if target.exists():
            continue
        with pq.ParquetWriter(out / f".{target.name}.tmp", f.schema_arrow, compression="snappy") as w:
            for b in f.iter_batches(batch_size=262_144):
                w.write_batch(b.set_column(0, "id", pc.add(b.column(0), k * f.metadata.num_rows)), row_group_size=262_144)
        (out / f".{target.name}.tmp").rename(target)


def parts_for(parts: Path, rows: int) -> list[Path]:
    """The first part files that hold ``rows`` rows together."""
    import pyarrow.parquet as pq

    chosen, total = [], 0
    for part in sorted(parts.glob("part-*.parquet")):
        if total >= rows:
            break
        chosen.append(part)
        total += pq.read_metadata(part).num_rows
    assert total == rows, f"the parts in {parts} hold {total} rows, not {rows}"
    return chosen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--parents", default="10000000", help="comma-separated parent sizes (rows)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--parts-dir", help="part files (part-*.parquet) a parent with no peerbench_N.parquet is appended from")
    ap.add_argument("--make-parts", type=int, default=0, help="first write this many parts: peerbench_10000000.parquet with ids shifted by k * its rows")
    ap.add_argument("--baseline-src", help="another tree's src/ (e.g. `git archive <commit> src | tar -x -C DIR`): its append is timed too, in the same rounds")
    a = ap.parse_args()
    data = Path(a.data_dir)
    batch = data / "peerbench_1000000.parquet"
    work = Path(a.work or tempfile.mkdtemp(prefix="bench-append-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "contract.yaml").write_text(CONTRACT, encoding="utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"code": COUNTRIES}), work / "countries.parquet")
    shifted = work / "batch.parquet"  # the batch's ids moved past every parent's: new keys, as a daily append has
    if not shifted.exists():
        import pyarrow.compute as pc

        table = pq.read_table(data / "peerbench_1000000.parquet")
        table = table.set_column(0, "id", pc.add(table["id"], 1_000_000_000))
        pq.write_table(table, shifted, compression="zstd", row_group_size=262144)
    batch = shifted
    parents = [int(p) for p in a.parents.split(",")]
    bases: dict[int, Path] = {}
    report: dict[str, Any] = {"parents": {}, "rounds": a.rounds}
    if a.make_parts:
        make_parts(data / "peerbench_10000000.parquet", Path(a.parts_dir), a.make_parts)
    for rows in parents:  # the published parent of each size (not timed against anything)
        base = work / f"base-{rows}"
        if not base.exists():
            whole = data / f"peerbench_{rows}.parquet"
            sources = [whole] if whole.exists() else parts_for(Path(a.parts_dir), rows)
            published = []
            for source in sources:
                got = run(["ingest", "contract.yaml", str(source), "--store", str(base), "--format", "json"], work)
                assert got["rc"] == 0, got["err"] or got["out"][-2000:]
                published.append({"wall": round(got["wall"], 2), "cpu": round(got["cpu"], 2), "rss_mib": round(got["rss_mib"])})
                print(f"parent {rows:,}: published {source.name}: {published[-1]}", file=sys.stderr, flush=True)
            report["parents"][rows] = {"publishes": published, "publish_wall": round(sum(p["wall"] for p in published), 2),
                                       "publish_rss_mib": max(p["rss_mib"] for p in published)}  # fmt: skip
        bases[rows] = base
    if a.rounds < 1:  # only the parents were published
        print(json.dumps({"parents": report["parents"]}))
        return 0
    appends = [f"append@{r}" for r in parents] + ([f"baseline@{r}" for r in parents] if a.baseline_src else [])
    times: dict[str, list[float]] = {"check": [], **{k: [] for k in appends}}
    rss: dict[str, list[float]] = {k: [] for k in times}
    cpu: dict[str, list[float]] = {k: [] for k in times}  # CPU seconds: less at the mercy of a loaded machine than wall
    kept: dict[int, Any] = {}
    for i in range(a.rounds):
        order = ["check", *appends]
        order = order if i % 2 == 0 else order[::-1]
        for what in order:
            if what == "check":
                got = run(["check", "contract.yaml", "--data", str(batch), "--format", "json", "--quiet"], work)
                assert got["rc"] == 0, got["err"] or got["out"][-2000:]
            else:
                rows = int(what.split("@")[1])
                store = work / f"round-{i}-{rows}"
                shutil.rmtree(store, ignore_errors=True)
                subprocess.run(["cp", "-al", str(bases[rows]), str(store)], check=True)
                src = Path(a.baseline_src) if what.startswith("baseline") else SRC
                got = run(["ingest", "contract.yaml", str(batch), "--store", str(store), "--format", "json"], work, src)
                assert got["rc"] == 0, got["err"] or got["out"][-2000:]
                if src == SRC:
                    kept[rows] = state_bytes(store, "peerbench")
                shutil.rmtree(store)
            times[what].append(got["wall"])
            cpu[what].append(got["cpu"])
            rss[what].append(got["rss_mib"])
    med = {k: statistics.median(v) for k, v in times.items()}
    report["median_wall_s"] = {k: round(v, 2) for k, v in med.items()}
    report["peak_rss_mib"] = {k: round(max(v)) for k, v in rss.items()}
    report["append_vs_check"] = {r: round(med[f"append@{r}"] / med["check"], 2) for r in parents}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    report["median_cpu_s"] = {k: round(v, 2) for k, v in med_cpu.items()}
    report["append_vs_check_cpu"] = {r: round(med_cpu[f"append@{r}"] / med_cpu["check"], 2) for r in parents}
    if a.baseline_src:
        report["baseline_vs_check_cpu"] = {r: round(med_cpu[f"baseline@{r}"] / med_cpu["check"], 2) for r in parents}
    # each round's append over the same round's check (run next to it): a load that comes and goes
    # moves both sides of one round together, so the spread of these says how robust a ratio is
    report["per_round_cpu_ratios"] = {k: sorted(round(x / c, 2) for x, c in zip(cpu[k], cpu["check"])) for k in appends}
    if len(parents) > 1:
        report["largest_vs_smallest_parent"] = round(med[f"append@{max(parents)}"] / med[f"append@{min(parents)}"], 2)
        report["largest_vs_smallest_parent_cpu"] = round(med_cpu[f"append@{max(parents)}"] / med_cpu[f"append@{min(parents)}"], 2)
    report["state_kept_per_version"] = kept
    if a.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for k in times:
            print(f"{k:>18}: median {med[k]:.2f}s of {[round(t, 2) for t in times[k]]}, CPU {med_cpu[k]:.2f}s, peak RSS {max(rss[k]):.0f} MiB")
        for r in parents:
            s = kept[r]
            print(f"append to {r:,} rows / check of the batch: {report['append_vs_check'][r]}x wall, {report['append_vs_check_cpu'][r]}x CPU; state kept: "
                  f"{s['state_json_bytes']:,} B JSON + {s['key_run_bytes']:,} B key runs (data object {s['data_bytes']:,} B)")  # fmt: skip
            print(f"  computed: {s['computed']}  notes: {s['notes']}")
        for r, x in report.get("baseline_vs_check_cpu", {}).items():
            print(f"baseline append to {r:,} rows / check of the batch: {x}x CPU")
        for k, ratios in report["per_round_cpu_ratios"].items():
            print(f"{k} / check, CPU, per round (sorted): {ratios}")
        if "largest_vs_smallest_parent" in report:
            print(f"largest parent / smallest parent: {report['largest_vs_smallest_parent']}x wall, {report['largest_vs_smallest_parent_cpu']}x CPU")
        print(json.dumps({"parents": report["parents"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
