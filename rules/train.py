"""Train a (tiny) model on the latest published snapshot of the bundled example.

    python rules/train.py warehouse

It reads through dqgate, which refuses data without a valid quality stamp and records
the read in the dataset's lineage, then fits arrival delay from departure delay by
least squares (numpy only) and prints which exact data the model saw.
"""

from __future__ import annotations

import sys

import numpy as np

import dqgate


def main(store: str) -> int:
    snap = dqgate.open_snapshot(store, "flights", version="latest", consumer="rules/train.py")
    table = snap.to_arrow().select(["dep_delay", "arr_delay"]).drop_null()
    x, y = (table.column(name).to_numpy() for name in ("dep_delay", "arr_delay"))
    slope, intercept = np.polyfit(x, y, 1)
    print(f"trained on flights@{snap.version} ({table.num_rows:,} rows, contract {snap.stamp['contract_sha256'][:12]})")
    print(f"arr_delay = {slope:.3f} * dep_delay + {intercept:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "warehouse"))
