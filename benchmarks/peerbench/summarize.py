"""One table from a run_all.py run: ratios to both floors, per round, then the median.

run_all.py reports ratios to one reference (duckdb-fused); issue 2's targets also
compare with the decode floor (duckdb-io-floor), so this reads the raw runs
(``runs_<tag>.jsonl``) and the agreement column of ``results_<tag>.md`` and writes
``summary_<tag>.md``. Only measured, successful runs count; a ratio is taken within
a round (both systems ran in it) and the median over rounds is shown.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

REFERENCES = ("duckdb-fused", "duckdb-io-floor")


def _agreement(results_md: Path) -> dict[str, str]:
    """system -> 'counts vs expected.json' cell of run_all.py's summary table."""
    out: dict[str, str] = {}
    for line in results_md.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0] not in ("system", "---"):
            out[cells[0]] = cells[8]
    return out


def _ratio(runs: list[dict[str, Any]], ref: list[dict[str, Any]], key: str) -> float | None:
    by_round = {r["round"]: r for r in ref}
    values = [_value(r, key) / _value(by_round[r["round"]], key) for r in runs if r["round"] in by_round]
    return statistics.median(values) if values else None


def _value(run: dict[str, Any], key: str) -> float:
    return float(run["record"]["wall_s"] if key == "wall" else run["process_s"])


def summarize(out_dir: Path, tag: str) -> Path:
    """Write ``summary_<tag>.md`` beside run_all.py's files and return its path."""
    runs = [json.loads(line) for line in (out_dir / f"runs_{tag}.jsonl").read_text().splitlines() if line.strip()]
    ok = [r for r in runs if r["measured"] and r["status"] == "ok"]
    names = list(dict.fromkeys(r["system"] for r in runs))
    agree = _agreement(out_dir / f"results_{tag}.md")
    refs = {name: [r for r in ok if r["system"] == name] for name in REFERENCES}
    lines = [
        f"# dqgate in peerbench: summary ({tag})", "",
        "Medians over the measured rounds; each ratio is taken within a round, then the median. "
        "wall: the runner's own timer (read + check); process: the whole process (start, imports, read, check).", "",
        "| system | wall s | process s | × duckdb-fused (wall / process) | × duckdb-io-floor (wall / process) "
        "| peak RSS MB | counts vs expected.json |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name in names:
        mine = [r for r in ok if r["system"] == name]
        if not mine:
            lines.append(f"| {name} | not measured | | | | | |")
            continue
        cells = []
        for ref in REFERENCES:
            w, p = _ratio(mine, refs[ref], "wall"), _ratio(mine, refs[ref], "process")
            cells.append("–" if w is None or p is None else f"{w:.2f} / {p:.2f}")
        wall = statistics.median(_value(r, "wall") for r in mine)
        proc = statistics.median(_value(r, "process") for r in mine)
        rss = statistics.median(r["peak_rss_mb"] for r in mine)
        lines.append(f"| {name} | {wall:.2f} | {proc:.2f} | {cells[0]} | {cells[1]} | {rss:.0f} | {agree.get(name, '')} |")
    path = out_dir / f"summary_{tag}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    import sys

    print(summarize(Path(sys.argv[1]), sys.argv[2]).read_text())
