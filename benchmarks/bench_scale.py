#!/usr/bin/env python3
"""Scale: the peerbench suite at 1M, 10M and 100M rows, as whole processes (issue 4).

Issue 4 asks that `dq check` (DuckDB) grows linearly with the rows and that its peak
RSS at 100M rows stays under 2 GiB. For each size this times, interleaved in rotating
order, the same three whole processes as peerbench/cli_timing.py (its ``interleave``):
``dq check suite_contract.yaml --data FILE --format json -q --engine duckdb``,
``python duckdb_fused.py`` (every check in one hand-written SELECT) and ``python
io_floor.py`` (decode every column, no checks); wall, CPU (user + system of the child)
and peak RSS (``os.wait4``). Every output is checked: dq's and the fused runner's counts
against the size's expected.json, the floor's row count.

Data: ``$PEERBENCH_DATA/peerbench_<rows>.parquet`` (default /tmp/peerbench-data),
generated when missing: by the harness's gen_data.py up to ``--gen-max-rows`` (it
builds the whole table in memory: 2.7 GB peak at 10M rows, so ~27 GB at 100M), above
that by peerbench/gen_stream.py (the same generator run one row group at a time).
Each file is read once before its first round (warm page cache, as run_all.py does).

Rounds: by default 1 warm-up + 3 measured below 50M rows and 0 + 1 at or above
(a 100M round is three processes of 30 s to minutes each); ``--rounds``/``--warmup``
override for every size. Writes results/scale.md (``--tag`` → scale-<tag>.md).

  python3 benchmarks/bench_scale.py                                   # 1M, 10M, 100M
  python3 benchmarks/bench_scale.py --rows 1000000,10000000 --install src --python /work/main/.venv/bin/python
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_peerbench as rp  # noqa: E402
from peerbench.cli_timing import DQ, FLOOR, FUSED, checker, commands, interleave, ratio  # noqa: E402

GIB = 1024  # MiB
SYSTEMS = {DQ: "`dq check` (DuckDB)", FUSED: "duckdb_fused.py", FLOOR: "io_floor.py (duckdb)"}


def ensure_data(rows: int, gen_max_rows: int, harness: str) -> Path:
    """peerbench_<rows>.parquet in the data folder, generated if missing (see the module docstring)."""
    path = rp.DATA / f"peerbench_{rows}.parquet"
    if path.exists() and path.with_name(path.stem + ".expected.json").exists():
        return path
    base = str(rp.VENVS / "base" / "bin" / "python")
    if rows <= gen_max_rows:
        cmd = [base, str(Path(harness) / "gen_data.py"), "--rows", str(rows), "--data-dir", str(rp.DATA)]
    else:
        cmd = [base, str(rp.OURS / "gen_stream.py"), "--rows", str(rows), "--data-dir", str(rp.DATA)]
    print("generating:", " ".join(cmd), file=sys.stderr)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PEERBENCH_HARNESS": harness, "PYTHONDONTWRITEBYTECODE": "1"})
    print(f"generated {path.name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def warm(path: Path) -> None:
    """Read the file once so every timed run is a warm page-cache read."""
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


def per_size(rows: int) -> tuple[int, int]:
    """Default (warm-up, measured) rounds for a size."""
    return (1, 3) if rows < 50_000_000 else (0, 1)


def report(results: list[dict], args: argparse.Namespace) -> str:
    """results/scale.md: one row per size and system, then linearity and the 2 GiB verdict."""
    lines = ["# Scale: the peerbench suite at several sizes, whole processes", "",
             "Issue 4: `dq check` (DuckDB) wall time grows linearly with the rows; peak RSS at 100M rows under "
             "2 GiB. Medians over the measured rounds (rounds interleaved, order rotating); each ratio is taken "
             "within a round, then the median. CPU: user + system of the process, all threads. Peak RSS: the "
             "largest `ru_maxrss` over the rounds. Warm page cache.", "",
             f"Command: `python3 benchmarks/bench_scale.py {' '.join(args.argv)}`".rstrip() + "; "
             f"dqgate: {'installed in $PEERBENCH_VENVS/dqgate' if args.install == 'venv' else 'src/, ' + args.python}.",
             "",
             "| rows | file MB | rounds | load avg | command | median wall s | median CPU s | peak RSS MiB "
             "| wall s / M rows | CPU s / M rows | dq × floor (wall / CPU) | dq × fused (wall / CPU) | output |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        t, m = r["timings"], r["rows"] / 1e6
        for name, label in SYSTEMS.items():
            w, c = statistics.median(t[name]["wall"]), statistics.median(t[name]["cpu"])
            floor = f"**{ratio(t, DQ, FLOOR, 'wall'):.2f}** / {ratio(t, DQ, FLOOR, 'cpu'):.2f}" if name == DQ else ""
            fused = f"**{ratio(t, DQ, FUSED, 'wall'):.2f}** / {ratio(t, DQ, FUSED, 'cpu'):.2f}" if name == DQ else ""
            size = [f"{r['rows']:,}", r["mb"], r["rounds"], r["load"]] if name == DQ else ["", "", "", ""]
            lines.append(f"| {' | '.join(size)} | {label} | {w:.2f} | {c:.2f} "
                         f"| {max(t[name]['rss']):.0f} | {w / m:.3f} | {c / m:.3f} | {floor} | {fused} "
                         f"| {r['verdicts'][name]} |")  # fmt: skip
    lines += ["", "Data: " + "; ".join(f"{r['rows']:,} rows by {r['generator']}" for r in results) + ".", ""]
    lines += [
        "Growth of the medians per step in rows (linear: the same factor as the rows; the fixed cost of "
        "starting a process and importing makes the first step smaller):",
        "",
    ]
    for name, label in SYSTEMS.items():
        m = [(r["rows"], *(statistics.median(r["timings"][name][k]) for k in ("wall", "cpu"))) for r in results]
        steps = [f"{a:,} → {b:,} rows (×{b / a:g}): wall ×{wb / wa:.1f}, CPU ×{cb / ca:.1f}"
                 for (a, wa, ca), (b, wb, cb) in itertools.pairwise(m)]  # fmt: skip
        lines.append(f"- {label}: " + ("; ".join(steps) or "one size only"))
    big = [r for r in results if r["rows"] >= 100_000_000]
    lines.append("")
    if big:
        rss = max(big[-1]["timings"][DQ]["rss"])
        verdict = "**under 2 GiB**" if rss < 2 * GIB else "**NOT under 2 GiB**"
        lines.append(f"Peak RSS of `dq check --engine duckdb` at {big[-1]['rows']:,} rows: {rss:.0f} MiB, {verdict}.")
    else:
        lines.append("Peak RSS at 100M rows: not measured in this run (no size of 100M rows or more).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="1000000,10000000,100000000", help="comma list of sizes")
    ap.add_argument("--rounds", type=int, default=None, help="measured rounds for every size (default: see above)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up rounds for every size (default: see above)")
    ap.add_argument("--install", choices=["venv", "src"], default="venv", help="as in run_peerbench.py")
    ap.add_argument("--python", default=str(rp.REPO / ".venv" / "bin" / "python"), help="with --install src")
    ap.add_argument("--gen-max-rows", type=int, default=20_000_000, help="larger sizes are generated by gen_stream.py")
    ap.add_argument("--harness", default="/work/shared/peerbench")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    sizes = [int(x) for x in args.rows.split(",")]
    paths = {rows: ensure_data(rows, args.gen_max_rows, args.harness) for rows in sizes}  # all data first

    tmp = Path(tempfile.mkdtemp(prefix="dq-scale-"))
    try:
        return measure(args, sizes, paths, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, sizes: list[int], paths: dict[int, Path], tmp: Path) -> int:
    """Time every size in a harness copy under ``tmp``; write results/scale.md."""
    harness = rp.copy_harness(Path(args.harness), tmp)
    python = rp.install_venv(tmp, harness) if args.install == "venv" else Path(args.python)
    runners = harness / "runners"
    sys.path.insert(0, str(runners))
    from dqgate_runner import SUITE_IDS

    env = dict(os.environ)
    dq = [str(python.parent / "dq")] if args.install == "venv" else [str(python), "-m", "dqgate"]
    if args.install == "src":
        env["PYTHONPATH"] = str(rp.REPO / "src")
    base = str(rp.VENVS / "base" / "bin" / "python")
    results = []
    for rows in sizes:
        path = paths[rows]
        warmup, rounds = per_size(rows)
        warmup = warmup if args.warmup is None else args.warmup
        rounds = rounds if args.rounds is None else args.rounds
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
        check = checker(expected, SUITE_IDS, passing=False)
        warm(path)
        load0 = os.getloadavg()[0]
        jobs = commands(dq, base, str(runners / "suite_contract.yaml"), path)
        try:
            timings, verdicts = interleave(jobs, rounds, warmup, env, runners, check, label=f"{rows // 10**6}M")
        except RuntimeError as exc:
            print(f"error at {rows:,} rows: {exc}", file=sys.stderr)
            return 1
        results.append({"rows": rows, "mb": f"{path.stat().st_size / 1e6:,.0f}", "rounds": f"{warmup} + {rounds}",
                        "load": f"{load0:.1f}–{os.getloadavg()[0]:.1f}", "timings": timings, "verdicts": verdicts,
                        "generator": expected.get("generator", "gen_data.py").split(" ")[0]})  # fmt: skip
    text = report(results, args)
    out = Path(args.out) / f"scale{('-' + args.tag) if args.tag else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text, file=sys.stderr)
    return 1 if any("**" in v for r in results for v in r["verdicts"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
