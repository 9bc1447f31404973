"""CPU time of ``contract/load.py``'s ``load_text`` (YAML with positions) over
bench_lint.py's 20 contracts, against another tree's ``load.py`` in the same process,
interleaved; it first checks both build the same values and spans.

    python benchmarks/bench_load_yaml.py --baseline OLD/src [--rounds 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_lint import write_contracts  # noqa: E402

from dqgate.contract import load as new  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="SRC", required=True, help="another tree's src/ folder")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("baseline_load", os.path.join(args.baseline, "dqgate", "contract", "load.py"))
    assert spec and spec.loader
    base = importlib.util.module_from_spec(spec)
    sys.modules["baseline_load"] = base  # dataclasses look their module up
    spec.loader.exec_module(base)
    with tempfile.TemporaryDirectory() as folder:
        texts = [open(p, encoding="utf-8").read() for p in write_contracts(folder, 20)]
    for text in texts:
        a, b = new.load_text(text, "f"), base.load_text(text, "f")
        assert a.value == b.value and a.key_spans == b.key_spans and a.value_spans == b.value_spans
    cpu: dict[str, list[float]] = {"this tree": [], "baseline": []}
    for _ in range(args.rounds):
        for name, module in (("this tree", new), ("baseline", base)):
            start = time.process_time()
            for text in texts:
                module.load_text(text, "f")
            cpu[name].append(time.process_time() - start)
    med = {name: statistics.median(v) for name, v in cpu.items()}
    print(f"load_text of 20 contracts, median CPU of {args.rounds} interleaved rounds: "
          f"{med['this tree'] * 1000:.1f} ms vs baseline {med['baseline'] * 1000:.1f} ms ({med['this tree'] / med['baseline']:.2f}x)")


if __name__ == "__main__":
    main()
